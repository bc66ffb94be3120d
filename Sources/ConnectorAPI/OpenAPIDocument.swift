/// The OpenAPI 3.1 contract served at `GET /api/v1/openapi.json`.
enum OpenAPIDocument {
    static let json: String = #"""
    {"openapi": "3.1.0", "info": {"title": "Connector Engine", "version": "0"}, "paths": {}}
    """#
}
