#!/usr/bin/env python3
"""Loopback stand-in for Google's OAuth endpoints (token, authorization-code consent,
revocation), GCS JSON API, BigQuery and Drive about that checks credentials the way the real
services do.

    python3 scripts/fake_google.py --port PORT --dir DIR [--host 127.0.0.1] [--max-seconds N]
                                   [--bench-accounts N] [--oauth-access-seconds N]

Needs PyJWT 2.x and cryptography (scripts/deps.sh installs them); the HTTP server is the
standard library's ThreadingHTTPServer. At start it generates an RSA key per service account and
writes into DIR (mode 0600, atomically), in Google's key-file format, with `token_uri` pointing
here (http://HOST:PORT/token):

  ok.json          ce-ok@ce-project.iam.gserviceaccount.com: may get bucket ce-probe and create
                   BigQuery jobs in project ce-project;
  noaccess.json    ce-noaccess@...: a valid account (gets tokens) with no rights on either;
  revoked.json     ce-revoked@...: its key is known here but disabled, so its assertions are
                   refused like those signed with a deleted key ("Invalid JWT Signature.");
  bench-K.json     with --bench-accounts N, for K = 0 .. N-1: ce-bench-K@..., more accounts
                   with the rights of ok (for benchmarks that spread probes over accounts);
  oauth_client.json  an `authorized_user` file (client_id, client_secret, refresh_token,
                   token_uri) for the refresh-token grant; the same client is the one the
                   authorization-code flow below knows;
  fake_google.json   everything services.sh needs (URLs, e-mails, client id/secret, a valid and a
                   revoked refresh token, an access token of that user that never expires and
                   that /_tokens/expire leaves alone (a signed-in connector's fixture), the
                   flow's authorize and revoke URLs);

then prints the line

    fake_google: ready http://HOST:PORT ...

Endpoints (error bodies have the shapes and texts of the real services; see
shared/reference/protocols.md sections 2-5 and 7):

  POST /token                              form-encoded; grant_type=
                                           urn:ietf:params:oauth:grant-type:jwt-bearer (RS256
                                           assertion), refresh_token or authorization_code
  GET  /o/oauth2/v2/auth                   authorization-code consent page (see below)
  POST /o/oauth2/v2/auth/decision          the page's form: request_id, decision=allow|deny
  POST /revoke                             form token=...: revokes a flow grant
  GET  /storage/v1/b/{bucket}[?fields=...] GCS buckets.get
  GET  /storage/v1/b?project=P[&fields=...] GCS buckets.list
  POST /bigquery/v2/projects/{p}/jobs      BigQuery jobs.insert (query jobs, dryRun or not)
  POST /bigquery/v2/projects/{p}/queries   BigQuery jobs.query
  GET  /drive/v3/about?fields=user         Drive about.get (for the refresh-token user and the
                                           flow's user)
  GET  /_stats                             token requests per service account / OAuth client;
                                           "oauth_flow": the flow's counters (authorize,
                                           decision, token by grant type, revoke, and per flow
                                           by its `state`)
  POST /_stats/reset                       zero the counters
  POST /_tokens/expire[?principal=EMAIL]   expire issued access tokens (all, or one principal's;
                                           the flow's are oauth-user@example.com's)
  POST /_oauth/rotate                      test hook, form or query [enabled=true|false]
                                           [refresh_token=...]: refresh-token rotation on or off
                                           (toggled without `enabled`) for every flow grant, or
                                           for one grant; answers {"rotate_refresh_tokens": B}
  POST /_oauth/expire_codes                test hook: expire every unredeemed code

Authorization-code flow (scripts/fake_oauth.py does the common part). GET /o/oauth2/v2/auth with
client_id (the OAuth client above), redirect_uri (http or https on 127.0.0.0/8, [::1] or
localhost, any port and path), response_type=code, scope (space-separated
https://www.googleapis.com/auth/... or openid/email/profile), state, code_challenge with
code_challenge_method=S256 (optional, but a challenge must be S256), access_type=offline|online,
prompt, include_granted_scopes answers a consent page for oauth-user@example.com with the
buttons Allow (id "allow") and Deny (id "deny"); a bad request answers an HTML error page, status
400, and no redirect. Allow redirects (302) to redirect_uri?state=S&code=C&scope=..., Deny to
redirect_uri?error=access_denied&state=S. A code is single use, lives 60 s and is bound to the
client, redirect_uri, challenge, scopes and access_type. POST /token
grant_type=authorization_code (code, redirect_uri, client_id and client_secret in the form or as
HTTP Basic, code_verifier) answers {"access_token", "expires_in", "refresh_token" (offline only),
"scope", "token_type": "Bearer"}, or: 401 invalid_client (wrong client or secret), 400
invalid_grant (code unknown, expired or reused: a reuse also revokes the grant; verifier missing
or not matching), 400 redirect_uri_mismatch. A refusal for the redirect_uri or verifier leaves
the code unused. grant_type=refresh_token takes the flow's refresh tokens too: a new access token
and, only when rotation is on, a new refresh token that replaces the old one (using a replaced
one answers invalid_grant and revokes the grant). Access tokens from the flow live
--oauth-access-seconds (default 3599). POST /revoke token=T revokes the grant of a flow refresh
or access token (all its tokens, as Google revokes the refresh token behind an access token) or
drops one other access token issued here: 200 {}; unknown token: 400 {"error":
"invalid_token"}. The run's fixed refresh tokens cannot be revoked (400 invalid_request): other
tests share them.

Checks on a JWT assertion, in this order (first failure answers): decodable; `iss` a known
account; `alg` RS256 and the signature valid for the key named by `kid` (any enabled key of the
account when there is no `kid`); `aud` == this server's token URL; `iat`/`exp` numbers with
iat < exp <= iat + 3600, iat <= now + 300 and exp >= now - 300; no `sub`; `scope` a non-empty
space-separated list of https://www.googleapis.com/auth/... scopes (or openid/email/profile).
A bucket or project other than ce-probe / ce-project is 404 for every authenticated caller; the
noaccess account gets 403 on the existing ones. Tokens carry their scopes: GCS wants a
devstorage or cloud-platform scope, BigQuery bigquery or cloud-platform, else 403.

Access tokens live 3599 s. Requests are logged to stderr (method, path, status; never bodies,
query strings, tokens or codes). It serves until SIGTERM/SIGINT/SIGHUP or --max-seconds.
"""

