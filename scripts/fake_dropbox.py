#!/usr/bin/env python3
"""Loopback stand-in for the Dropbox API v2 account probe and OAuth refresh endpoint, answering
with the status codes, content types and error bodies of the real service.

    python3 scripts/fake_dropbox.py --port PORT --dir DIR [--host 127.0.0.1] [--max-seconds N]

Standard library only (ThreadingHTTPServer). At start it generates random credentials and writes
DIR/dropbox.json (mode 0600, atomically):

  app_key, app_secret       the one known app (confidential; refresh may also omit the secret,
                            as a PKCE app would, but a secret that is sent must be right)
  access_token              valid, never expires, scope account_info.read
  expired_access_token      known here but expired      -> 401 expired_access_token
  noscope_access_token      valid, without account_info.read -> 401 missing_scope
  refresh_token             valid for app_key
  revoked_refresh_token     known here but revoked      -> 400 invalid_grant

then prints the line

    fake_dropbox: ready http://HOST:PORT ...

Endpoints (see shared/reference/protocols.md section 6):

  POST /2/users/get_current_account   Authorization: Bearer TOKEN; body `null` with
                                      Content-Type: application/json, or no body and no type
  POST /oauth2/token                  form grant_type=refresh_token&refresh_token=...&
                                      client_id=KEY[&client_secret=SECRET], or HTTP Basic
                                      KEY:SECRET; optional scope (must be a subset)
  GET  /_stats                        request counts per endpoint and outcome
  POST /_stats/reset                  zero the counters
  POST /_tokens/expire                expire all access tokens issued by /oauth2/token

get_current_account checks, in this order: Authorization header present and of the form
`Bearer <token>` with a well-formed token (else 400 text/plain); Content-Type and body (400
text/plain); token known and unexpired (401 invalid_access_token / expired_access_token); scope
account_info.read (401 missing_scope). 401 bodies are JSON
{"error_summary": "<tag>/..", "error": {".tag": "<tag>", ...}}; like the real service the number
of dots after the slash varies, so match on error[".tag"], not on error_summary.

Tokens issued by /oauth2/token are "sl." tokens that live 14400 s. Requests are logged to stderr
(method, path, status; never bodies or tokens). It serves until SIGTERM/SIGINT/SIGHUP or
--max-seconds.
"""

import base64
import binascii
import json
import os
import re
import secrets
import string
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))  # fake_common.py is next to us
import fake_common  # noqa: E402

TOKEN_LIFETIME = 14400
SCOPE_ACCOUNT = "account_info.read"
# What the app is allowed (scopes granted to the valid refresh token).
APP_SCOPES = ["account_info.read", "files.metadata.read", "files.content.read"]
ROUTE = "users/get_current_account"
API_PREFIX = 'Error in call to API function "%s": ' % ROUTE
JSON_TYPES = ("application/json", "application/json; charset=utf-8",
              "text/plain; charset=dropbox-cors-hack")
TOKEN_RE = re.compile(r"^[A-Za-z0-9._~+/=-]+$")
REFRESH_RE = re.compile(r"^[A-Za-z0-9_-]{16,}$")

E_MISSING_AUTH = 'Must provide HTTP header "Authorization" or URL parameter "authorization".'
E_BAD_AUTH = ('Invalid authorization value in HTTP header "Authorization": %s.  Expecting '
              '"Bearer <oauth2-access-token>".')
E_MALFORMED = "The given OAuth 2 access token is malformed."
E_DECODE = "request body: could not decode input as JSON"
E_NOT_NULL = "request body: expected null, got value"
E_CONTENT_TYPE = ('Bad HTTP "Content-Type" header: %s.  Expecting one of "application/json", '
                  '"application/json; charset=utf-8", "text/plain; charset=dropbox-cors-hack".')
E_INVALID_CLIENT = "Invalid client_id or client_secret"
E_NO_AUTH_FN = "No auth function available for given request"
E_GRANT_REVOKED = "refresh token is invalid or revoked"
E_GRANT_MALFORMED = "refresh token is malformed"


def rand_chars(n, alphabet=string.ascii_lowercase + string.digits):
    return "".join(secrets.choice(alphabet) for _ in range(n))


def short_lived_token():
    return "sl." + secrets.token_urlsafe(105)


def summary(tag):
    return tag + "/" + "." * (1 + secrets.randbelow(3))


