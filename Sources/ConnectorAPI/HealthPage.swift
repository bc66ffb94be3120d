import Hummingbird

/// The health page at `/ui/` (DESIGN §3): HTML and plain JavaScript served by the server; the
/// user types a token, kept in session storage, and the page calls the API with it.
extension ConnectorRoutes {
    func registerHealthPage(on router: Router<APIRequestContext>) {}
}