import base64
import hashlib
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse

import jwt  # PyJWT 2.x (with cryptography for RS256); scripts/deps.sh installs both

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))  # fake_common.py is next to us
import fake_common  # noqa: E402
import fake_oauth  # noqa: E402

PROJECT = "ce-project"
PROJECT_NUMBER = "104729000113"
BUCKET = "ce-probe"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = 3599
CLOCK_SKEW = 300          # seconds of clock difference tolerated on iat/exp
MAX_ASSERTION_LIFETIME = 3600
MAX_BODY = 1 << 20

ACCOUNTS = {  # file stem -> (account name, may access bucket / project, key enabled)
    "ok": ("ce-ok", True, True),
    "noaccess": ("ce-noaccess", False, True),
    "revoked": ("ce-revoked", False, False),
}
USER_EMAIL = "ce-user@example.com"
USER_SCOPE = "https://www.googleapis.com/auth/drive.readonly"

# The authorization-code flow: its user, paths and consent page.
FLOW_USER = "oauth-user@example.com"
FLOW_ACCESS_SECONDS = 3599
AUTHORIZE_PATH = "/o/oauth2/v2/auth"
PROVIDER = {"name": "Google", "color": "#1a73e8"}
APP_NAME = "Connector Engine (test client)"
AUTHORIZE_ERRORS = {  # fake_oauth.authorize_problem() kinds -> the error Google's page names
    "client_id_missing": "invalid_request", "client_unknown": "invalid_client",
    "redirect_uri_missing": "invalid_request", "redirect_uri": "redirect_uri_mismatch",
    "response_type": "unsupported_response_type", "pkce": "invalid_request"}
SCOPE_TEXT = {
    "https://www.googleapis.com/auth/drive":
        "See, edit, create, and delete all of your Google Drive files",
    "https://www.googleapis.com/auth/drive.readonly":
        "See and download all your Google Drive files",
    "https://www.googleapis.com/auth/userinfo.profile":
        "See your personal info, including any personal info you've made publicly available",
    "https://www.googleapis.com/auth/userinfo.email":
        "See your primary Google Account email address",
    "openid": "Associate you with your personal info on Google",
    "email": "See your primary Google Account email address",
    "profile": "See your personal info, including any personal info you've made publicly "
               "available",
}

AUTH = "https://www.googleapis.com/auth/"
GCS_SCOPES = {AUTH + s for s in ("cloud-platform", "cloud-platform.read-only",
                                 "devstorage.read_only", "devstorage.read_write",
                                 "devstorage.full_control")}
BQ_INSERT_SCOPES = {AUTH + "bigquery", AUTH + "cloud-platform"}
BQ_QUERY_SCOPES = BQ_INSERT_SCOPES | {AUTH + "bigquery.readonly", AUTH + "cloud-platform.read-only"}
DRIVE_SCOPES = {AUTH + s for s in ("drive", "drive.readonly", "drive.file", "drive.appdata",
                                   "drive.metadata", "drive.metadata.readonly",
                                   "drive.photos.readonly")}

# Token endpoint error texts (protocols.md section 2 and 3 tables, and the issues cited there).
E_SIGNATURE = "Invalid JWT Signature."
E_TIMEFRAME = ("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
               "timeframe. Check your iat and exp values and use a clock with skew to account for "
               "clock differences between systems.")
E_AUDIENCE = "Invalid JWT: Failed audience check. The right audience is %s"
E_ACCOUNT = "Invalid grant: account not found"
E_NOT_EMAIL = "Not a valid email or user ID."
E_SCOPE = "Invalid OAuth scope or ID token audience provided."
E_UNAUTHORIZED_CLIENT = ("Client is unauthorized to retrieve access tokens using this method, or "
                         "client not authorized for any of the scopes requested.")
E_REVOKED = "Token has been expired or revoked."

GOOGLE_AUTH_HINT = ("Expected OAuth 2 access token, login cookie or other valid authentication "
                    "credential. See https://developers.google.com/identity/sign-in/web/"
                    "devconsole-project.")


log = fake_common.make_log("fake_google")


