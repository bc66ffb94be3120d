import ConnectorCore
import Testing

@Suite struct CatalogTests {
    @Test func catalogHasTheNineUnstractConnectors() {
        let ids = Catalog.builtin.types.map(\.id)
        #expect(ids.count == 9)
        #expect(ids.contains("postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"))
        #expect(ids.contains("mysql|db709852-fa51-4aa6-9b91-afc45f111bec"))
        #expect(ids.contains("mariadb|146b0124-b9fc-466f-8e68-098ff60703e8"))
        #expect(ids.contains("bigquery|79e1d681-9b8b-4f6b-b972-1a6a095312f4"))
        #expect(ids.contains("snowflake|87c5151e-5e41-420a-b1ea-772d9720929b"))
        #expect(ids.contains("minio|c799f6e3-2b57-434e-aaac-b5daa415da19"))
        #expect(ids.contains("google_cloud_storage|109bbe7b-8861-45eb-8841-7244e833d97b"))
        #expect(ids.contains("dropbox|db6bf4a6-f892-4d25-8652-2bf251946134"))
        #expect(ids.contains("gdrive|3ac4b966-9136-4261-944a-bdbfc51cd21c"))
    }

    @Test func googleDriveAndDropboxOfferOAuth() {
        let oauth = Catalog.builtin.types.filter(\.oauth).map(\.shortName)
        #expect(oauth == ["dropbox", "gdrive"])
        #expect(Catalog.builtin.type(id: "gdrive|3ac4b966-9136-4261-944a-bdbfc51cd21c")?.oauthBackend == "google-oauth2")
        // Dropbox keeps its pasted-token fields beside the sign-in.
        let dropbox = Catalog.builtin.type(id: "dropbox|db6bf4a6-f892-4d25-8652-2bf251946134")
        #expect(dropbox?.oauthBackend == "dropbox-oauth2")
        #expect(dropbox?.schemaResponseJSON["json_schema"]?["properties"]?["token"] != nil)
    }

    @Test func modesAndFilters() {
        let databases = Catalog.builtin.filtered(mode: .database).map(\.shortName)
        #expect(Set(databases) == ["postgresql", "mysql", "mariadb", "bigquery", "snowflake"])
        let files = Catalog.builtin.filtered(mode: .fileSystem).map(\.shortName)
        #expect(Set(files) == ["minio", "google_cloud_storage", "dropbox", "gdrive"])
        #expect(Catalog.builtin.filtered(direction: "INPUT").count == 9)
    }

    @Test func everySchemaNamesConnectorNameAndItsSecrets() throws {
        for type in Catalog.builtin.types {
            #expect(type.schema["type"] != nil || type.schema["allOf"] != nil, "\(type.id) has no schema body")
            let text = "\(type.schema)"
            #expect(text.contains("connectorName"), "\(type.id) schema lacks connectorName")
        }
        let postgres = try #require(Catalog.builtin.type(id: "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"))
        #expect(postgres.secretFields.isSuperset(of: ["password", "connection_url"]))
        let minio = try #require(Catalog.builtin.types.first { $0.shortName == "minio" })
        #expect(minio.secretFields.contains("secret"))
    }

    /// A schema keyword the validator does not implement would be silently ignored: every keyword
    /// of every catalog schema is one it enforces or a form annotation.
    @Test func everySchemaKeywordIsValidatedOrAnAnnotation() {
        func keywords(_ schema: JSONValue) -> Set<String> {
            guard case .object(let members) = schema else { return [] }
            var found = Set(members.keys)
            for field in (members["properties"]?.objectValue ?? [:]).values { found.formUnion(keywords(field)) }
            for keyword in ["allOf", "oneOf", "anyOf"] {
                for branch in members[keyword]?.arrayValue ?? [] { found.formUnion(keywords(branch)) }
            }
            return found
        }
        let known = SchemaValidator.keywords.union(FormSchema.annotations)
        for type in Catalog.builtin.types {
            let used = keywords(type.schema)
            #expect(used.isSuperset(of: ["type", "properties", "title"]), "\(type.id)")
            #expect(used.subtracting(known).isEmpty, "\(type.id) uses \(used.subtracting(known).sorted())")
        }
        // The check itself sees an unknown keyword.
        #expect(keywords(["properties": ["port": ["type": "string", "pattern": "^[0-9]+$"]]]).subtracting(known) == ["pattern"])
    }

    /// A secret is a password field of the form, or one of the few the form does not show.
    @Test func secretFieldsAreThePasswordFieldsAndTheHiddenOnes() throws {
        let byName = Dictionary(uniqueKeysWithValues: Catalog.builtin.types.map { ($0.shortName, $0.secretFields) })
        #expect(byName["postgresql"] == ["password", "connection_url"])
        #expect(byName["mysql"] == ["password"] && byName["mariadb"] == ["password"])
        #expect(byName["snowflake"] == ["password", "private_key"])
        #expect(byName["dropbox"] == ["token", "access_token", "refresh_token", "app_secret"])
        #expect(byName["gdrive"] == ["access_token", "refresh_token"])
    }

    @Test func summaryRowHasTheUnstractKeys() throws {
        let row = try #require(Catalog.builtin.types.first?.summaryJSON.objectValue)
        #expect(Set(row.keys) == ["id", "name", "description", "icon", "can_read", "can_write", "connector_mode", "doc_url"])
    }
}