class State:
    def __init__(self):
        self.app_key = rand_chars(15)
        self.app_secret = rand_chars(15)
        self.account_id = "dbid:" + base64.urlsafe_b64encode(secrets.token_bytes(26)) \
            .decode().rstrip("=")
        self.team_ns = str(1000000000 + secrets.randbelow(9000000000))
        self.referral = "AA" + secrets.token_urlsafe(24) + "?src=global9"
        self.lock = threading.Lock()
        now = time.time()
        self.access_token = secrets.token_urlsafe(48)           # 64 chars, legacy long-lived
        self.expired_token = short_lived_token()
        self.noscope_token = short_lived_token()
        self.refresh_token = secrets.token_urlsafe(48)
        self.revoked_refresh_token = secrets.token_urlsafe(48)
        # access token -> {"scopes": set, "expires_at": float or None, "source": str}
        self.tokens = {
            self.access_token: {"scopes": set(APP_SCOPES), "expires_at": None,
                                "source": "long_lived"},
            self.expired_token: {"scopes": set(APP_SCOPES), "expires_at": now - 60,
                                 "source": "expired"},
            self.noscope_token: {"scopes": {"files.metadata.read"},
                                 "expires_at": now + 10 * 365 * 86400, "source": "noscope"},
        }
        # refresh token -> {"app_key", "scopes", "revoked"}
        self.refresh = {
            self.refresh_token: {"app_key": self.app_key, "scopes": list(APP_SCOPES),
                                 "revoked": False},
            self.revoked_refresh_token: {"app_key": self.app_key, "scopes": list(APP_SCOPES),
                                         "revoked": True},
        }
        self.stats = fake_common.Stats({
            "get_current_account": {"requests": 0, "outcomes": {}},
            "oauth2_token": {"requests": 0, "tokens_issued": 0, "outcomes": {}},
            "other": {"requests": 0}})

    def credentials(self, base_url):
        return {
            "base_url": base_url,
            "api_url": base_url,
            "token_url": base_url + "/oauth2/token",
            "app_key": self.app_key,
            "app_secret": self.app_secret,
            "access_token": self.access_token,
            "expired_access_token": self.expired_token,
            "noscope_access_token": self.noscope_token,
            "refresh_token": self.refresh_token,
            "revoked_refresh_token": self.revoked_refresh_token,
            "account_id": self.account_id,
            "email": "ce-user@example.com",
            "scopes": APP_SCOPES,
        }

    def issue(self, scopes):
        token = short_lived_token()
        with self.lock:
            now = time.time()
            for t in [t for t, v in self.tokens.items()
                      if v["source"] == "refresh" and v["expires_at"] <= now - 3600]:
                del self.tokens[t]
            self.tokens[token] = {"scopes": set(scopes), "expires_at": now + TOKEN_LIFETIME,
                                  "source": "refresh"}
        return token

    def lookup(self, token):
        with self.lock:
            info = self.tokens.get(token)
            return None if info is None else dict(info)

    def expire_issued(self):
        with self.lock:
            n = 0
            for info in self.tokens.values():
                if info["source"] == "refresh" and info["expires_at"] > 0:
                    info["expires_at"] = 0
                    n += 1
            return n