def parse_args():
    p = fake_common.arg_parser(__doc__, "the key files (0600) are written there")
    p.add_argument("--bench-accounts", type=int, default=0, metavar="N",
                   help="also create N service accounts with the rights of `ok`, key files "
                        "bench-0.json .. bench-{N-1}.json (default 0)")
    p.add_argument("--oauth-access-seconds", type=int, default=FLOW_ACCESS_SECONDS, metavar="N",
                   help="lifetime of the access tokens of the authorization-code flow "
                        "(default %d)" % FLOW_ACCESS_SECONDS)
    args = p.parse_args()
    if args.bench_accounts < 0:
        p.error("--bench-accounts must be 0 or more")
    if args.oauth_access_seconds < 1:
        p.error("--oauth-access-seconds must be 1 or more")
    return args


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


# ------------------------------------------------------------------------------- fields=...

class FieldsError(ValueError):
    pass


FIELD_NAME = re.compile(r"[A-Za-z0-9_*.-]+")


def parse_fields(text):
    """Google partial-response syntax: `a,b/c,d(e,f)` -> {"a": None, "b": {"c": None}, ...}."""
    pos = 0

    def item():  # name, then "/item" or "(list)" or nothing -> (name, subtree or None)
        nonlocal pos
        m = FIELD_NAME.match(text, pos)
        if not m:
            raise FieldsError(text)
        name, pos = m.group(0), m.end()
        if text.startswith("/", pos):
            pos += 1
            return name, dict([item()])
        if text.startswith("(", pos):
            pos += 1
            sub = items()
            if not text.startswith(")", pos):
                raise FieldsError(text)
            pos += 1
            return name, sub
        return name, None

    def items():
        nonlocal pos
        tree = {}
        while True:
            name, sub = item()
            merge(tree, name, sub)
            if not text.startswith(",", pos):
                return tree
            pos += 1

    def merge(tree, name, sub):
        if name not in tree:
            tree[name] = sub
        elif tree[name] is None or sub is None:
            tree[name] = None
        else:
            for k, v in sub.items():
                merge(tree[name], k, v)

    tree = items()
    if pos != len(text):
        raise FieldsError(text)
    return tree


def select_fields(obj, tree):
    if tree is None:
        return obj
    if isinstance(obj, list):
        return [select_fields(o, tree) for o in obj]
    if not isinstance(obj, dict):
        return obj
    if "*" in tree:
        return obj
    return {k: select_fields(obj[k], sub) for k, sub in tree.items() if k in obj}


# ------------------------------------------------------------------------------- state

class State:
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
        # the authorization-code flow: its grants and tokens (for the OAuth client above)
        self.flow = fake_oauth.Flow(
            access_seconds=flow_access_seconds,
            make_code=lambda: "4/0" + secrets.token_urlsafe(54),
            make_access=lambda: "ya29.a0" + secrets.token_urlsafe(96),
            make_refresh=lambda: "1//0" + secrets.token_urlsafe(75))
        self.reset_stats()

    def reset_stats(self):
        self.flow.reset_stats()
        with self.lock:
            self.stats = {
                "service_accounts": {e: {"token_requests": 0, "tokens_issued": 0, "errors": {}}
                                     for e in self.accounts},
                "oauth_clients": {self.oauth["client_id"]: {"token_requests": 0,
                                                            "tokens_issued": 0, "errors": {}}},
                "unidentified_token_requests": {"token_requests": 0, "errors": {}},
                "api_requests": {"gcs": {}, "bigquery": {}, "drive": {}},
            }

    def count_token(self, section, key, error=None, issued=False):
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


