extension ConnectorFamily {
    public static let snowflake = ConnectorFamily(rawValue: "snowflake")
}

extension ConnectorType {
    /// Snowflake: a password or a key pair, and the account the session opens in.
    public static let snowflake = ConnectorType(
        id: "snowflake|87c5151e-5e41-420a-b1ea-772d9720929b", name: "Snowflake", description: "Snowflake Data Warehouse",
        icon: "/icons/connector-icons/Snowflake.png", docPath: "databases/snowflake_database/", mode: .database, family: .snowflake,
        schema: FormSchema.form(
            title: "Snowflake Data Warehouse",
            description: "Sign in with a password, or with a key pair by filling in Private key instead. One of the two is needed.",
            required: ["connectorName", "user", "account", "database", "schema", "warehouse", "role"],
            properties: [
                "connectorName": FormSchema.connectorName(default: "Unstract's Snowflake connector"),
                "user": FormSchema.text("User", default: ""),
                "password": FormSchema.secret("Password", default: "", description: "Needed unless Private key is filled in."),
                "private_key": FormSchema.secret(
                    "Private key (PEM)",
                    description:
                        "Optional alternative to the password: the PEM text of an unencrypted PKCS#8 private key whose public key is registered on the Snowflake user. When present, key-pair (JWT) authentication is used instead of the password."
                ),
                "account": FormSchema.text(
                    "Account", default: "",
                    description: "Your account identifier alone, without the snowflakecomputing.com domain, which is added automatically."),
                "database": FormSchema.text("Database", default: ""), "schema": FormSchema.text("Schema", default: ""),
                "warehouse": FormSchema.text("Warehouse", default: ""), "role": FormSchema.text("Role", default: ""),
            ]),
        destinationFields: ["account"])
}