class Handler(fake_common.FakeHandler):
    server_version = "fake_dropbox"

    def send(self, code, body, ctype):
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Dropbox-Request-Id", secrets.token_hex(16))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_json(self, code, obj):
        self.send(code, json.dumps(obj), "application/json")

    def send_text(self, code, text):
        self.send(code, text, "text/plain; charset=utf-8")

    # ---- dispatch

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/_stats":
            return self.send_json(200, self.st.stats.snapshot())
        self.other(path)

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        try:
            body = self.read_body()
        except ValueError:
            self.close_connection = True
            return self.send_text(400, "Error in call to API function: bad request body")
        if path == "/2/" + ROUTE:
            return self.get_current_account(body)
        if path == "/oauth2/token":
            return self.oauth_token(body)
        if path == "/_stats/reset":
            self.st.stats.reset()
            return self.send_json(200, {"reset": True})
        if path == "/_tokens/expire":
            return self.send_json(200, {"expired": self.st.expire_issued()})
        self.other(path)

    def other(self, path):
        self.st.stats.count("other")
        if path.startswith("/2/"):
            return self.send_text(404, 'Unknown API function: "%s"' % path[3:])
        self.send_text(404, "Not Found")

    # ---- /2/users/get_current_account

    def get_current_account(self, body):
        def fail_text(outcome, text):
            self.st.stats.count("get_current_account", outcome)
            self.send_text(400, API_PREFIX + text)

        def fail_auth(tag, **extra):
            self.st.stats.count("get_current_account", tag)
            err = {".tag": tag}
            err.update(extra)
            self.send_json(401, {"error_summary": summary(tag), "error": err})

        auth = self.headers.get("Authorization")
        if auth is None:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            if "authorization" in query:
                auth = query["authorization"][0]
        if auth is None:
            return fail_text("missing_authorization", E_MISSING_AUTH)
        scheme, _, token = auth.strip().partition(" ")
        if scheme.lower() != "bearer":
            return fail_text("bad_authorization", E_BAD_AUTH % json.dumps(auth))
        token = token.strip()
        if not token or not TOKEN_RE.match(token):
            return fail_text("malformed_token", E_MALFORMED)

        ctype = self.headers.get("Content-Type")
        if ctype is None:
            if body.strip():
                return fail_text("bad_content_type", E_CONTENT_TYPE % '""')
        else:
            if ctype.strip().lower() not in JSON_TYPES:
                return fail_text("bad_content_type", E_CONTENT_TYPE % json.dumps(ctype))
            try:
                value = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                return fail_text("undecodable_body", E_DECODE)
            if value is not None:
                return fail_text("non_null_body", E_NOT_NULL)

        info = self.st.lookup(token)
        if info is None:
            return fail_auth("invalid_access_token")
        if info["expires_at"] is not None and info["expires_at"] <= time.time():
            return fail_auth("expired_access_token")
        if SCOPE_ACCOUNT not in info["scopes"]:
            return fail_auth("missing_scope", required_scope=SCOPE_ACCOUNT)
        self.st.stats.count("get_current_account", "ok")
        st = self.st
        self.send_json(200, {
            "account_id": st.account_id,
            "name": {"given_name": "Connector", "surname": "Engine",
                     "familiar_name": "Connector", "display_name": "Connector Engine",
                     "abbreviated_name": "CE"},
            "email": "ce-user@example.com",
            "email_verified": True,
            "disabled": False,
            "country": "US",
            "locale": "en",
            "referral_link": "https://www.dropbox.com/referrals/" + st.referral,
            "is_paired": False,
            "account_type": {".tag": "basic"},
            "root_info": {".tag": "user", "root_namespace_id": st.team_ns,
                          "home_namespace_id": st.team_ns},
        })

    # ---- /oauth2/token

    def oauth_token(self, body):
        def fail(error, description):
            self.st.stats.count("oauth2_token", error)
            self.send_json(400, {"error": error, "error_description": description})

        try:
            form = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return fail("invalid_request", "request body is not valid form data")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query,
                                      keep_blank_values=True)
        for k, v in query.items():  # the real endpoint also takes the fields as URL parameters
            form.setdefault(k, v)
        field = lambda k: form[k][0] if k in form else None  # noqa: E731

        client_id, client_secret = field("client_id"), field("client_secret")
        auth = self.headers.get("Authorization")
        if auth:
            scheme, _, cred = auth.strip().partition(" ")
            if scheme.lower() != "basic":
                return fail("invalid_request", E_NO_AUTH_FN)
            try:
                user, sep, pw = base64.b64decode(cred.strip(), validate=True) \
                    .decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return fail("invalid_client", E_INVALID_CLIENT)
            if not sep:
                return fail("invalid_client", E_INVALID_CLIENT)
            client_id, client_secret = urllib.parse.unquote(user), urllib.parse.unquote(pw)

        grant_type = field("grant_type")
        if grant_type is None:
            return fail("invalid_request", 'missing required field "grant_type"')
        if grant_type not in ("refresh_token", "authorization_code"):
            return fail("unsupported_grant_type",
                        '"grant_type" must be one of "authorization_code", "refresh_token"')
        if not client_id:
            return fail("invalid_request", E_NO_AUTH_FN)
        if client_id != self.st.app_key:
            return fail("invalid_client", E_INVALID_CLIENT)
        if client_secret is not None and not secrets.compare_digest(
                client_secret.encode(), self.st.app_secret.encode()):
            return fail("invalid_client", E_INVALID_CLIENT)
        if grant_type == "authorization_code":
            return fail("invalid_grant", "code doesn't exist or has expired")

        rt = field("refresh_token")
        if rt is None:
            return fail("invalid_request", 'missing required field "refresh_token"')
        if not REFRESH_RE.match(rt):
            return fail("invalid_grant", E_GRANT_MALFORMED)
        entry = self.st.refresh.get(rt)
        if entry is None or entry["revoked"] or entry["app_key"] != client_id:
            return fail("invalid_grant", E_GRANT_REVOKED)
        scopes = entry["scopes"]
        req_scope = field("scope")
        if req_scope is not None:
            wanted = req_scope.split()
            bad = [s for s in wanted if s not in scopes]
            if not wanted or bad:
                return fail("invalid_scope", "The following scopes are not granted to the "
                            "refresh token: %s" % " ".join(bad or [req_scope]))
            scopes = wanted
        token = self.st.issue(scopes)
        self.st.stats.count("oauth2_token", "ok", tokens_issued=1)
        out = {"access_token": token, "token_type": "bearer", "expires_in": TOKEN_LIFETIME}
        if req_scope is not None:
            out["scope"] = " ".join(scopes)
        self.send_json(200, out)


def main():
    args = fake_common.arg_parser(__doc__, "dropbox.json (0600) is written there").parse_args()
    setup = fake_common.credentials_setup(State, "dropbox.json")
    return fake_common.run_fake("fake_dropbox", args, Handler, setup)


if __name__ == "__main__":
    sys.exit(main())