def make_accounts(base_url, token_url, bench_accounts=0):
    """Keys, key files and the in-memory account table; bench_accounts more accounts like `ok`
    (stems bench-0 .. bench-{N-1}, e-mails ce-bench-K@...) for load tests."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    table = dict(ACCOUNTS)
    for i in range(bench_accounts):
        table["bench-%d" % i] = ("ce-bench-%d" % i, True, True)
    accounts, files = {}, {}
    for stem, (name, access, enabled) in table.items():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        kid = secrets.token_hex(20)
        email = "%s@%s.iam.gserviceaccount.com" % (name, PROJECT)
        accounts[email] = {"keys": {kid: (key.public_key(), enabled)}, "access": access}
        # Field order and values as in a key file downloaded from the Cloud console; the URLs
        # that would lead to Google point here instead (only token_uri is ever used).
        files[stem] = {
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": kid,
            "private_key": pem,
            "client_email": email,
            "client_id": "1" + "".join(secrets.choice("0123456789") for _ in range(20)),
            "auth_uri": base_url + "/o/oauth2/auth",
            "token_uri": token_url,
            "auth_provider_x509_cert_url": base_url + "/oauth2/v1/certs",
            "client_x509_cert_url": base_url + "/robot/v1/metadata/x509/"
                                    + urllib.parse.quote(email, safe=""),
            "universe_domain": "googleapis.com",
        }
    oauth = {
        "client_id": "%d-%s.apps.googleusercontent.com"
                     % (secrets.randbelow(9 * 10 ** 11) + 10 ** 11,
                        "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                                for _ in range(32))),
        "client_secret": "GOCSPX-" + secrets.token_urlsafe(21),
        "refresh_token": "1//0" + secrets.token_urlsafe(75),
        "revoked_refresh_token": "1//0" + secrets.token_urlsafe(75),
        "access_token": "ya29.a0" + secrets.token_urlsafe(96),
    }
    return accounts, files, oauth


# ------------------------------------------------------------------------------- HTTP

def google_error(code, message, reason, status=None, item_message=None, location=None):
    item = {"message": item_message or message, "domain": "global", "reason": reason}
    if location:
        item["locationType"], item["location"] = location
    err = {"code": code, "message": message, "errors": [item]}
    if status:
        err["status"] = status
    return {"error": err}


STATUS_TEXT = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
               404: "NOT_FOUND"}


class Handler(fake_common.FakeHandler):
    server_version = "fake_google"
    log_size = True
    grant_type = None  # of the token request being answered (for the flow's counters)

    # ---- plumbing

    def send_json(self, code, obj, headers=()):
        body = (json.dumps(obj, indent=2) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_text(self, code, text, headers=()):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        """The request body (Content-Length or chunked); None after answering 413/400 (unlike
        FakeHandler.read_body, which raises)."""
        te = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in te:
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    n = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.close_connection = True
                    self.send_text(400, "Bad chunked encoding\n")
                    return None
                if n == 0:
                    while self.rfile.readline(8192).strip():
                        pass
                    return b"".join(chunks)
                total += n
                if total > MAX_BODY:
                    self.close_connection = True
                    self.send_text(413, "Request body too large\n")
                    return None
                chunks.append(self.rfile.read(n))
                self.rfile.readline(8)
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            n = -1
        if n < 0 or n > MAX_BODY:
            self.close_connection = True
            self.send_text(413 if n > MAX_BODY else 400, "Bad Content-Length\n")
            return None
        return self.rfile.read(n) if n else b""

    def split(self):
        u = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        return u.path, {k: v[0] for k, v in query.items()}

    # ---- dispatch

    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def dispatch(self, method):
        path, query = self.split()
        body = b""
        if method in ("POST", "PUT", "PATCH") or "Content-Length" in self.headers or \
                "Transfer-Encoding" in self.headers:
            body = self.read_body()
            if body is None:
                return
        try:
            self.route(method, path, query, body)
        except Exception as e:  # noqa: BLE001 - answer 500 rather than drop the connection
            log("error: %s %s: %s: %s" % (method, path, type(e).__name__, e))
            self.close_connection = True
            self.send_json(500, google_error(500, "Internal error in fake_google.py: %s"
                                             % type(e).__name__, "backendError", "INTERNAL"))

    def route(self, method, path, query, body):
        def only(*methods):
            if method in methods:
                return True
            self.send_text(405, "Method Not Allowed\n", [("Allow", ", ".join(methods))])
            return False

        if path == "/token":
            if only("POST"):
                self.token_endpoint(body)
            return
        if path == AUTHORIZE_PATH:
            if only("GET"):
                self.authorize(query)
            return
        if path == AUTHORIZE_PATH + "/decision":
            if only("POST"):
                self.decision(body)
            return
        if path == "/revoke":
            if only("POST"):
                self.revoke(body)
            return
        if path == "/storage/v1/b":
            if only("GET"):
                self.gcs_list(query)
            return
        m = re.fullmatch(r"/storage/v1/b/([^/]+)/?", path)
        if m:
            if only("GET"):
                self.gcs_get(urllib.parse.unquote(m.group(1)), query)
            return
        m = re.fullmatch(r"/bigquery/v2/projects/([^/]+)/(jobs|queries)", path)
        if m:
            if only("POST"):
                self.bigquery(urllib.parse.unquote(m.group(1)), m.group(2), body)
            return
        if path == "/drive/v3/about":
            if only("GET"):
                self.drive_about(query)
            return
        if path == "/_stats":
            if only("GET"):
                self.send_json(200, self.st.snapshot())
            return
        if path == "/_stats/reset":
            if only("POST"):
                self.st.reset_stats()
                self.send_json(200, self.st.snapshot())
            return
        if path == "/_tokens/expire":
            if only("POST"):
                self.send_json(200, {"expired": self.st.expire(query.get("principal") or None)})
            return
        if path == "/_oauth/rotate":
            if only("POST"):
                self.send_json(*fake_oauth.rotate_hook(self.st.flow, body, self.path))
            return
        if path == "/_oauth/expire_codes":
            if only("POST"):
                self.send_json(200, {"expired": self.st.flow.expire_codes()})
            return
        self.send_text(404, "Not Found\n")

    # ---- token endpoint

    def oauth_error(self, code, error, description, section, key):
        self.st.count_token(section, key, error=error)
        if self.grant_type in fake_oauth.GRANT_TYPES:
            self.st.flow.count(self.grant_type, error)
        self.send_json(code, {"error": error, "error_description": description})

    def oauth_issued(self, client_id, answer):
        """Counts and answers a token issued to the OAuth client (refresh or code grant)."""
        self.st.count_token("oauth_clients", client_id, issued=True)
        self.st.flow.count(self.grant_type, "ok", issued=True)
        self.send_json(200, answer)

    def token_endpoint(self, body):
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        params = {}
        if ctype == "application/x-www-form-urlencoded":
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = ""
            params = {k: v[0] for k, v in
                      urllib.parse.parse_qs(text, keep_blank_values=True).items()}
        grant = params.get("grant_type", "")
        self.grant_type = grant
        if grant == JWT_GRANT:
            self.jwt_grant(params)
        elif grant == "refresh_token":
            self.refresh_grant(params)
        elif grant == "authorization_code":
            self.code_grant(params)
        else:
            self.oauth_error(400, "unsupported_grant_type", "Invalid grant_type: %s" % grant,
                             "unidentified", None)

    def jwt_grant(self, params):
        st = self.st
        assertion = params.get("assertion", "")
        if not assertion:
            return self.oauth_error(400, "invalid_request", "Missing required parameter: assertion",
                                    "unidentified", None)
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return self.oauth_error(400, "invalid_grant", "Bad Request", "unidentified", None)
        iss = claims.get("iss")
        if not isinstance(iss, str) or "@" not in iss:
            return self.oauth_error(400, "invalid_grant", E_NOT_EMAIL, "unidentified", None)
        account = st.accounts.get(iss)
        if account is None:
            return self.oauth_error(400, "invalid_grant", E_ACCOUNT, "unidentified", None)

        def fail(code, error, description):
            self.oauth_error(code, error, description, "service_accounts", iss)

        # Signature: RS256 only, with the key named by `kid` (or any enabled key without one).
        kid = header.get("kid")
        if kid is not None:
            entry = account["keys"].get(kid)
            candidates = [entry[0]] if entry and entry[1] else []
        else:
            candidates = [pub for pub, enabled in account["keys"].values() if enabled]
        verified = False
        if header.get("alg") == "RS256":
            for pub in candidates:
                try:
                    jwt.PyJWS().decode(assertion, pub, algorithms=["RS256"])
                    verified = True
                    break
                except jwt.PyJWTError:
                    pass
        if not verified:
            return fail(400, "invalid_grant", E_SIGNATURE)
        if claims.get("aud") != st.token_url:
            return fail(400, "invalid_grant", E_AUDIENCE % st.token_url)
        iat, exp, now = claims.get("iat"), claims.get("exp"), time.time()

        def number(v):
            return isinstance(v, (int, float)) and not isinstance(v, bool)

        if not (number(iat) and number(exp) and iat < exp
                and exp - iat <= MAX_ASSERTION_LIFETIME
                and iat <= now + CLOCK_SKEW and exp >= now - CLOCK_SKEW):
            return fail(400, "invalid_grant", E_TIMEFRAME)
        if "sub" in claims:  # domain-wide delegation: granted to no test account
            return fail(401, "unauthorized_client", E_UNAUTHORIZED_CLIENT)
        scope = claims.get("scope")
        scopes = scope.split() if isinstance(scope, str) else []
        if not scopes or not all(s.startswith(AUTH) or s in ("openid", "email", "profile")
                                 for s in scopes):
            return fail(400, "invalid_scope", E_SCOPE)
        token = st.issue(iss, scopes, "service_account", "ya29.c.")
        st.count_token("service_accounts", iss, issued=True)
        self.send_json(200, {"access_token": token, "expires_in": TOKEN_LIFETIME,
                             "token_type": "Bearer"})

    def oauth_client(self, params):
        """The authenticated OAuth client of a refresh or code grant (form fields or HTTP
        Basic); None after answering 400 or 401."""
        oauth = self.st.oauth
        client_id = params.get("client_id", "")
        client_secret = params.get("client_secret")
        auth = self.headers.get("Authorization", "")
        if auth[:6].lower() == "basic ":  # RFC 6749 2.3.1: form-urlencoded id:secret in Basic
            try:
                cid, _, csec = base64.b64decode(auth[6:].strip(), validate=True).decode() \
                    .partition(":")
                client_id = urllib.parse.unquote_plus(cid)
                client_secret = urllib.parse.unquote_plus(csec)
            except (ValueError, UnicodeDecodeError):
                pass
        if not client_id:
            self.oauth_error(400, "invalid_request", "Could not determine client ID from request.",
                             "unidentified", None)
            return None
        if client_id != oauth["client_id"]:
            self.oauth_error(401, "invalid_client", "The OAuth client was not found.",
                             "unidentified", None)
            return None
        if client_secret != oauth["client_secret"]:
            self.oauth_error(401, "invalid_client", "Unauthorized", "oauth_clients", client_id)
            return None
        return client_id

    def refresh_grant(self, params):
        st, oauth = self.st, self.st.oauth
        client_id = self.oauth_client(params)
        if client_id is None:
            return

        def fail(code, error, description):
            self.oauth_error(code, error, description, "oauth_clients", client_id)

        refresh = params.get("refresh_token", "")
        if not refresh:
            return fail(400, "invalid_request", "Missing required parameter: refresh_token")
        if secrets.compare_digest(refresh, oauth["revoked_refresh_token"]):
            return fail(400, "invalid_grant", E_REVOKED)
        if not secrets.compare_digest(refresh, oauth["refresh_token"]):
            outcome, answer = st.flow.refresh(refresh, client_id=client_id)
            if outcome == "ok":
                return self.oauth_issued(client_id, dict(answer, token_type="Bearer"))
            if outcome == "revoked":
                return fail(400, "invalid_grant", E_REVOKED)
            return fail(400, "invalid_grant", "Bad Request")
        token = st.issue(USER_EMAIL, [USER_SCOPE], "user", "ya29.a0")
        self.oauth_issued(client_id, {"access_token": token, "expires_in": TOKEN_LIFETIME,
                                      "scope": USER_SCOPE, "token_type": "Bearer"})

    def code_grant(self, params):
        client_id = self.oauth_client(params)
        if client_id is None:
            return

        def fail(code, error, description):
            self.oauth_error(code, error, description, "oauth_clients", client_id)

        code = params.get("code", "")
        if not code:
            return fail(400, "invalid_request", "Missing required parameter: code")
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri:
            return fail(400, "invalid_request", "Missing required parameter: redirect_uri")
        outcome, answer = self.st.flow.redeem(code, client_id=client_id, redirect_uri=redirect_uri,
                                              verifier=params.get("code_verifier") or None)
        if outcome == "ok":
            return self.oauth_issued(client_id, dict(answer, token_type="Bearer"))
        if outcome == "redirect_uri_mismatch":
            return fail(400, "redirect_uri_mismatch", "Bad Request")
        if outcome == "verifier_missing":
            return fail(400, "invalid_grant", "Missing code verifier.")
        if outcome.startswith("verifier_"):
            return fail(400, "invalid_grant", "Invalid code verifier.")
        if outcome == "unknown_code" and not code.startswith("4/"):
            return fail(400, "invalid_grant", "Malformed auth code.")
        fail(400, "invalid_grant", "Bad Request")  # unknown, expired or reused code

    def revoke(self, body):
        """POST /revoke token=T (form or query), as https://oauth2.googleapis.com/revoke."""
        st = self.st
        token = fake_oauth.form_fields(body, self.path).get("token", "")

        def answer(code, outcome, obj):
            st.flow.count("revoke", outcome)
            self.send_json(code, obj)

        if not token:
            return answer(400, "invalid_request", {"error": "invalid_request",
                                                   "error_description": "Bad Request"})
        if token in (st.oauth["refresh_token"], st.oauth["revoked_refresh_token"]):
            return answer(400, "fixed_token", {
                "error": "invalid_request",
                "error_description": "fake_google: the run's fixed refresh tokens are shared by "
                                     "all tests and cannot be revoked"})
        if st.flow.revoke(token) or st.revoke_issued(token):
            return answer(200, "ok", {})
        answer(400, "invalid_token", {"error": "invalid_token",
                                      "error_description": "Token expired or revoked"})

    # ---- authorization-code consent

    def authorize(self, query):
        """GET /o/oauth2/v2/auth: the consent page, or an error page (400, no redirect)."""
        st = self.st

        def bad(error, message):
            st.flow.count("authorize", error)
            fake_oauth.send_html(self, 400, fake_oauth.error_page(PROVIDER, 400, error, message))

        problem = fake_oauth.authorize_problem(query, st.oauth["client_id"])
        if problem:
            kind, message = problem
            return bad(AUTHORIZE_ERRORS[kind], message)
        client_id, redirect_uri = query["client_id"], query["redirect_uri"]
        scopes = list(dict.fromkeys(query.get("scope", "").split()))
        if not scopes:
            return bad("invalid_request", "Missing required parameter: scope")
        unknown = [sc for sc in scopes
                   if not sc.startswith(AUTH) and sc not in ("openid", "email", "profile")]
        if unknown:
            return bad("invalid_scope", "Some requested scopes were invalid. {invalid=[%s]}"
                       % ", ".join(unknown))
        access_type = query.get("access_type", "online")
        if access_type not in ("online", "offline"):
            return bad("invalid_request", "Invalid access_type: %s" % access_type)
        if query.get("include_granted_scopes", "true") not in ("true", "false"):
            return bad("invalid_request", "Invalid include_granted_scopes: %s"
                       % query["include_granted_scopes"])
        rid = st.flow.begin(client_id=client_id, redirect_uri=redirect_uri, scopes=scopes,
                            state=query.get("state"), challenge=query.get("code_challenge"),
                            offline=access_type == "offline")
        st.flow.count("authorize", "ok")
        fake_oauth.send_html(self, 200, fake_oauth.consent_page(
            PROVIDER, client_id=client_id, app_name=APP_NAME, account=FLOW_USER,
            scopes=[(sc, SCOPE_TEXT.get(sc)) for sc in scopes],
            offline=access_type == "offline", redirect_uri=redirect_uri,
            action=AUTHORIZE_PATH + "/decision", request_id=rid))

    def decision(self, body):
        """POST /o/oauth2/v2/auth/decision: Allow or Deny, then back to the redirect_uri."""
        def fields(req, code):
            if code is None:
                return [("error", "access_denied"), ("state", req["state"])]
            return [("state", req["state"]), ("code", code), ("scope", " ".join(req["scopes"]))]

        fake_oauth.answer_decision(self, self.st.flow, PROVIDER, body, fields)

    # ---- APIs

    def bearer(self):
        """-> ("missing", None) | ("invalid", None) | ("ok", token info)."""
        auth = self.headers.get("Authorization")
        if auth is None:
            return "missing", None
        scheme, _, token = auth.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "invalid", None
        info = self.st.lookup(token.strip())
        return ("ok", info) if info else ("invalid", None)

    UNAUTH_HEADERS = [("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/"')]

    def api_auth(self, api, anonymous_message, with_status):
        """Checks the bearer token; answers 401 itself and returns None when it is not good."""
        state, info = self.bearer()
        status = "UNAUTHENTICATED" if with_status else None
        if state == "missing":
            if anonymous_message:  # GCS
                body = google_error(401, anonymous_message, "required",
                                    location=("header", "Authorization"))
            else:
                body = google_error(401, "Request is missing required authentication credential. "
                                    + GOOGLE_AUTH_HINT, "required", status,
                                    item_message="Login Required.",
                                    location=("header", "Authorization"))
        elif state == "invalid":
            if with_status:
                body = google_error(401, "Request had invalid authentication credentials. "
                                    + GOOGLE_AUTH_HINT, "authError", status,
                                    item_message="Invalid Credentials",
                                    location=("header", "Authorization"))
            else:
                body = google_error(401, "Invalid Credentials", "authError",
                                    location=("header", "Authorization"))
        else:
            self.st.count_api(api, info["principal"])
            return info
        self.st.count_api(api, "(unauthenticated)")
        self.send_json(401, body, self.UNAUTH_HEADERS)
        return None

    def has_access(self, info):
        acct = self.st.accounts.get(info["principal"])
        return bool(acct and acct["access"])

    def fields(self, query, obj):
        if "fields" not in query:
            return obj
        return select_fields(obj, parse_fields(query["fields"]))

    def send_selected(self, query, obj, with_status):
        try:
            obj = self.fields(query, obj)
        except FieldsError:
            msg = "Invalid field selection %s" % query["fields"]
            return self.send_json(400, google_error(400, msg, "invalid",
                                                    "INVALID_ARGUMENT" if with_status else None,
                                                    location=("parameter", "fields")))
        self.send_json(200, obj)

    def bucket_resource(self):
        created = rfc3339(self.st.started)
        return {
            "kind": "storage#bucket",
            "selfLink": self.st.base_url + "/storage/v1/b/" + BUCKET,
            "id": BUCKET,
            "name": BUCKET,
            "projectNumber": PROJECT_NUMBER,
            "generation": "1764412800000000",
            "metageneration": "1",
            "location": "US",
            "storageClass": "STANDARD",
            "etag": "CAE=",
            "timeCreated": created,
            "updated": created,
            "softDeletePolicy": {"retentionDurationSeconds": "604800",
                                 "effectiveTime": created},
            "iamConfiguration": {"bucketPolicyOnly": {"enabled": True},
                                 "uniformBucketLevelAccess": {"enabled": True},
                                 "publicAccessPrevention": "inherited"},
            "locationType": "multi-region",
            "rpo": "DEFAULT",
        }

    def gcs_scope_ok(self, info):
        if info["scopes"] & GCS_SCOPES:
            return True
        msg = "Provided scope(s) are not authorized"
        self.send_json(403, google_error(403, msg, "forbidden"))
        return False

    def gcs_get(self, bucket, query):
        denied = ("Permission 'storage.buckets.get' denied on resource (or it may not exist).")
        info = self.api_auth("gcs", "Anonymous caller does not have storage.buckets.get access to "
                             "the Google Cloud Storage bucket. " + denied, with_status=False)
        if info is None or not self.gcs_scope_ok(info):
            return
        if bucket != BUCKET:
            msg = "The specified bucket does not exist."
            return self.send_json(404, google_error(404, msg, "notFound"))
        if not self.has_access(info):
            msg = ("%s does not have storage.buckets.get access to the Google Cloud Storage "
                   "bucket. %s" % (info["principal"], denied))
            return self.send_json(403, google_error(403, msg, "forbidden"))
        self.send_selected(query, self.bucket_resource(), with_status=False)

    def gcs_list(self, query):
        denied = "Permission 'storage.buckets.list' denied on resource (or it may not exist)."
        info = self.api_auth("gcs", "Anonymous caller does not have storage.buckets.list access "
                             "to the Google Cloud project. " + denied, with_status=False)
        if info is None or not self.gcs_scope_ok(info):
            return
        project = query.get("project", "")
        if not project:
            msg = "Required parameter: project"
            return self.send_json(400, google_error(400, msg, "required",
                                                    location=("parameter", "project")))
        if project not in (PROJECT, PROJECT_NUMBER) or not self.has_access(info):
            msg = ("%s does not have storage.buckets.list access to the Google Cloud project. %s"
                   % (info["principal"], denied))
            return self.send_json(403, google_error(403, msg, "forbidden"))
        self.send_selected(query, {"kind": "storage#buckets", "items": [self.bucket_resource()]},
                           with_status=False)

    def bigquery(self, project, method, body):
        info = self.api_auth("bigquery", None, with_status=True)
        if info is None:
            return
        scopes = BQ_INSERT_SCOPES if method == "jobs" else BQ_QUERY_SCOPES
        if not info["scopes"] & scopes:
            return self.send_json(403, google_error(
                403, "Request had insufficient authentication scopes.", "insufficientPermissions",
                "PERMISSION_DENIED", item_message="Insufficient Permission"))

        def bad(msg, reason="invalid"):
            self.send_json(400, google_error(400, msg, reason, "INVALID_ARGUMENT"))

        try:
            req = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (UnicodeDecodeError, ValueError):
            return bad("Invalid JSON payload received. Unexpected token.")
        if not isinstance(req, dict):
            return bad("Invalid JSON payload received. Expected an object.")
        if project != PROJECT:
            msg = "Not found: Project %s" % project
            return self.send_json(404, google_error(404, msg, "notFound", "NOT_FOUND"))
        if not self.has_access(info):
            msg = ("Access Denied: Project %s: User does not have bigquery.jobs.create permission "
                   "in project %s." % (project, project))
            return self.send_json(403, google_error(403, msg, "accessDenied", "PERMISSION_DENIED"))
        if method == "jobs":
            cfg = req.get("configuration")
            q = cfg.get("query") if isinstance(cfg, dict) else None
            sql = q.get("query") if isinstance(q, dict) else None
            dry = bool(cfg.get("dryRun")) if isinstance(cfg, dict) else False
            legacy = q.get("useLegacySql", True) if isinstance(q, dict) else True
        else:
            sql, dry, legacy = req.get("query"), bool(req.get("dryRun")), req.get("useLegacySql",
                                                                                  True)
        if not isinstance(sql, str) or not sql.strip():
            return bad("Required parameter is missing", "required")
        self.send_json(200, self.bq_result(method, project, info["principal"], sql, dry,
                                           legacy is not False))

    def bq_result(self, method, project, email, sql, dry, legacy):
        now_ms = str(int(time.time() * 1000))
        schema = {"fields": [{"name": "f0_", "type": "INTEGER", "mode": "NULLABLE"}]}
        ref = {"projectId": project, "location": "US"}
        if not dry:
            ref = {"projectId": project, "jobId": "job_" + secrets.token_urlsafe(21),
                   "location": "US"}
        if method == "queries":
            out = {"kind": "bigquery#queryResponse", "schema": schema, "jobReference": ref,
                   "totalBytesProcessed": "0", "jobComplete": True, "cacheHit": False}
            if not dry:
                out.update({"totalRows": "1", "rows": [{"f": [{"v": "1"}]}],
                            "totalBytesBilled": "0", "queryId": ref["jobId"]})
            return out
        query_stats = {"totalBytesProcessed": "0", "totalBytesBilled": "0", "cacheHit": False,
                       "statementType": "SELECT", "schema": schema,
                       "totalBytesProcessedAccuracy": "PRECISE"}
        stats = {"creationTime": now_ms, "totalBytesProcessed": "0", "query": query_stats}
        if not dry:
            stats.update({"startTime": now_ms, "endTime": now_ms})
        job = {
            "kind": "bigquery#job",
            "etag": base64.b64encode(secrets.token_bytes(16)).decode(),
            "user_email": email,
            "configuration": {"query": {"query": sql, "priority": "INTERACTIVE",
                                        "useLegacySql": legacy},
                              "dryRun": dry, "jobType": "QUERY"},
            "jobReference": ref,
            "statistics": stats,
            "status": {"state": "DONE"},
            "principal_subject": ("serviceAccount:" if email.endswith(".gserviceaccount.com")
                                  else "user:") + email,
        }
        if not dry:
            job["id"] = "%s:US.%s" % (project, ref["jobId"])
            job["selfLink"] = "%s/bigquery/v2/projects/%s/jobs/%s?location=US" % (
                self.st.base_url, project, ref["jobId"])
        return job

    def drive_about(self, query):
        info = self.api_auth("drive", None, with_status=True)
        if info is None:
            return
        if not info["scopes"] & DRIVE_SCOPES:
            msg = "Request had insufficient authentication scopes."
            return self.send_json(403, google_error(
                403, msg, "insufficientPermissions", "PERMISSION_DENIED",
                item_message="Insufficient Permission: " + msg))
        if "fields" not in query:
            msg = "The 'fields' parameter is required for this method."
            return self.send_json(400, google_error(400, msg, "required",
                                                    location=("parameter", "fields")))
        email = info["principal"]
        user = {"kind": "drive#user", "displayName": email.split("@")[0], "me": True,
                "permissionId": str(int(hashlib.sha256(email.encode()).hexdigest(), 16))[:20],
                "emailAddress": email}
        self.send_selected(query, {"kind": "drive#about", "user": user}, with_status=True)


def setup_for(bench_accounts, flow_access_seconds=FLOW_ACCESS_SECONDS):
    """fake_common.run_fake's setup: writes the key files and fake_google.json."""
    def setup(at):
        base_url, out_dir = at.base_url, at.out_dir
        token_url = base_url + "/token"
        accounts, files, oauth = make_accounts(base_url, token_url, bench_accounts)
        for stem, data in files.items():
            fake_common.write_json_0600(os.path.join(out_dir, stem + ".json"), data)
        fake_common.write_json_0600(os.path.join(out_dir, "oauth_client.json"), {
            "type": "authorized_user",
            "client_id": oauth["client_id"],
            "client_secret": oauth["client_secret"],
            "refresh_token": oauth["refresh_token"],
            "token_uri": token_url,
            "universe_domain": "googleapis.com",
        })
        fake_common.write_json_0600(os.path.join(out_dir, "fake_google.json"), {
            "base_url": base_url,
            "token_url": token_url,
            "host": at.host,
            "port": at.port,
            "project": PROJECT,
            "bucket": BUCKET,
            "service_accounts": {stem: {"file": os.path.join(out_dir, stem + ".json"),
                                        "client_email": d["client_email"]}
                                 for stem, d in files.items()},
            "oauth": dict(oauth, file=os.path.join(out_dir, "oauth_client.json"),
                          user_email=USER_EMAIL, scope=USER_SCOPE),
            "oauth_flow": {"authorize_url": base_url + AUTHORIZE_PATH,
                           "revoke_url": base_url + "/revoke", "user_email": FLOW_USER,
                           "access_seconds": flow_access_seconds},
        })
        return State(base_url, accounts, oauth, flow_access_seconds), {"token_url": token_url}
    return setup


def main():
    args = parse_args()
    return fake_common.run_fake("fake_google", args, Handler,
                                setup_for(args.bench_accounts, args.oauth_access_seconds))


if __name__ == "__main__":
    sys.exit(main())
