/// JSON Schemas of the built-in connector types, Unstract-compatible field names.
///
/// Each schema is written for react-jsonschema-form, like Unstract's `static/json_schema.json`
/// files: the field names, types, `required` lists, defaults and (for PostgreSQL) the
/// `allOf`/`oneOf` shape are Unstract's, so an Unstract frontend renders and submits them
/// unchanged. Fields this engine adds are optional. Secret fields carry `"format": "password"`;
/// ``secretFields`` lists them per connector.
enum BuiltinSchemas {
    static let postgresql = #"""
    {
      "title": "PostgreSQL Database",
      "type": "object",
      "allOf": [
        {
          "required": [
            "connectorName"
          ],
          "properties": {
            "connectorName": {
              "type": "string",
              "title": "Name of the connector",
              "default": "Unstract's PostgreSQL connector"
            }
          }
        },
        {
          "oneOf": [
            {
              "title": "Postgres URL",
              "properties": {
                "connection_url": {
                  "type": "string",
                  "title": "Connection URL",
                  "description": "A libpq connection URI, for example postgresql://username:password@localhost:5432/mydatabase",
                  "default": ""
                },
                "sslmode": {
                  "type": "string",
                  "title": "SSL mode",
                  "description": "How TLS is negotiated with the server, as libpq's sslmode. verify-ca checks the certificate chain; verify-full also checks the host name.",
                  "enum": [
                    "disable",
                    "allow",
                    "prefer",
                    "require",
                    "verify-ca",
                    "verify-full"
                  ],
                  "default": "prefer"
                },
                "sslrootcert": {
                  "type": "string",
                  "title": "CA certificate (PEM)",
                  "description": "The PEM text of the CA certificate or certificates to trust for the server's certificate (optional; used by verify-ca and verify-full)."
                }
              },
              "required": [
                "connection_url"
              ]
            },
            {
              "title": "Postgres Params",
              "properties": {
                "host": {
                  "type": "string",
                  "title": "Host"
                },
                "port": {
                  "type": "string",
                  "title": "Port",
                  "default": "5432"
                },
                "database": {
                  "type": "string",
                  "title": "Database",
                  "default": "postgres"
                },
                "schema": {
                  "type": "string",
                  "title": "Schema",
                  "description": "Schema to use; public when left empty (optional)",
                  "placeholder": "Enter schema (optional)"
                },
                "user": {
                  "type": "string",
                  "title": "User",
                  "default": "postgres"
                },
                "password": {
                  "type": "string",
                  "title": "Password",
                  "format": "password",
                  "default": ""
                },
                "sslmode": {
                  "type": "string",
                  "title": "SSL mode",
                  "description": "How TLS is negotiated with the server, as libpq's sslmode. verify-ca checks the certificate chain; verify-full also checks the host name.",
                  "enum": [
                    "disable",
                    "allow",
                    "prefer",
                    "require",
                    "verify-ca",
                    "verify-full"
                  ],
                  "default": "prefer"
                },
                "sslrootcert": {
                  "type": "string",
                  "title": "CA certificate (PEM)",
                  "description": "The PEM text of the CA certificate or certificates to trust for the server's certificate (optional; used by verify-ca and verify-full)."
                }
              },
              "required": [
                "host",
                "port",
                "database",
                "user",
                "password"
              ]
            }
          ]
        }
      ]
    }
    """#

    static let mysql = #"""
    {
      "title": "MySQL Database",
      "type": "object",
      "required": [
        "connectorName",
        "host",
        "port",
        "database",
        "user",
        "password"
      ],
      "properties": {
        "connectorName": {
          "type": "string",
          "title": "Name of the connector",
          "default": "Unstract's MySQL connector"
        },
        "host": {
          "type": "string",
          "title": "Host",
          "default": "localhost"
        },
        "port": {
          "type": "string",
          "title": "Port",
          "default": "3306"
        },
        "database": {
          "type": "string",
          "title": "Database",
          "default": ""
        },
        "user": {
          "type": "string",
          "title": "User",
          "default": "root"
        },
        "password": {
          "type": "string",
          "title": "Password",
          "format": "password",
          "default": ""
        },
        "sslEnabled": {
          "type": "boolean",
          "title": "Enable SSL",
          "description": "Connect over TLS. Turn this on when the server requires encrypted connections.",
          "default": false
        },
        "ssl_ca": {
          "type": "string",
          "title": "CA certificate (PEM)",
          "description": "The PEM text of the CA certificate or certificates to trust for the server's certificate when TLS is on (optional; the system trust store is used otherwise)."
        },
        "ssl_verify_server_cert": {
          "type": "boolean",
          "title": "Verify server certificate",
          "description": "When TLS is on, check the server's certificate chain and that it matches the host name.",
          "default": true
        }
      }
    }
    """#

    static let mariadb = #"""
    {
      "title": "MariaDB Database",
      "type": "object",
      "required": [
        "connectorName",
        "host",
        "port",
        "database",
        "user",
        "password"
      ],
      "properties": {
        "connectorName": {
          "type": "string",
          "title": "Name of the connector",
          "default": "Unstract's MariaDB connector"
        },
        "host": {
          "type": "string",
          "title": "Host",
          "default": "localhost"
        },
        "port": {
          "type": "string",
          "title": "Port",
          "default": "3306"
        },
        "database": {
          "type": "string",
          "title": "Database",
          "default": ""
        },
        "user": {
          "type": "string",
          "title": "User",
          "default": "root"
        },
        "password": {
          "type": "string",
          "title": "Password",
          "format": "password",
          "default": ""
        },
        "sslEnabled": {
          "type": "boolean",
          "title": "Enable SSL",
          "description": "Connect over TLS. Turn this on when the server requires encrypted connections.",
          "default": false
        },
        "ssl_ca": {
          "type": "string",
          "title": "CA certificate (PEM)",
          "description": "The PEM text of the CA certificate or certificates to trust for the server's certificate when TLS is on (optional; the system trust store is used otherwise)."
        },
        "ssl_verify_server_cert": {
          "type": "boolean",
          "title": "Verify server certificate",
          "description": "When TLS is on, check the server's certificate chain and that it matches the host name.",
          "default": true
        }
      }
    }
    """#

    static let bigquery = #"""
    {
      "title": "BigQuery Database",
      "type": "object",
      "required": [
        "connectorName",
        "json_credentials"
      ],
      "properties": {
        "connectorName": {
          "type": "string",
          "title": "Name of the connector",
          "default": "Unstract's BigQuery connector"
        },
        "json_credentials": {
          "type": "string",
          "title": "Credentials",
          "format": "password",
          "default": "",
          "description": "Paste the whole JSON key file of a Google Cloud service account. See the [Google Cloud guide](https://developers.google.com/workspace/guides/create-credentials#create_credentials_for_a_service_account) for creating one."
        }
      }
    }
    """#

    static let snowflake = #"""
    {
      "title": "Snowflake Data Warehouse",
      "description": "Sign in with a password, or with a key pair by filling in Private key instead. One of the two is needed.",
      "type": "object",
      "required": [
        "connectorName",
        "user",
        "account",
        "database",
        "schema",
        "warehouse",
        "role"
      ],
      "properties": {
        "connectorName": {
          "type": "string",
          "title": "Name of the connector",
          "default": "Unstract's Snowflake connector"
        },
        "user": {
          "type": "string",
          "title": "User",
          "default": ""
        },
        "password": {
          "type": "string",
          "title": "Password",
          "format": "password",
          "default": "",
          "description": "Needed unless Private key is filled in."
        },
        "private_key": {
          "type": "string",
          "title": "Private key (PEM)",
          "format": "password",
          "description": "Optional alternative to the password: the PEM text of an unencrypted PKCS#8 private key whose public key is registered on the Snowflake user. When present, key-pair (JWT) authentication is used instead of the password."
        },
        "account": {
          "type": "string",
          "title": "Account",
          "default": "",
          "description": "Your account identifier alone, without the snowflakecomputing.com domain, which is added automatically."
        },
        "database": {
          "type": "string",
          "title": "Database",
          "default": ""
        },
        "schema": {
          "type": "string",
          "title": "Schema",
          "default": ""
        },
        "warehouse": {
          "type": "string",
          "title": "Warehouse",
          "default": ""
        },
        "role": {
          "type": "string",
          "title": "Role",
          "default": ""
        }
      }
    }
    """#

    static let minio = #"""
    {
      "title": "S3/Minio Compatible Data Source",
      "description": "Object storage reached through the Amazon S3 API: AWS S3 itself, or any compatible service such as MinIO.",
      "type": "object",
      "required": [
        "connectorName",
        "endpoint_url",
        "region_name"
      ],
      "properties": {
        "connectorName": {
          "type": "string",
          "title": "Name of the connector",
          "default": "Unstract's S3/Minio"
        },
        "key": {
          "type": "string",
          "title": "Key",
          "default": "",
          "description": "Access key ID. Leave Key and Secret both blank to rely on credentials from the environment (IAM role or instance profile)."
        },
        "secret": {
          "type": "string",
          "title": "Secret",
          "format": "password",
          "description": "Secret access key that belongs to the Key above; blank when Key is blank."
        },
        "endpoint_url": {
          "type": "string",
          "title": "Endpoint URL",
          "default": "https://s3.amazonaws.com",
          "description": "Base URL of the S3 service, for example https://s3.amazonaws.com for AWS or your MinIO server's address."
        },
        "region_name": {
          "type": "string",
          "title": "Region Name",
          "default": "ap-south",
          "description": "AWS region of the account or bucket; MinIO usually accepts any value."
        },
        "bucket": {
          "type": "string",
          "title": "Bucket",
          "description": "Optional. When given, the connection test lists this bucket; otherwise it lists the buckets of the account."
        },
        "ssl_ca": {
          "type": "string",
          "title": "CA certificate (PEM)",
          "description": "Optional PEM text of the CA certificate or certificates that sign an https endpoint's certificate (a self-hosted MinIO, say); the system trust store is used otherwise."
        }
      }
    }
    """#

    static let googleCloudStorage = #"""
    {
      "title": "Google Cloud Storage",
      "type": "object",
      "required": [
        "connectorName",
        "json_credentials",
        "project_id"
      ],
      "properties": {
        "connectorName": {
          "type": "string",
          "title": "Name of the connector",
          "default": "Unstract's google cloud storage"
        },
        "json_credentials": {
          "type": "string",
          "title": "Credentials",
          "format": "password",
          "default": "",
          "description": "Paste the whole JSON key file of a Google Cloud service account. See the [Google Cloud guide](https://developers.google.com/workspace/guides/create-credentials#create_credentials_for_a_service_account) for creating one."
        },
        "project_id": {
          "type": "string",
          "title": "Project ID",
          "description": "ID of the Google Cloud project that owns the buckets."
        },
        "bucket": {
          "type": "string",
          "title": "Bucket",
          "description": "Optional. When given, the connection test reads this bucket; otherwise it lists the buckets of the project."
        }
      }
    }
    """#

    static let dropbox = #"""
    {
      "title": "Dropbox",
      "description": "Files in a Dropbox account: sign in with Dropbox (the tokens are kept and refreshed for you), or paste an access token from your Dropbox app. Short-lived access tokens expire after a few hours; with a pasted token, add a refresh token and the app's key (and secret) so a fresh access token can be obtained automatically.",
      "type": "object",
      "required": [
        "connectorName"
      ],
      "properties": {
        "connectorName": {
          "type": "string",
          "title": "Name of the connector",
          "default": "Unstract's Dropbox connector"
        },
        "token": {
          "type": "string",
          "title": "Access Token",
          "format": "password",
          "description": "Not needed after signing in with Dropbox. An access token generated for your app in the Dropbox App Console. See [Dropbox's guide](https://dropbox.tech/developers/generate-an-access-token-for-your-own-account)."
        },
        "refresh_token": {
          "type": "string",
          "title": "Refresh Token",
          "format": "password",
          "description": "Optional. A long-lived refresh token (offline access) used to renew the access token when it expires; needs App key."
        },
        "app_key": {
          "type": "string",
          "title": "App Key",
          "description": "Optional. The key of the Dropbox app that issued the refresh token."
        },
        "app_secret": {
          "type": "string",
          "title": "App Secret",
          "format": "password",
          "description": "Optional. The secret of that Dropbox app; not needed when the refresh token came from a PKCE flow."
        }
      }
    }
    """#

    static let googleDrive = #"""
    {
      "title": "Google Drive",
      "type": "object",
      "required": [
        "connectorName"
      ],
      "properties": {
        "connectorName": {
          "type": "string",
          "title": "Name of the connector",
          "default": "Unstract's google drive"
        }
      }
    }
    """#
}

extension BuiltinSchemas {
    /// Metadata fields that hold secrets, per connector short name (the part of the id before "|").
    ///
    /// Every `"format": "password"` field is listed, plus fields that embed a secret without being
    /// masked in the form (PostgreSQL's `connection_url`). OAuth tokens from a sign-in
    /// (`access_token`, `refresh_token`) are not in the schemas but are stored in the metadata.
    static let secretFields: [String: Set<String>] = [
        "postgresql": ["password", "connection_url"],
        "mysql": ["password"],
        "mariadb": ["password"],
        "bigquery": ["json_credentials"],
        "snowflake": ["password", "private_key"],
        "minio": ["secret"],
        "google_cloud_storage": ["json_credentials"],
        "dropbox": ["token", "access_token", "refresh_token", "app_secret"],
        "gdrive": ["access_token", "refresh_token"],
    ]
}
