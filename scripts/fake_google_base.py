"""The common part of the fake Google (fake_google.py): the project, bucket and users it knows,
the tokens it issued and its counters (State), Google's JSON error shape, and the request
handler that routes each request to its API module (fake_google_oauth, _storage, _bigquery,
_drive: each lists its ROUTES) and checks the bearer token of API calls.

Standard library only; fake_google.py puts this folder on sys.path first.
"""

import json
import re
import secrets
import threading
import time
import urllib.parse
from typing import Callable, NamedTuple

import fake_common
import fake_oauth

PROJECT = "ce-project"
PROJECT_NUMBER = "104729000113"
BUCKET = "ce-probe"
AUTH = "https://www.googleapis.com/auth/"
TOKEN_LIFETIME = 3599
# The OAuth client's user of the fixed refresh and access tokens (fake_google.json "oauth").
USER_EMAIL = "ce-user@example.com"
USER_SCOPE = AUTH + "drive.readonly"
# The user who consents in the authorization-code flow.
FLOW_USER = "oauth-user@example.com"
FLOW_ACCESS_SECONDS = 3599

GOOGLE_AUTH_HINT = ("Expected OAuth 2 access token, login cookie or other valid authentication "
                    "credential. See https://developers.google.com/identity/sign-in/web/"
                    "devconsole-project.")

log = fake_common.make_log("fake_google")


def valid_scope(scope):
    """A scope the token endpoint and the consent page accept."""
    return scope.startswith(AUTH) or scope in ("openid", "email", "profile")


class State:
    """The accounts, the OAuth client, the access tokens issued here, the authorization-code
    flow and the counters of GET /_stats; thread-safe."""

    def __init__(self, base_url, accounts, oauth, flow_access_seconds=FLOW_ACCESS_SECONDS):
        self.base_url = base_url
        self.token_url = base_url + "/token"
        # email -> {"keys": {kid: (public_key, enabled)}, "access": bool}
        self.accounts = accounts
        # {"client_id", "client_secret", "refresh_token", "revoked_refresh_token", "access_token"}
        self.oauth = oauth
        self.started = time.time()  # the bucket's creation time
        self.lock = threading.Lock()
        # access token -> {"principal", "scopes", "expires_at", "kind"}
        self.tokens = {}
        self.flow = fake_oauth.Flow(
            access_seconds=flow_access_seconds,
            make_code=lambda: "4/0" + secrets.token_urlsafe(54),
            make_access=lambda: "ya29.a0" + secrets.token_urlsafe(96),
            make_refresh=lambda: "1//0" + secrets.token_urlsafe(75))
        self.stats = {
            "service_accounts": {e: {"token_requests": 0, "tokens_issued": 0, "errors": {}}
                                 for e in self.accounts},
            "oauth_clients": {oauth["client_id"]: {"token_requests": 0, "tokens_issued": 0,
                                                   "errors": {}}},
            "unidentified_token_requests": {"token_requests": 0, "errors": {}},
            "api_requests": {"gcs": {}, "bigquery": {}, "drive": {}},
        }

    def count_token(self, section, key, error=None, issued=False):
        """One token request of a service account or OAuth client (section "service_accounts" or
        "oauth_clients", key its e-mail or id), or of no known one (section "unidentified")."""
        with self.lock:
            if section == "unidentified":
                entry = self.stats["unidentified_token_requests"]
            else:
                entry = self.stats[section].setdefault(
                    key, {"token_requests": 0, "tokens_issued": 0, "errors": {}})
            entry["token_requests"] += 1
            if issued:
                entry["tokens_issued"] += 1
            if error:
                entry["errors"][error] = entry["errors"].get(error, 0) + 1

    def count_api(self, api, principal):
        with self.lock:
            d = self.stats["api_requests"][api]
            d[principal] = d.get(principal, 0) + 1

    def issue(self, principal, scopes, kind, prefix):
        """A new access token for principal, living TOKEN_LIFETIME seconds."""
        token = prefix + secrets.token_urlsafe(96)
        with self.lock:
            now = time.time()
            # drop expired tokens so that the table stays small in a long run
            for t in [t for t, v in self.tokens.items() if v["expires_at"] <= now]:
                del self.tokens[t]
            self.tokens[token] = {"principal": principal, "scopes": set(scopes),
                                  "expires_at": now + TOKEN_LIFETIME, "kind": kind}
        return token

    def lookup(self, token):
        """{"principal", "scopes", "expires_at", "kind"} of a live access token, else None."""
        if secrets.compare_digest(token, self.oauth["access_token"]):
            return {"principal": USER_EMAIL, "scopes": {USER_SCOPE}, "expires_at": float("inf"),
                    "kind": "user"}
        with self.lock:
            info = self.tokens.get(token)
            if info is not None:
                return None if info["expires_at"] <= time.time() else dict(info)
        flow = self.flow.lookup(token)
        if flow is None or flow["expires_at"] <= time.time():
            return None
        return {"principal": FLOW_USER, "scopes": set(flow["scopes"]),
                "expires_at": flow["expires_at"], "kind": "oauth_flow"}

    def expire(self, principal=None):
        """Expires the access tokens issued here (all, or one principal's); returns how many."""
        with self.lock:
            n = 0
            for info in self.tokens.values():
                if (principal is None or info["principal"] == principal) and \
                        info["expires_at"] > 0:
                    info["expires_at"] = 0
                    n += 1
        if principal is None or principal == FLOW_USER:
            n += self.flow.expire_access()
        return n

    def revoke_issued(self, token):
        """Drops one access token issued here (not by the flow); False when there is none."""
        with self.lock:
            return self.tokens.pop(token, None) is not None

    def snapshot(self):
        with self.lock:
            out = json.loads(json.dumps(self.stats))
        out["oauth_flow"] = self.flow.snapshot()
        return out


