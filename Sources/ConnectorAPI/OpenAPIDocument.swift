/// The OpenAPI 3.1 contract served at `GET /api/v1/openapi.json`.
enum OpenAPIDocument {
    static let json: String = #"""
    {
      "openapi": "3.1.0",
      "info": {
        "title": "Connector Engine",
        "version": "1.0.0",
        "summary": "Store, share and test connector credentials; wire-compatible with Unstract's connector endpoints.",
        "description": "Tenant routes live under `/api/v1/unstract/{org_id}/` and need `Authorization: Bearer <api token>` of a member of `{org_id}` (a non-member gets 404, so organization ids do not leak). Paths are shown with their trailing slash; the server also accepts them without it. Every error answers with the body `{\"type\": \"client_error\"|\"validation_error\"|\"server_error\", \"errors\": [{\"code\", \"detail\", \"attr\"}]}`. A connector the caller may not see is a 404; one the caller may see but not change is a 403."
      },
      "tags": [
        {
          "name": "meta",
          "description": "Liveness and this document."
        },
        {
          "name": "catalog",
          "description": "The connector types this engine supports."
        },
        {
          "name": "tests",
          "description": "Credential tests; the verdict is the HTTP status (DESIGN §4)."
        },
        {
          "name": "connectors",
          "description": "Stored connectors, shared per user or with the whole organization."
        },
        {
          "name": "workflows",
          "description": "Minimal workflows, which make a connector \"in use\"."
        },
        {
          "name": "notifications",
          "description": "The caller's share notices."
        },
        {
          "name": "oauth",
          "description": "Sign in with a provider (authorization code with PKCE); the tokens wait under a cache key until a test, create or update uses them."
        },
        {
          "name": "health",
          "description": "Batch health checks of stored connectors and each connector's check history."
        }
      ],
      "security": [
        {
          "bearerAuth": []
        }
      ],
      "paths": {
        "/healthz": {
          "get": {
            "operationId": "healthz",
            "summary": "Liveness",
            "tags": [
              "meta"
            ],
            "security": [],
            "responses": {
              "200": {
                "description": "The process is up.",
                "content": {
                  "application/json": {
                    "schema": {
                      "type": "object",
                      "required": [
                        "status"
                      ],
                      "properties": {
                        "status": {
                          "const": "ok"
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        },
        "/readyz": {
          "get": {
            "operationId": "readyz",
            "summary": "Readiness",
            "tags": [
              "meta"
            ],
            "security": [],
            "description": "Whether this replica can serve: the store answers (and Redis, when it holds the OAuth cache) and the probe engine runs.",
            "responses": {
              "200": {
                "description": "Ready.",
                "content": {
                  "application/json": {
                    "schema": {
                      "type": "object",
                      "required": [
                        "status",
                        "failing"
                      ],
                      "properties": {
                        "status": {
                          "type": "string",
                          "enum": [
                            "ready",
                            "unavailable"
                          ]
                        },
                        "failing": {
                          "type": "array",
                          "items": {
                            "type": "string",
                            "enum": [
                              "store",
                              "redis",
                              "engine"
                            ]
                          },
                          "description": "The dependencies that did not answer within 2 s."
                        }
                      }
                    }
                  }
                }
              },
              "503": {
                "description": "Not ready; `failing` names what did not answer.",
                "headers": {
                  "Retry-After": {
                    "schema": {
                      "type": "string"
                    }
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "type": "object",
                      "required": [
                        "status",
                        "failing"
                      ],
                      "properties": {
                        "status": {
                          "type": "string",
                          "enum": [
                            "ready",
                            "unavailable"
                          ]
                        },
                        "failing": {
                          "type": "array",
                          "items": {
                            "type": "string",
                            "enum": [
                              "store",
                              "redis",
                              "engine"
                            ]
                          },
                          "description": "The dependencies that did not answer within 2 s."
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        },
        "/metrics": {
          "get": {
            "operationId": "metrics",
            "summary": "Prometheus metrics",
            "tags": [
              "meta"
            ],
            "security": [],
            "description": "Text exposition format 0.0.4: probes by connector family and outcome code, probe and stage duration histograms, probes in flight, health jobs, OAuth refreshes, HTTP requests by route template and status. Labels never hold ids, hosts or secrets.",
            "responses": {
              "200": {
                "description": "The metrics.",
                "content": {
                  "text/plain": {
                    "schema": {
                      "type": "string"
                    }
                  }
                }
              }
            }
          }
        },
        "/ui/": {
          "get": {
            "operationId": "healthPage",
            "summary": "The health page",
            "tags": [
              "meta"
            ],
            "security": [],
            "description": "HTML and plain JavaScript: the user types an organization and a token (kept in the browser's session storage) and sees the connectors with their last state, stage timings, a history strip and warnings, and can run a health job with a live progress bar.",
            "responses": {
              "200": {
                "description": "The page.",
                "content": {
                  "text/html": {
                    "schema": {
                      "type": "string"
                    }
                  }
                }
              }
            }
          }
        },
        "/api/v1/openapi.json": {
          "get": {
            "operationId": "getOpenAPIDocument",
            "summary": "This document",
            "tags": [
              "meta"
            ],
            "security": [],
            "responses": {
              "200": {
                "description": "The OpenAPI 3.1 document of this API.",
                "content": {
                  "application/json": {
                    "schema": {
                      "type": "object",
                      "required": [
                        "openapi",
                        "paths"
                      ]
                    }
                  }
                }
              }
            }
          }
        },
        "/api/v1/unstract/{org_id}/supported_connectors/": {
          "parameters": [
            {
              "$ref": "#/components/parameters/OrgId"
            }
          ],
          "get": {
            "operationId": "listSupportedConnectors",
            "summary": "List the connector catalog",
            "tags": [
              "catalog"
            ],
            "parameters": [
              {
                "name": "type",
                "in": "query",
                "required": false,
                "description": "`INPUT`: types that can read; `OUTPUT`: types that can write.",
                "schema": {
                  "type": "string",
                  "enum": [
                    "INPUT",
                    "OUTPUT"
                  ]
                }
              },
              {
                "name": "connector_mode",
                "in": "query",
                "required": false,
                "description": "Only types of this mode (empty: all).",
                "schema": {
                  "type": "string",
                  "enum": [
                    "FILE_SYSTEM",
                    "FILESYSTEM",
                    "DATABASE",
                    "API",
                    "MANUAL_REVIEW",
                    "UNKNOWN",
                    ""
                  ]
                }
              }
            ],
            "responses": {
              "200": {
                "description": "The catalog entries matching the filters.",
                "content": {
                  "application/json": {
                    "schema": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/ConnectorSummary"
                      }
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "500": {
                "$ref": "#/components/responses/ServerError"
              }
            }
          }
        },
        "/api/v1/unstract/{org_id}/connector_schema/": {
          "parameters": [
            {
              "$ref": "#/components/parameters/OrgId"
            }
          ],
          "get": {
            "operationId": "getConnectorSchema",
            "summary": "The metadata schema of one connector type",
            "tags": [
              "catalog"
            ],
            "parameters": [
              {
                "name": "id",
                "in": "query",
                "required": true,
                "description": "A catalog id.",
                "schema": {
                  "type": "string",
                  "minLength": 1
                },
                "example": "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"
              }
            ],
            "responses": {
              "200": {
                "description": "The type's schema.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/ConnectorSchema"
                    }
                  }
                }
              },
              "400": {
                "description": "`id` is missing or empty, or not in the catalog (code `unknown_connector`).",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/ErrorBody"
                    }
                  }
                }
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "500": {
                "$ref": "#/components/responses/ServerError"
              }
            }
          }
        },
        "/api/v1/unstract/{org_id}/test_connectors/": {
          "parameters": [
            {
              "$ref": "#/components/parameters/OrgId"
            }
          ],
          "post": {
            "operationId": "testConnectorCredentials",
            "summary": "Test unsaved credentials",
            "tags": [
              "tests"
            ],
            "description": "Runs a credential probe. The verdict is the status (DESIGN §4): 200 when the credentials work, otherwise 400, 403, 408 or 500 with the error body plus `is_valid: false` and `probe`.",
            "parameters": [
              {
                "$ref": "#/components/parameters/Timeout"
              },
              {
                "$ref": "#/components/parameters/OAuthKey"
              }
            ],
            "requestBody": {
              "required": true,
              "content": {
                "application/json": {
                  "schema": {
                    "$ref": "#/components/schemas/TestConnectorsRequest"
                  },
                  "examples": {
                    "postgresql": {
                      "summary": "PostgreSQL credentials",
                      "value": {
                        "connector_id": "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb",
                        "connector_metadata": {
                          "host": "localhost",
                          "port": "5432",
                          "database": "postgres",
                          "user": "postgres",
                          "password": "<password>"
                        }
                      }
                    }
                  }
                }
              }
            },
            "responses": {
              "200": {
                "$ref": "#/components/responses/TestPassed"
              },
              "400": {
                "$ref": "#/components/responses/TestBadRequest"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "403": {
                "$ref": "#/components/responses/TestForbidden"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "408": {
                "$ref": "#/components/responses/TestTimedOut"
              },
              "413": {
                "$ref": "#/components/responses/PayloadTooLarge"
              },
              "429": {
                "$ref": "#/components/responses/TooManyRequests"
              },
              "500": {
                "$ref": "#/components/responses/TestServerError"
              },
              "503": {
                "$ref": "#/components/responses/ServiceUnavailable"
              }
            }
          }
        },
        "/api/v1/unstract/{org_id}/connector/": {
          "parameters": [
            {
              "$ref": "#/components/parameters/OrgId"
            }
          ],
          "get": {
            "operationId": "listConnectors",
            "summary": "List the connectors the caller may see",
            "tags": [
              "connectors"
            ],
            "parameters": [
              {
                "name": "connector_mode",
                "in": "query",
                "required": false,
                "description": "Only connectors of this mode; an unknown mode matches nothing.",
                "schema": {
                  "type": "string"
                }
              },
              {
                "name": "connector_name",
                "in": "query",
                "required": false,
                "description": "Only the connector with this exact name.",
                "schema": {
                  "type": "string"
                }
              },
              {
                "name": "created_by",
                "in": "query",
                "required": false,
                "description": "Only connectors created by this user id.",
                "schema": {
                  "type": "integer"
                }
              },
              {
                "name": "search",
                "in": "query",
                "required": false,
                "description": "Case-insensitive substring of the name (or the creator's name).",
                "schema": {
                  "type": "string"
                }
              },
              {
                "name": "ordering",
                "in": "query",
                "required": false,
                "description": "A field, optionally prefixed by `-` for descending. Default `-modified_at`.",
                "schema": {
                  "type": "string",
                  "enum": [
                    "connector_name",
                    "-connector_name",
                    "created_at",
                    "-created_at",
                    "modified_at",
                    "-modified_at"
                  ]
                }
              },
              {
                "name": "page",
                "in": "query",
                "required": false,
                "description": "1-based page number; asks for the paginated form.",
                "schema": {
                  "type": "integer",
                  "minimum": 1
                }
              },
              {
                "name": "page_size",
                "in": "query",
                "required": false,
                "description": "Rows per page (default 50, at most 1000; larger values are capped); asks for the paginated form.",
                "schema": {
                  "type": "integer",
                  "minimum": 1
                }
              }
            ],
            "responses": {
              "200": {
                "description": "Without `page` and `page_size`: every matching connector as a bare array. With either: one page.",
                "content": {
                  "application/json": {
                    "schema": {
                      "oneOf": [
                        {
                          "type": "array",
                          "items": {
                            "$ref": "#/components/schemas/Connector"
                          }
                        },
                        {
                          "$ref": "#/components/schemas/ConnectorPage"
                        }
                      ]
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "404": {
                "description": "`page` is past the last page (detail `Invalid page.`), or an organization the caller is not a member of.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/ErrorBody"
                    }
                  }
                }
              },
              "500": {
                "$ref": "#/components/responses/ServerError"
              }
            }
          },
          "post": {
            "operationId": "createConnector",
            "summary": "Create a connector",
            "tags": [
              "connectors"
            ],
            "description": "The metadata must pass the type's schema and settings parser (else 400 naming the field). With `?test=true` the credentials are tested first; a failed test answers with its verdict (400, 403, 408 or 500 with `is_valid: false` and `probe`) and saves nothing. A name already used in the organization is a 409.",
            "parameters": [
              {
                "$ref": "#/components/parameters/TestFlag"
              },
              {
                "$ref": "#/components/parameters/TestTimeout"
              },
              {
                "$ref": "#/components/parameters/OAuthKey"
              }
            ],
            "requestBody": {
              "required": true,
              "content": {
                "application/json": {
                  "schema": {
                    "$ref": "#/components/schemas/ConnectorCreate"
                  },
                  "examples": {
                    "postgresql": {
                      "summary": "A PostgreSQL connector",
                      "value": {
                        "connector_id": "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb",
                        "connector_name": "warehouse",
                        "connector_metadata": {
                          "host": "localhost",
                          "port": "5432",
                          "database": "postgres",
                          "user": "postgres",
                          "password": "<password>"
                        }
                      }
                    }
                  }
                }
              }
            },
            "responses": {
              "201": {
                "description": "Created; the caller is its owner.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Connector"
                    }
                  }
                },
                "links": {
                  "RetrieveConnector": {
                    "operationId": "retrieveConnector",
                    "parameters": {
                      "path.org_id": "$request.path.org_id",
                      "path.id": "$response.body#/id"
                    }
                  },
                  "ReplaceConnector": {
                    "operationId": "replaceConnector",
                    "parameters": {
                      "path.org_id": "$request.path.org_id",
                      "path.id": "$response.body#/id"
                    }
                  },
                  "UpdateConnector": {
                    "operationId": "updateConnector",
                    "parameters": {
                      "path.org_id": "$request.path.org_id",
                      "path.id": "$response.body#/id"
                    }
                  },
                  "TestConnector": {
                    "operationId": "testConnector",
                    "parameters": {
                      "path.org_id": "$request.path.org_id",
                      "path.id": "$response.body#/id"
                    }
                  },
                  "DeleteConnector": {
                    "operationId": "deleteConnector",
                    "parameters": {
                      "path.org_id": "$request.path.org_id",
                      "path.id": "$response.body#/id"
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/TestBadRequest"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "403": {
                "$ref": "#/components/responses/TestForbidden"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "408": {
                "$ref": "#/components/responses/TestTimedOut"
              },
              "409": {
                "$ref": "#/components/responses/Conflict"
              },
              "413": {
                "$ref": "#/components/responses/PayloadTooLarge"
              },
              "429": {
                "$ref": "#/components/responses/TooManyRequests"
              },
              "500": {
                "$ref": "#/components/responses/TestServerError"
              },
              "503": {
                "$ref": "#/components/responses/ServiceUnavailable"
              }
            }
          }
        },
        "/api/v1/unstract/{org_id}/connector/{id}/": {
          "parameters": [
            {
              "$ref": "#/components/parameters/OrgId"
            },
            {
              "$ref": "#/components/parameters/ConnectorIdPath"
            }
          ],
          "get": {
            "operationId": "retrieveConnector",
            "summary": "Retrieve a connector",
            "tags": [
              "connectors"
            ],
            "responses": {
              "200": {
                "description": "The connector.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Connector"
                    }
                  }
                }
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "500": {
                "$ref": "#/components/responses/ServerError"
              }
            }
          },
          "put": {
            "operationId": "replaceConnector",
            "summary": "Replace a connector's name and settings",
            "tags": [
              "connectors"
            ],
            "description": "Owner only. Masked secret values sent back mean \"keep\"; changing the host or endpoint while keeping a stored secret is refused with 400. `?test=true` tests the merged settings first.",
            "parameters": [
              {
                "$ref": "#/components/parameters/TestFlag"
              },
              {
                "$ref": "#/components/parameters/TestTimeout"
              },
              {
                "$ref": "#/components/parameters/OAuthKey"
              }
            ],
            "requestBody": {
              "required": true,
              "content": {
                "application/json": {
                  "schema": {
                    "$ref": "#/components/schemas/ConnectorReplace"
                  },
                  "examples": {
                    "postgresql": {
                      "summary": "New name and settings",
                      "value": {
                        "connector_name": "warehouse",
                        "connector_metadata": {
                          "host": "localhost",
                          "port": "5432",
                          "database": "postgres",
                          "user": "postgres",
                          "password": "<password>"
                        }
                      }
                    }
                  }
                }
              }
            },
            "responses": {
              "200": {
                "description": "Updated.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Connector"
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/TestBadRequest"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "403": {
                "description": "The caller is not the owner (code `permission_denied`), or `?test=true` and the test failed (`is_valid: false`, `probe`).",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/ErrorOrTestFailed"
                    }
                  }
                }
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "408": {
                "$ref": "#/components/responses/TestTimedOut"
              },
              "409": {
                "$ref": "#/components/responses/Conflict"
              },
              "413": {
                "$ref": "#/components/responses/PayloadTooLarge"
              },
              "429": {
                "$ref": "#/components/responses/TooManyRequests"
              },
              "500": {
                "$ref": "#/components/responses/TestServerError"
              },
              "503": {
                "$ref": "#/components/responses/ServiceUnavailable"
              }
            }
          },
          "patch": {
            "operationId": "updateConnector",
            "summary": "Change some fields of a connector",
            "tags": [
              "connectors"
            ],
            "description": "Owner only. As PUT, but every field is optional. A changed `shared_users` notifies the newly added users.",
            "parameters": [
              {
                "$ref": "#/components/parameters/TestFlag"
              },
              {
                "$ref": "#/components/parameters/TestTimeout"
              },
              {
                "$ref": "#/components/parameters/OAuthKey"
              }
            ],
            "requestBody": {
              "required": true,
              "content": {
                "application/json": {
                  "schema": {
                    "$ref": "#/components/schemas/ConnectorPatch"
                  },
                  "examples": {
                    "rename": {
                      "summary": "Rename",
                      "value": {
                        "connector_name": "warehouse (old)"
                      }
                    },
                    "share": {
                      "summary": "Share with the whole organization",
                      "value": {
                        "shared_to_org": true
                      }
                    }
                  }
                }
              }
            },
            "responses": {
              "200": {
                "description": "Updated.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Connector"
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/TestBadRequest"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "403": {
                "description": "The caller is not the owner (code `permission_denied`), or `?test=true` and the test failed (`is_valid: false`, `probe`).",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/ErrorOrTestFailed"
                    }
                  }
                }
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "408": {
                "$ref": "#/components/responses/TestTimedOut"
              },
              "409": {
                "$ref": "#/components/responses/Conflict"
              },
              "413": {
                "$ref": "#/components/responses/PayloadTooLarge"
              },
              "429": {
                "$ref": "#/components/responses/TooManyRequests"
              },
              "500": {
                "$ref": "#/components/responses/TestServerError"
              },
              "503": {
                "$ref": "#/components/responses/ServiceUnavailable"
              }
            }
          },
          "delete": {
            "operationId": "deleteConnector",
            "summary": "Delete a connector",
            "tags": [
              "connectors"
            ],
            "description": "Owner only.",
            "responses": {
              "204": {
                "description": "Deleted."
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "403": {
                "$ref": "#/components/responses/Forbidden"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "409": {
                "description": "A workflow uses the connector (code `connector_in_use`); `workflows` names those the caller may know of (created by the caller, or using a connector the caller owns), which the connector's owner may delete.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/ConnectorInUse"
                    }
                  }
                }
              },
              "500": {
                "$ref": "#/components/responses/ServerError"
              }
            }
          }
        },
        "/api/v1/unstract/{org_id}/connector/{id}/test/": {
          "parameters": [
            {
              "$ref": "#/components/parameters/OrgId"
            },
            {
              "$ref": "#/components/parameters/ConnectorIdPath"
            }
          ],
          "post": {
            "operationId": "testConnector",
            "summary": "Test a stored connector's credentials",
            "tags": [
              "tests"
            ],
            "description": "Any caller who may see the connector may test it. No request body.",
            "parameters": [
              {
                "$ref": "#/components/parameters/Timeout"
              }
            ],
            "responses": {
              "200": {
                "$ref": "#/components/responses/TestPassed"
              },
              "400": {
                "$ref": "#/components/responses/TestBadRequest"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "403": {
                "$ref": "#/components/responses/TestForbidden"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "408": {
                "$ref": "#/components/responses/TestTimedOut"
              },
              "429": {
                "$ref": "#/components/responses/TooManyRequests"
              },
              "500": {
                "$ref": "#/components/responses/TestServerError"
              }
            }
          }
        },
        "/api/v1/unstract/{org_id}/workflow/": {
          "parameters": [
            {
              "$ref": "#/components/parameters/OrgId"
            }
          ],
          "get": {
            "operationId": "listWorkflows",
            "summary": "List the organization's workflows",
            "tags": [
              "workflows"
            ],
            "responses": {
              "200": {
                "description": "Every workflow of the organization; a connector id the caller may not see is null.",
                "content": {
                  "application/json": {
                    "schema": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/Workflow"
                      }
                    }
                  }
                }
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "500": {
                "$ref": "#/components/responses/ServerError"
              }
            }
          },
          "post": {
            "operationId": "createWorkflow",
            "summary": "Create a workflow",
            "tags": [
              "workflows"
            ],
            "requestBody": {
              "required": true,
              "content": {
                "application/json": {
                  "schema": {
                    "$ref": "#/components/schemas/WorkflowCreate"
                  },
                  "examples": {
                    "minimal": {
                      "summary": "A workflow without connectors",
                      "value": {
                        "workflow_name": "nightly load"
                      }
                    }
                  }
                }
              }
            },
            "responses": {
              "201": {
                "description": "Created.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Workflow"
                    }
                  }
                },
                "links": {
                  "RetrieveWorkflow": {
                    "operationId": "retrieveWorkflow",
                    "parameters": {
                      "path.org_id": "$request.path.org_id",
                      "path.id": "$response.body#/id"
                    }
                  },
                  "DeleteWorkflow": {
                    "operationId": "deleteWorkflow",
                    "parameters": {
                      "path.org_id": "$request.path.org_id",
                      "path.id": "$response.body#/id"
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "409": {
                "description": "A workflow with this name exists (code `duplicate_name`).",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/ErrorBody"
                    }
                  }
                }
              },
              "413": {
                "$ref": "#/components/responses/PayloadTooLarge"
              },
              "500": {
                "$ref": "#/components/responses/ServerError"
              }
            }
          }
        },
        "/api/v1/unstract/{org_id}/workflow/{id}/": {
          "parameters": [
            {
              "$ref": "#/components/parameters/OrgId"
            },
            {
              "$ref": "#/components/parameters/WorkflowIdPath"
            }
          ],
          "get": {
            "operationId": "retrieveWorkflow",
            "summary": "Retrieve a workflow",
            "tags": [
              "workflows"
            ],
            "responses": {
              "200": {
                "description": "The workflow.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Workflow"
                    }
                  }
                }
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "500": {
                "$ref": "#/components/responses/ServerError"
              }
            }
          },
          "delete": {
            "operationId": "deleteWorkflow",
            "summary": "Delete a workflow",
            "tags": [
              "workflows"
            ],
            "description": "The workflow's creator and the owner of a connector it uses may delete it; other members get 403.",
            "responses": {
              "204": {
                "description": "Deleted."
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "403": {
                "$ref": "#/components/responses/Forbidden"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "500": {
                "$ref": "#/components/responses/ServerError"
              }
            }
          }
        },
        "/api/v1/unstract/{org_id}/notifications/": {
          "parameters": [
            {
              "$ref": "#/components/parameters/OrgId"
            }
          ],
          "get": {
            "operationId": "listNotifications",
            "summary": "The caller's notifications",
            "tags": [
              "notifications"
            ],
            "responses": {
              "200": {
                "description": "The caller's share notices in this organization, newest first.",
                "content": {
                  "application/json": {
                    "schema": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/Notification"
                      }
                    }
                  }
                }
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "500": {
                "$ref": "#/components/responses/ServerError"
              }
            }
          }
        },
        "/api/v1/oauth/cache-key/{backend}": {
          "parameters": [
            {
              "$ref": "#/components/parameters/OAuthBackend"
            }
          ],
          "get": {
            "operationId": "oauthCacheKey",
            "summary": "Issue an OAuth cache key",
            "tags": [
              "oauth"
            ],
            "description": "A fresh key `oauth:<org_id>|<user_id>|<backend>|<uuid4>` for the caller, valid for the server's `--oauth-cache-ttl`. The organization is the caller's; `?org_id=` names it when the user is in several (not a member: 404). A backend whose client id and secret are not configured is a 500 naming the settings to set.",
            "parameters": [
              {
                "name": "org_id",
                "in": "query",
                "required": false,
                "description": "The organization, when the caller is a member of several.",
                "schema": {
                  "type": "string"
                }
              }
            ],
            "responses": {
              "200": {
                "description": "The key.",
                "content": {
                  "application/json": {
                    "schema": {
                      "type": "object",
                      "required": [
                        "cache_key"
                      ],
                      "properties": {
                        "cache_key": {
                          "type": "string"
                        }
                      },
                      "additionalProperties": false
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "500": {
                "$ref": "#/components/responses/ServerError"
              },
              "503": {
                "$ref": "#/components/responses/ServiceUnavailable"
              }
            }
          }
        },
        "/api/v1/oauth/login/{backend}/": {
          "parameters": [
            {
              "$ref": "#/components/parameters/OAuthBackend"
            }
          ],
          "get": {
            "operationId": "oauthLogin",
            "summary": "Start a sign-in (browser popup)",
            "tags": [
              "oauth"
            ],
            "security": [],
            "description": "Authorized by the key itself (a popup has no bearer header): it must be issued, unexpired, not yet used by a completed sign-in, and for this backend. Redirects to the consent screen with a single-use `state` and PKCE S256 (Google also `access_type=offline&prompt=consent`), else to the status page with the reason.",
            "parameters": [
              {
                "name": "oauth-key",
                "in": "query",
                "required": false,
                "description": "The cache key.",
                "schema": {
                  "type": "string"
                }
              }
            ],
            "responses": {
              "302": {
                "$ref": "#/components/responses/OAuthRedirect"
              }
            }
          }
        },
        "/api/v1/oauth/complete/{backend}/": {
          "parameters": [
            {
              "$ref": "#/components/parameters/OAuthBackend"
            }
          ],
          "get": {
            "operationId": "oauthComplete",
            "summary": "The provider's redirect URI",
            "tags": [
              "oauth"
            ],
            "security": [],
            "description": "Takes the `state` (once), exchanges the code at the provider's token endpoint, caches the token set encrypted under the key, and redirects to the status page (`--oauth-status-url`, else the server's own) with `status=success`, or `status=error` and a reason (`access_denied`, `invalid_state`, `expired_key`, `exchange_failed[:<error>]`, `provider_unreachable`, `cache_unavailable`). Nothing is cached on an error. Register `<public URL>/api/v1/oauth/complete/<backend>/` with the provider.",
            "parameters": [
              {
                "name": "code",
                "in": "query",
                "required": false,
                "schema": {
                  "type": "string"
                }
              },
              {
                "name": "state",
                "in": "query",
                "required": false,
                "schema": {
                  "type": "string"
                }
              },
              {
                "name": "error",
                "in": "query",
                "required": false,
                "schema": {
                  "type": "string"
                }
              }
            ],
            "responses": {
              "302": {
                "$ref": "#/components/responses/OAuthRedirect"
              }
            }
          }
        },
        "/api/v1/oauth/status/": {
          "get": {
            "operationId": "oauthStatus",
            "summary": "The sign-in status page",
            "tags": [
              "oauth"
            ],
            "security": [],
            "description": "A small HTML page that says how a sign-in ended, tells its opener window (`postMessage` of `{type: \"oauth-status\", status, reason}` and a `localStorage` entry) and closes itself on success.",
            "parameters": [
              {
                "name": "status",
                "in": "query",
                "required": false,
                "schema": {
                  "type": "string"
                }
              },
              {
                "name": "reason",
                "in": "query",
                "required": false,
                "schema": {
                  "type": "string"
                }
              }
            ],
            "responses": {
              "200": {
                "description": "The page.",
                "content": {
                  "text/html": {
                    "schema": {
                      "type": "string"
                    }
                  }
                }
              }
            }
          }
        },
        "/api/v1/unstract/{org_id}/connector/{id}/health/": {
          "parameters": [
            {
              "$ref": "#/components/parameters/OrgId"
            },
            {
              "$ref": "#/components/parameters/ConnectorIdPath"
            }
          ],
          "get": {
            "operationId": "connectorHealth",
            "summary": "A connector's check history, newest first",
            "tags": [
              "health"
            ],
            "description": "Every recorded check of the connector (tests, jobs, the scheduler), paged; kept for the server's `--health-retention-days`.",
            "parameters": [
              {
                "$ref": "#/components/parameters/Page"
              },
              {
                "$ref": "#/components/parameters/PageSize"
              }
            ],
            "responses": {
              "200": {
                "description": "One page of checks.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/HealthCheckPage"
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "404": {
                "description": "A connector the caller may not see, `page` past the last page, or an organization the caller is not a member of.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/ErrorBody"
                    }
                  }
                }
              },
              "500": {
                "$ref": "#/components/responses/ServerError"
              }
            }
          }
        },
        "/api/v1/unstract/{org_id}/health_checks/": {
          "parameters": [
            {
              "$ref": "#/components/parameters/OrgId"
            }
          ],
          "post": {
            "operationId": "startHealthJob",
            "summary": "Check many stored connectors",
            "tags": [
              "health"
            ],
            "description": "Starts a batch check of every connector the caller may see, or of the listed ones. Organizations take turns, each destination gets a few checks at once, the same credentials are never checked twice at once, and the checks count against the caller's test caps (the job waits for a place). Every check is recorded in the connector's history. A user may have 4 jobs running at once in an organization; a fifth is a 429 with Retry-After.",
            "requestBody": {
              "required": false,
              "content": {
                "application/json": {
                  "schema": {
                    "$ref": "#/components/schemas/HealthJobRequest"
                  }
                }
              }
            },
            "responses": {
              "202": {
                "description": "The job runs; follow it with `GET health_checks/{job_id}/` or its `stream`.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/HealthJobStarted"
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "404": {
                "description": "A listed connector the caller may not see (the whole request fails), or an organization the caller is not a member of.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/ErrorBody"
                    }
                  }
                }
              },
              "413": {
                "$ref": "#/components/responses/PayloadTooLarge"
              },
              "500": {
                "$ref": "#/components/responses/ServerError"
              },
              "429": {
                "$ref": "#/components/responses/TooManyRequests"
              }
            }
          }
        },
        "/api/v1/unstract/{org_id}/health_checks/{job_id}/": {
          "parameters": [
            {
              "$ref": "#/components/parameters/OrgId"
            },
            {
              "$ref": "#/components/parameters/JobIdPath"
            }
          ],
          "get": {
            "operationId": "healthJob",
            "summary": "A job's status, counts and results so far",
            "tags": [
              "health"
            ],
            "responses": {
              "200": {
                "description": "The job.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/HealthJob"
                    }
                  }
                }
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "404": {
                "description": "No job with this id started by the caller in this organization (jobs live on the replica that runs them).",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/ErrorBody"
                    }
                  }
                }
              },
              "500": {
                "$ref": "#/components/responses/ServerError"
              }
            }
          },
          "delete": {
            "operationId": "cancelHealthJob",
            "summary": "Cancel a job",
            "tags": [
              "health"
            ],
            "description": "No further check starts; the checks in flight are cancelled and their connections closed. Also 204 for a job that already ended.",
            "responses": {
              "204": {
                "description": "Cancelled (or already ended)."
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "404": {
                "description": "No job with this id started by the caller in this organization (jobs live on the replica that runs them).",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/ErrorBody"
                    }
                  }
                }
              },
              "500": {
                "$ref": "#/components/responses/ServerError"
              }
            }
          }
        },
        "/api/v1/unstract/{org_id}/health_checks/{job_id}/stream": {
          "parameters": [
            {
              "$ref": "#/components/parameters/OrgId"
            },
            {
              "$ref": "#/components/parameters/JobIdPath"
            }
          ],
          "get": {
            "operationId": "streamHealthJob",
            "summary": "A job's results as they finish (NDJSON)",
            "tags": [
              "health"
            ],
            "description": "The results so far, then each one the moment it finishes: one `HealthJobResult` JSON object per line. The body ends when the job does.",
            "responses": {
              "200": {
                "description": "One `HealthJobResult` per line.",
                "content": {
                  "application/x-ndjson": {
                    "schema": {
                      "type": "string"
                    }
                  }
                }
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "404": {
                "description": "No job with this id started by the caller in this organization (jobs live on the replica that runs them).",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/ErrorBody"
                    }
                  }
                }
              },
              "500": {
                "$ref": "#/components/responses/ServerError"
              }
            }
          }
        }
      },
      "components": {
        "securitySchemes": {
          "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (`connector-engine admin token create`)."
          }
        },
        "parameters": {
          "OrgId": {
            "name": "org_id",
            "in": "path",
            "required": true,
            "description": "The organization; the caller must be a member (else 404).",
            "schema": {
              "type": "string"
            }
          },
          "ConnectorIdPath": {
            "name": "id",
            "in": "path",
            "required": true,
            "description": "The connector's id (a UUID; anything else is a 404).",
            "schema": {
              "type": "string"
            }
          },
          "WorkflowIdPath": {
            "name": "id",
            "in": "path",
            "required": true,
            "description": "The workflow's id (a UUID; anything else is a 404).",
            "schema": {
              "type": "string"
            }
          },
          "Timeout": {
            "name": "timeout",
            "in": "query",
            "required": false,
            "description": "The probe's deadline in seconds, above 0 and at most the server's `--max-timeout` (else 400). Default: the server's `--default-timeout`.",
            "schema": {
              "type": "number",
              "exclusiveMinimum": 0
            }
          },
          "TestTimeout": {
            "name": "timeout",
            "in": "query",
            "required": false,
            "description": "With `test=true`: the probe's deadline in seconds, above 0 and at most the server's `--max-timeout` (else 400). Ignored without `test=true`.",
            "schema": {
              "type": "number",
              "exclusiveMinimum": 0
            }
          },
          "TestFlag": {
            "name": "test",
            "in": "query",
            "required": false,
            "description": "`true` (or `1`): test the credentials first and answer with the failed verdict instead of saving when the test fails.",
            "schema": {
              "type": "boolean"
            }
          },
          "OAuthKey": {
            "name": "oauth-key",
            "in": "query",
            "required": false,
            "description": "The cache key of a completed OAuth sign-in (`GET /api/v1/oauth/cache-key/{backend}`); its tokens join the metadata. Missing or expired: 408 `oauth_timeout`; another user's: 403; not a key, or for another provider: 400; the cache unreachable: 503.",
            "schema": {
              "type": "string"
            }
          },
          "OAuthBackend": {
            "name": "backend",
            "in": "path",
            "required": true,
            "description": "The OAuth backend (`google-oauth2` or `dropbox-oauth2`; anything else is a 400, or on the browser routes the status page with an error).",
            "schema": {
              "type": "string"
            }
          },
          "JobIdPath": {
            "name": "job_id",
            "in": "path",
            "required": true,
            "description": "The job's id, as `POST health_checks/` returned it.",
            "schema": {
              "type": "string"
            }
          },
          "Page": {
            "name": "page",
            "in": "query",
            "required": false,
            "description": "1-based page number.",
            "schema": {
              "type": "integer",
              "minimum": 1
            }
          },
          "PageSize": {
            "name": "page_size",
            "in": "query",
            "required": false,
            "description": "Rows per page (default 50, at most 1000; larger values are capped).",
            "schema": {
              "type": "integer",
              "minimum": 1
            }
          }
        },
        "responses": {
          "BadRequest": {
            "description": "The request is malformed or a field is invalid (`type` is `validation_error`, or `client_error` for a body that is not JSON).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "Unauthorized": {
            "description": "No `Authorization: Bearer` token, or an unknown or revoked one.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "Forbidden": {
            "description": "The caller may see the resource but not change it (code `permission_denied`).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "NotFound": {
            "description": "No such resource, one the caller may not see, a malformed id, or an organization the caller is not a member of (code `not_found`).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "Conflict": {
            "description": "The change conflicts with the current state (e.g. code `duplicate_name`, `connector_in_use`, `concurrent_update`).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "PayloadTooLarge": {
            "description": "The request body is larger than the server accepts (code `payload_too_large`).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "TooManyRequests": {
            "description": "Too many credential tests are running for this user or organization (code `throttled`); try again after `Retry-After` seconds.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            },
            "headers": {
              "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "required": true,
                "schema": {
                  "type": "integer",
                  "minimum": 0
                }
              }
            }
          },
          "ServerError": {
            "description": "The server failed (type `server_error`).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "TestPassed": {
            "description": "The credentials work.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/TestPassed"
                }
              }
            }
          },
          "TestBadRequest": {
            "description": "A malformed request (plain error body), or a failed test: `unknown_connector`, `invalid_metadata`, `host_not_found`, `not_found` (error body plus `is_valid: false` and `probe`).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorOrTestFailed"
                }
              }
            }
          },
          "TestForbidden": {
            "description": "The test failed: `auth_failed`, `permission_denied` or `egress_denied` (error body plus `is_valid: false` and `probe`); or the `oauth-key` belongs to another user (plain error body).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorOrTestFailed"
                }
              }
            }
          },
          "TestTimedOut": {
            "description": "The test failed: `timeout` (the probe's deadline passed; `probe.stage` says where); or the `oauth-key` is missing or expired (`oauth_timeout`, plain error body).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorOrTestFailed"
                }
              }
            }
          },
          "TestServerError": {
            "description": "The test failed on the far side or on the way there: `connection_refused`, `network_unreachable`, `dns_failure`, `tls_failure`, `server_error`, `throttled`, `clock_skew`, `protocol_error` (error body plus `is_valid: false` and `probe`); or the server itself failed (plain error body).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorOrTestFailed"
                }
              }
            }
          },
          "ServiceUnavailable": {
            "description": "A dependency is unreachable (code `oauth_cache_unavailable`: the OAuth token cache); try again after `Retry-After` seconds.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            },
            "headers": {
              "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "required": true,
                "schema": {
                  "type": "integer",
                  "minimum": 0
                }
              }
            }
          },
          "OAuthRedirect": {
            "description": "Where the browser goes next: the provider's consent screen, or the status page (`?status=success|error&reason=`).",
            "headers": {
              "Location": {
                "description": "The next URL.",
                "required": true,
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "OAuthTimedOut": {
            "description": "The `oauth-key` is missing, expired or its sign-in never completed (code `oauth_timeout`, \"Timed out. Please re-authenticate.\"), or with `?test=true` the test timed out (`timeout`).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorOrTestFailed"
                }
              }
            }
          }
        },
        "schemas": {
          "ErrorItem": {
            "type": "object",
            "description": "One problem: a machine-readable code, a human-readable detail and the field it concerns (null when it concerns the whole request).",
            "required": [
              "code",
              "detail",
              "attr"
            ],
            "properties": {
              "code": {
                "type": "string",
                "examples": [
                  "invalid",
                  "required",
                  "not_found",
                  "duplicate_name"
                ]
              },
              "detail": {
                "type": "string"
              },
              "attr": {
                "type": [
                  "string",
                  "null"
                ],
                "description": "The field at fault, e.g. `connector_name` or `connector_metadata.port`."
              }
            }
          },
          "ConnectorInUse": {
            "description": "The error body of a connector still in use, with the workflows that use it.",
            "allOf": [
              {
                "$ref": "#/components/schemas/ErrorBody"
              },
              {
                "type": "object",
                "required": [
                  "workflows"
                ],
                "properties": {
                  "workflows": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "required": [
                        "id",
                        "workflow_name",
                        "created_by_email"
                      ],
                      "properties": {
                        "id": {
                          "type": "string",
                          "format": "uuid"
                        },
                        "workflow_name": {
                          "type": "string"
                        },
                        "created_by_email": {
                          "type": [
                            "string",
                            "null"
                          ]
                        }
                      }
                    }
                  }
                }
              }
            ]
          },
          "ErrorBody": {
            "type": "object",
            "description": "The error body of every non-2xx response (the shape Unstract clients read). Never HTML, never a stack trace, never a secret.",
            "required": [
              "type",
              "errors"
            ],
            "properties": {
              "type": {
                "type": "string",
                "enum": [
                  "client_error",
                  "validation_error",
                  "server_error"
                ]
              },
              "errors": {
                "type": "array",
                "minItems": 1,
                "items": {
                  "$ref": "#/components/schemas/ErrorItem"
                }
              }
            }
          },
          "StageTiming": {
            "type": "object",
            "required": [
              "ms",
              "ok"
            ],
            "properties": {
              "ms": {
                "type": "number",
                "minimum": 0,
                "description": "Milliseconds spent in the stage."
              },
              "ok": {
                "type": "boolean",
                "description": "Whether the stage succeeded."
              }
            }
          },
          "OutcomeCode": {
            "type": "string",
            "description": "The outcome of a credential test (DESIGN §4). Status mapping: `ok` 200; `unknown_connector`, `invalid_metadata`, `host_not_found`, `not_found` 400; `auth_failed`, `permission_denied`, `egress_denied` 403; `oauth_timeout`, `timeout` 408; every other code 500.",
            "enum": [
              "ok",
              "unknown_connector",
              "invalid_metadata",
              "host_not_found",
              "not_found",
              "auth_failed",
              "permission_denied",
              "egress_denied",
              "oauth_timeout",
              "timeout",
              "connection_refused",
              "network_unreachable",
              "dns_failure",
              "tls_failure",
              "server_error",
              "throttled",
              "clock_skew",
              "protocol_error"
            ]
          },
          "ProbeStage": {
            "type": "string",
            "enum": [
              "validate",
              "resolve",
              "connect",
              "tls",
              "auth",
              "query",
              "request"
            ]
          },
          "Probe": {
            "type": "object",
            "description": "How a credential test went: time per stage, the stage that failed, the outcome code, the metadata field to fix and a one-line hint. Never carries a secret.",
            "required": [
              "elapsed_ms",
              "code",
              "stage",
              "attr",
              "retryable",
              "hint",
              "signal",
              "stages",
              "warnings"
            ],
            "properties": {
              "elapsed_ms": {
                "type": "number",
                "minimum": 0
              },
              "code": {
                "$ref": "#/components/schemas/OutcomeCode"
              },
              "stage": {
                "description": "The stage that failed; null on success.",
                "oneOf": [
                  {
                    "$ref": "#/components/schemas/ProbeStage"
                  },
                  {
                    "type": "null"
                  }
                ]
              },
              "attr": {
                "type": [
                  "string",
                  "null"
                ],
                "description": "The metadata field to fix, where known."
              },
              "retryable": {
                "type": "boolean",
                "description": "Whether the same test may pass if simply tried again."
              },
              "hint": {
                "type": "string"
              },
              "signal": {
                "type": [
                  "string",
                  "null"
                ],
                "description": "The driver's structured signal behind the verdict, e.g. `SQLSTATE 28P01` or `errno 111`."
              },
              "stages": {
                "type": "object",
                "description": "The stages that ran, by name.",
                "propertyNames": {
                  "$ref": "#/components/schemas/ProbeStage"
                },
                "additionalProperties": {
                  "$ref": "#/components/schemas/StageTiming"
                }
              },
              "warnings": {
                "type": "array",
                "description": "What the probe found that predicts a failure, within the server's `--warn-days`: the role's password expiring (PostgreSQL `VALID UNTIL`), the server's TLS certificate expiring (PostgreSQL, MySQL/MariaDB, HTTPS services), a MySQL/MariaDB password that expired, an OAuth refresh token nearing its provider's age limit (`--google-refresh-token-days`).",
                "items": {
                  "type": "object",
                  "required": [
                    "code",
                    "detail",
                    "expires_at",
                    "attr"
                  ],
                  "properties": {
                    "code": {
                      "type": "string",
                      "enum": [
                        "password_expires",
                        "certificate_expires",
                        "password_expired",
                        "refresh_token_expires"
                      ]
                    },
                    "detail": {
                      "type": "string"
                    },
                    "expires_at": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "format": "date-time",
                      "description": "null when it already expired and the server did not say when."
                    },
                    "attr": {
                      "type": [
                        "string",
                        "null"
                      ]
                    }
                  }
                }
              }
            }
          },
          "TestPassed": {
            "type": "object",
            "required": [
              "is_valid",
              "probe"
            ],
            "properties": {
              "is_valid": {
                "const": true
              },
              "probe": {
                "$ref": "#/components/schemas/Probe"
              }
            }
          },
          "TestFailed": {
            "description": "A failed credential test: the error body (its single error carries the outcome code, detail and `attr`) plus `is_valid: false` and the `probe`.",
            "allOf": [
              {
                "$ref": "#/components/schemas/ErrorBody"
              },
              {
                "type": "object",
                "required": [
                  "is_valid",
                  "probe"
                ],
                "properties": {
                  "is_valid": {
                    "const": false
                  },
                  "probe": {
                    "$ref": "#/components/schemas/Probe"
                  }
                }
              }
            ]
          },
          "ErrorOrTestFailed": {
            "description": "Either a plain error body, or a failed credential test (the error body plus `is_valid: false` and `probe`).",
            "allOf": [
              {
                "$ref": "#/components/schemas/ErrorBody"
              },
              {
                "type": "object",
                "properties": {
                  "is_valid": {
                    "const": false
                  },
                  "probe": {
                    "$ref": "#/components/schemas/Probe"
                  }
                },
                "dependentRequired": {
                  "is_valid": [
                    "probe"
                  ],
                  "probe": [
                    "is_valid"
                  ]
                }
              }
            ]
          },
          "ConnectorSummary": {
            "type": "object",
            "description": "One catalog entry.",
            "required": [
              "id",
              "name",
              "description",
              "icon",
              "can_read",
              "can_write",
              "connector_mode",
              "doc_url"
            ],
            "properties": {
              "id": {
                "type": "string",
                "examples": [
                  "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"
                ]
              },
              "name": {
                "type": "string"
              },
              "description": {
                "type": "string"
              },
              "icon": {
                "type": "string"
              },
              "can_read": {
                "type": "boolean"
              },
              "can_write": {
                "type": "boolean"
              },
              "connector_mode": {
                "type": "string",
                "enum": [
                  "DATABASE",
                  "FILE_SYSTEM",
                  "API",
                  "MANUAL_REVIEW",
                  "UNKNOWN"
                ]
              },
              "doc_url": {
                "type": "string"
              }
            }
          },
          "ConnectorSchema": {
            "type": "object",
            "required": [
              "oauth",
              "python_social_auth_backend",
              "json_schema"
            ],
            "properties": {
              "oauth": {
                "type": "boolean",
                "description": "Whether the connector signs in with OAuth."
              },
              "python_social_auth_backend": {
                "type": "string",
                "description": "The OAuth backend name; empty when `oauth` is false."
              },
              "json_schema": {
                "type": "object",
                "description": "The JSON Schema of the connector's metadata (as Unstract's connector forms use it)."
              }
            }
          },
          "TestConnectorsRequest": {
            "type": "object",
            "description": "Unsaved credentials to test. `connectorName` and `oauth-key` inside the metadata are ignored. Other top-level keys are ignored.",
            "required": [
              "connector_id",
              "connector_metadata"
            ],
            "properties": {
              "connector_id": {
                "type": "string",
                "minLength": 1,
                "maxLength": 128,
                "description": "A catalog id from `supported_connectors/`."
              },
              "connector_metadata": {
                "type": "object",
                "description": "The credentials, as described by the type's `connector_schema/`."
              }
            }
          },
          "Connector": {
            "type": "object",
            "description": "A stored connector as the caller sees it. Secret fields of `connector_metadata` are masked.",
            "required": [
              "id",
              "connector_name",
              "connector_id",
              "connector_metadata",
              "connector_version",
              "connector_mode",
              "created_by",
              "modified_by",
              "shared_users",
              "shared_to_org",
              "organization",
              "created_at",
              "modified_at",
              "icon",
              "is_owner",
              "last_health"
            ],
            "properties": {
              "id": {
                "type": "string",
                "format": "uuid"
              },
              "connector_name": {
                "type": "string",
                "description": "Unique within the organization."
              },
              "connector_id": {
                "type": "string",
                "description": "The catalog id."
              },
              "connector_metadata": {
                "type": "object",
                "description": "The settings, with secret fields masked (`********`); sending a masked value back on update means \"keep\"."
              },
              "connector_version": {
                "type": "string"
              },
              "connector_mode": {
                "type": "string",
                "enum": [
                  "DATABASE",
                  "FILE_SYSTEM",
                  "API",
                  "MANUAL_REVIEW",
                  "UNKNOWN"
                ]
              },
              "created_by": {
                "type": [
                  "integer",
                  "null"
                ]
              },
              "modified_by": {
                "type": [
                  "integer",
                  "null"
                ]
              },
              "shared_users": {
                "type": "array",
                "items": {
                  "type": "integer"
                }
              },
              "shared_to_org": {
                "type": "boolean"
              },
              "organization": {
                "type": "string"
              },
              "created_at": {
                "type": "string",
                "format": "date-time"
              },
              "modified_at": {
                "type": "string",
                "format": "date-time"
              },
              "icon": {
                "type": "string"
              },
              "is_owner": {
                "type": "boolean",
                "description": "Whether the caller created the connector."
              },
              "last_health": {
                "oneOf": [
                  {
                    "$ref": "#/components/schemas/LastHealth"
                  },
                  {
                    "type": "null"
                  }
                ],
                "description": "The newest recorded check of the connector; null when it was never checked."
              }
            }
          },
          "ConnectorPage": {
            "type": "object",
            "required": [
              "count",
              "next",
              "previous",
              "results"
            ],
            "properties": {
              "count": {
                "type": "integer",
                "minimum": 0,
                "description": "Connectors matching the filters, over all pages."
              },
              "next": {
                "type": [
                  "string",
                  "null"
                ],
                "description": "The URL of the next page, or null."
              },
              "previous": {
                "type": [
                  "string",
                  "null"
                ],
                "description": "The URL of the previous page, or null."
              },
              "results": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/Connector"
                }
              }
            }
          },
          "ConnectorBody": {
            "type": "object",
            "description": "The fields a create, PUT or PATCH body may hold; unknown fields are refused.",
            "additionalProperties": false,
            "properties": {
              "connector_id": {
                "type": "string",
                "minLength": 1,
                "maxLength": 128
              },
              "connector_name": {
                "type": "string",
                "description": "Trimmed; 1 to 128 characters; no markup (`<`, `>`, `javascript:`), line breaks or control characters."
              },
              "connector_metadata": {
                "type": "object",
                "description": "The settings, as described by the type's `connector_schema/`. `oauth-key` is ignored."
              },
              "shared_users": {
                "type": "array",
                "items": {
                  "type": "integer",
                  "minimum": 1
                },
                "description": "User ids of members of the organization."
              },
              "shared_to_org": {
                "type": "boolean"
              },
              "id": {
                "description": "Set by the server; accepted and ignored."
              },
              "created_by": {
                "description": "Set by the server; accepted and ignored."
              },
              "modified_by": {
                "description": "Set by the server; accepted and ignored."
              },
              "created_at": {
                "description": "Set by the server; accepted and ignored."
              },
              "modified_at": {
                "description": "Set by the server; accepted and ignored."
              },
              "connector_mode": {
                "description": "Set by the server; accepted and ignored."
              },
              "icon": {
                "description": "Set by the server; accepted and ignored."
              },
              "is_owner": {
                "description": "Set by the server; accepted and ignored."
              },
              "last_health": {
                "description": "Set by the server; accepted and ignored."
              },
              "connector_version": {
                "description": "Set by the server; accepted and ignored."
              },
              "organization": {
                "description": "Set by the server; accepted and ignored."
              }
            }
          },
          "ConnectorCreate": {
            "description": "A new connector. `connector_name` may instead come from `connector_metadata.connectorName`.",
            "allOf": [
              {
                "$ref": "#/components/schemas/ConnectorBody"
              }
            ],
            "required": [
              "connector_id",
              "connector_metadata"
            ]
          },
          "ConnectorReplace": {
            "description": "The new name and settings. `connector_id`, if sent, must be the connector's current type.",
            "allOf": [
              {
                "$ref": "#/components/schemas/ConnectorBody"
              }
            ],
            "required": [
              "connector_name",
              "connector_metadata"
            ]
          },
          "ConnectorPatch": {
            "description": "The fields to change. Changing `shared_users` notifies the newly added users.",
            "allOf": [
              {
                "$ref": "#/components/schemas/ConnectorBody"
              }
            ]
          },
          "Workflow": {
            "type": "object",
            "required": [
              "id",
              "workflow_name",
              "source_connector",
              "destination_connector",
              "created_by",
              "created_at"
            ],
            "properties": {
              "id": {
                "type": "string",
                "format": "uuid"
              },
              "workflow_name": {
                "type": "string"
              },
              "source_connector": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "uuid"
              },
              "destination_connector": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "uuid"
              },
              "created_by": {
                "type": [
                  "integer",
                  "null"
                ]
              },
              "created_at": {
                "type": "string",
                "format": "date-time"
              }
            }
          },
          "WorkflowCreate": {
            "type": "object",
            "description": "A minimal workflow: what makes a connector \"in use\". The caller must be able to see each connector it names.",
            "required": [
              "workflow_name"
            ],
            "properties": {
              "workflow_name": {
                "type": "string",
                "description": "The rules of `connector_name`: trimmed; 1 to 128 characters; no markup, line breaks or control characters; unique within the organization."
              },
              "source_connector": {
                "type": [
                  "string",
                  "null"
                ],
                "description": "The id of a connector."
              },
              "destination_connector": {
                "type": [
                  "string",
                  "null"
                ],
                "description": "The id of a connector."
              }
            }
          },
          "Notification": {
            "type": "object",
            "required": [
              "id",
              "kind",
              "resource_type",
              "resource_id",
              "resource_name",
              "shared_by",
              "created_at"
            ],
            "properties": {
              "id": {
                "type": "string",
                "format": "uuid"
              },
              "kind": {
                "type": "string",
                "examples": [
                  "shared",
                  "connector_failing",
                  "connector_recovered"
                ],
                "description": "`shared` (the connector was shared with you), `connector_failing` (a check found it failing after it was valid or never checked) or `connector_recovered` (valid again). A connector that keeps failing is reported once."
              },
              "resource_type": {
                "type": "string",
                "examples": [
                  "connector"
                ]
              },
              "resource_id": {
                "type": "string"
              },
              "resource_name": {
                "type": "string"
              },
              "shared_by": {
                "type": [
                  "integer",
                  "null"
                ]
              },
              "created_at": {
                "type": "string",
                "format": "date-time"
              }
            }
          },
          "LastHealth": {
            "type": "object",
            "required": [
              "checked_at",
              "is_valid",
              "code",
              "stage"
            ],
            "properties": {
              "checked_at": {
                "type": "string",
                "format": "date-time"
              },
              "is_valid": {
                "type": "boolean"
              },
              "code": {
                "$ref": "#/components/schemas/OutcomeCode"
              },
              "stage": {
                "oneOf": [
                  {
                    "$ref": "#/components/schemas/ProbeStage"
                  },
                  {
                    "type": "null"
                  }
                ]
              }
            },
            "description": "The connector's newest recorded check (a test, a job or the scheduler)."
          },
          "HealthCheck": {
            "type": "object",
            "required": [
              "checked_at",
              "is_valid",
              "code",
              "status",
              "stage",
              "attr",
              "detail",
              "hint",
              "elapsed_ms",
              "stages",
              "warnings",
              "triggered_by"
            ],
            "properties": {
              "checked_at": {
                "type": "string",
                "format": "date-time"
              },
              "is_valid": {
                "type": "boolean"
              },
              "code": {
                "$ref": "#/components/schemas/OutcomeCode"
              },
              "status": {
                "type": [
                  "integer",
                  "null"
                ],
                "description": "The HTTP status of the verdict (200, 400, 403, 408 or 500)."
              },
              "stage": {
                "oneOf": [
                  {
                    "$ref": "#/components/schemas/ProbeStage"
                  },
                  {
                    "type": "null"
                  }
                ]
              },
              "attr": {
                "type": [
                  "string",
                  "null"
                ]
              },
              "detail": {
                "type": "string"
              },
              "hint": {
                "type": "string"
              },
              "elapsed_ms": {
                "type": "number",
                "minimum": 0
              },
              "stages": {
                "type": "object",
                "additionalProperties": {
                  "$ref": "#/components/schemas/StageTiming"
                },
                "description": "Each stage the probe went through, with its milliseconds and whether it succeeded."
              },
              "warnings": {
                "type": "array",
                "description": "Facts that predict a failure (`code`, `detail`, `expires_at`).",
                "items": {
                  "type": "object"
                }
              },
              "triggered_by": {
                "type": "object",
                "required": [
                  "kind",
                  "user",
                  "job_id"
                ],
                "properties": {
                  "kind": {
                    "type": "string",
                    "enum": [
                      "test",
                      "job",
                      "schedule"
                    ]
                  },
                  "user": {
                    "type": [
                      "integer",
                      "null"
                    ]
                  },
                  "job_id": {
                    "type": [
                      "string",
                      "null"
                    ]
                  }
                }
              }
            }
          },
          "HealthCheckPage": {
            "type": "object",
            "required": [
              "count",
              "next",
              "previous",
              "results"
            ],
            "properties": {
              "count": {
                "type": "integer",
                "minimum": 0,
                "description": "Recorded checks of the connector, over all pages."
              },
              "next": {
                "type": [
                  "string",
                  "null"
                ]
              },
              "previous": {
                "type": [
                  "string",
                  "null"
                ]
              },
              "results": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/HealthCheck"
                }
              }
            }
          },
          "HealthJobRequest": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
              "connector_ids": {
                "type": [
                  "array",
                  "null"
                ],
                "maxItems": 10000,
                "items": {
                  "type": "string",
                  "format": "uuid"
                },
                "description": "The connectors to check (each must be one the caller may see); all the caller may see when absent."
              },
              "concurrency": {
                "type": "integer",
                "minimum": 1,
                "description": "Checks of this job at once (default 16, at most the per-user test cap)."
              },
              "timeout": {
                "type": "number",
                "exclusiveMinimum": 0,
                "description": "Seconds each check may take (at most the server's maximum)."
              }
            }
          },
          "HealthJobStarted": {
            "type": "object",
            "required": [
              "job_id",
              "total"
            ],
            "properties": {
              "job_id": {
                "type": "string",
                "format": "uuid"
              },
              "total": {
                "type": "integer",
                "minimum": 0
              }
            }
          },
          "HealthJobResult": {
            "type": "object",
            "required": [
              "id",
              "connector_name",
              "connector_id",
              "is_valid",
              "code",
              "status",
              "stage",
              "attr",
              "detail",
              "stages",
              "elapsed_ms",
              "warnings"
            ],
            "properties": {
              "id": {
                "type": "string",
                "format": "uuid"
              },
              "connector_name": {
                "type": "string"
              },
              "connector_id": {
                "type": "string"
              },
              "is_valid": {
                "type": "boolean"
              },
              "code": {
                "$ref": "#/components/schemas/OutcomeCode"
              },
              "status": {
                "type": "integer"
              },
              "stage": {
                "oneOf": [
                  {
                    "$ref": "#/components/schemas/ProbeStage"
                  },
                  {
                    "type": "null"
                  }
                ]
              },
              "attr": {
                "type": [
                  "string",
                  "null"
                ]
              },
              "detail": {
                "type": "string"
              },
              "stages": {
                "type": "object",
                "additionalProperties": {
                  "$ref": "#/components/schemas/StageTiming"
                },
                "description": "Each stage the probe went through, with its milliseconds and whether it succeeded."
              },
              "elapsed_ms": {
                "type": "number",
                "minimum": 0
              },
              "warnings": {
                "type": "array",
                "description": "Facts that predict a failure (`code`, `detail`, `expires_at`).",
                "items": {
                  "type": "object"
                }
              }
            }
          },
          "HealthJob": {
            "type": "object",
            "required": [
              "job_id",
              "status",
              "total",
              "done",
              "valid",
              "counts",
              "created_at",
              "finished_at",
              "results"
            ],
            "properties": {
              "job_id": {
                "type": "string",
                "format": "uuid"
              },
              "status": {
                "type": "string",
                "enum": [
                  "running",
                  "done",
                  "cancelled"
                ]
              },
              "total": {
                "type": "integer",
                "minimum": 0
              },
              "done": {
                "type": "integer",
                "minimum": 0
              },
              "valid": {
                "type": "integer",
                "minimum": 0
              },
              "counts": {
                "type": "object",
                "additionalProperties": {
                  "type": "integer"
                },
                "description": "Results so far per outcome code."
              },
              "created_at": {
                "type": "string",
                "format": "date-time"
              },
              "finished_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time"
              },
              "results": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/HealthJobResult"
                }
              }
            }
          }
        }
      }
    }
    """#
}