def google_error(code, message, reason, status=None, item_message=None, location=None):
    """Google's JSON error body: {"error": {"code", "message", "errors": [...], "status"}}."""
    item = {"message": item_message or message, "domain": "global", "reason": reason}
    if location:
        item["locationType"], item["location"] = location
    err = {"code": code, "message": message, "errors": [item]}
    if status:
        err["status"] = status
    return {"error": err}


# ------------------------------------------------------------------------------- fields=...

class FieldsError(ValueError):
    pass


FIELD_PATH = re.compile(r"[A-Za-z0-9_]+(/[A-Za-z0-9_]+)*")


def parse_fields(text):
    """A partial-response selection of comma-separated paths (`name`, `items/name`) -> a tree
    {"items": {"name": None}} (None: the whole value)."""
    tree = {}
    for path in text.split(","):
        if not FIELD_PATH.fullmatch(path):
            raise FieldsError(text)
        *parents, leaf = path.split("/")
        branch = tree
        for name in parents:
            if branch.get(name, {}) is None:  # that part is selected whole already
                break
            branch = branch.setdefault(name, {})
        else:
            branch[leaf] = None
    return tree


def select_fields(obj, tree):
    if tree is None:
        return obj
    if isinstance(obj, list):
        return [select_fields(o, tree) for o in obj]
    if not isinstance(obj, dict):
        return obj
    return {k: select_fields(obj[k], sub) for k, sub in tree.items() if k in obj}


# ------------------------------------------------------------------------------- HTTP

class Route(NamedTuple):
    """One request selector: method and path pattern (the whole path), and answer(handler,
    match, query, body) for it."""
    method: str
    path: re.Pattern
    answer: Callable


def route(method, path, answer):
    return Route(method, re.compile(path), answer)


class Handler(fake_common.FakeHandler):
    """Routes GET and POST requests to the first of `routes` whose path matches (405 when only
    another method's does, 404 when none does). fake_google.py sets `routes`."""

    server_version = "fake_google"
    log_size = True
    routes = ()

    def send_json(self, code, obj, headers=()):
        self.send_body(code, (json.dumps(obj, indent=2) + "\n").encode(),
                       "application/json; charset=UTF-8",
                       [("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate"),
                        *headers])

    def send_text(self, code, text, headers=()):
        self.send_body(code, text.encode(), "text/plain; charset=UTF-8", headers)

    def send_body(self, code, body, ctype, headers):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def dispatch(self, method):
        u = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        body = b""
        if method == "POST" or "Content-Length" in self.headers or \
                "Transfer-Encoding" in self.headers:
            try:
                body = self.read_body()
            except fake_common.BodyTooLarge:
                self.close_connection = True
                return self.send_text(413, "Request body too large\n")
            except ValueError:
                self.close_connection = True
                return self.send_text(400, "Bad request body\n")
        matching = [(r, m) for r in self.routes for m in [r.path.fullmatch(u.path)] if m]
        for r, m in matching:
            if r.method == method:
                try:
                    return r.answer(self, m, query, body)
                except Exception as e:  # noqa: BLE001 - answer 500 rather than drop the connection
                    log("error: %s %s: %s: %s" % (method, u.path, type(e).__name__, e))
                    self.close_connection = True
                    return self.send_json(500, google_error(
                        500, "Internal error in fake_google.py: %s" % type(e).__name__,
                        "backendError", "INTERNAL"))
        if matching:
            allowed = ", ".join(sorted({r.method for r, _ in matching}))
            return self.send_text(405, "Method Not Allowed\n", [("Allow", allowed)])
        self.send_text(404, "Not Found\n")

    # ---- for the API modules

    UNAUTH_HEADERS = [("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/"')]

    def api_auth(self, api, anonymous_message, with_status):
        """The caller's token info (State.lookup) for a call to api ("gcs", "bigquery",
        "drive"), counted; None after answering 401 when the bearer token is missing or not
        good. anonymous_message: GCS's text for a call without a token (None: the other APIs'
        "Login Required."); with_status: the error bodies carry "status" (not GCS's)."""
        auth = self.headers.get("Authorization")
        scheme, _, token = (auth or "").strip().partition(" ")
        info = self.st.lookup(token.strip()) if scheme.lower() == "bearer" and token.strip() \
            else None
        if info is not None:
            self.st.count_api(api, info["principal"])
            return info
        status = "UNAUTHENTICATED" if with_status else None
        location = ("header", "Authorization")
        if auth is None and anonymous_message:
            body = google_error(401, anonymous_message, "required", location=location)
        elif auth is None:
            body = google_error(401, "Request is missing required authentication credential. "
                                + GOOGLE_AUTH_HINT, "required", status,
                                item_message="Login Required.", location=location)
        elif with_status:
            body = google_error(401, "Request had invalid authentication credentials. "
                                + GOOGLE_AUTH_HINT, "authError", status,
                                item_message="Invalid Credentials", location=location)
        else:
            body = google_error(401, "Invalid Credentials", "authError", location=location)
        self.st.count_api(api, "(unauthenticated)")
        self.send_json(401, body, self.UNAUTH_HEADERS)
        return None

    def has_access(self, info):
        """The caller is a service account with rights on the bucket and the project."""
        acct = self.st.accounts.get(info["principal"])
        return bool(acct and acct["access"])

    def send_selected(self, query, obj, with_status):
        """200 with obj cut down to query's `fields`; 400 for a selection that does not parse."""
        if "fields" in query:
            try:
                obj = select_fields(obj, parse_fields(query["fields"]))
            except FieldsError:
                msg = "Invalid field selection %s" % query["fields"]
                return self.send_json(400, google_error(
                    400, msg, "invalid", "INVALID_ARGUMENT" if with_status else None,
                    location=("parameter", "fields")))
        self.send_json(200, obj)


# ---- test hooks

def stats(h, _match, _query, _body):
    """GET /_stats: the counters."""
    h.send_json(200, h.st.snapshot())


def expire_tokens(h, _match, query, _body):
    """POST /_tokens/expire[?principal=EMAIL]: expire the access tokens issued here."""
    h.send_json(200, {"expired": h.st.expire(query.get("principal") or None)})


ROUTES = [
    route("GET", r"/_stats", stats),
    route("POST", r"/_tokens/expire", expire_tokens),
]
