#!/usr/bin/env python3
"""Loopback stand-in for the Dropbox API v2 account probe and OAuth endpoints (token, the
authorization-code consent, revocation), answering with the status codes, content types and
error bodies of the real service.

    python3 scripts/fake_dropbox.py --port PORT --dir DIR [--host 127.0.0.1] [--max-seconds N]
                                    [--oauth-access-seconds N]

Standard library only (ThreadingHTTPServer). At start it generates random credentials and writes
DIR/dropbox.json (mode 0600, atomically):

  app_key, app_secret       the one known app (confidential; refresh may also omit the secret,
                            as a PKCE app would, but a secret that is sent must be right)
  access_token              valid, never expires, scope account_info.read
  expired_access_token      known here but expired      -> 401 expired_access_token
  noscope_access_token      valid, without account_info.read -> 401 missing_scope
  refresh_token             valid for app_key
  revoked_refresh_token     known here but revoked      -> 400 invalid_grant
  authorize_url, revoke_url, uid   for the authorization-code flow below

then prints the line

    fake_dropbox: ready http://HOST:PORT ...

Endpoints (see shared/reference/protocols.md section 6):

  POST /2/users/get_current_account   Authorization: Bearer TOKEN; body `null` with
                                      Content-Type: application/json, or no body and no type
  POST /oauth2/token                  form grant_type=refresh_token&refresh_token=...&
                                      client_id=KEY[&client_secret=SECRET], or HTTP Basic
                                      KEY:SECRET; optional scope (must be a subset); or
                                      grant_type=authorization_code (see below)
  GET  /oauth2/authorize              authorization-code consent page (see below)
  POST /oauth2/authorize/decision     the page's form: request_id, decision=allow|deny
  POST /2/auth/token/revoke           Authorization: Bearer TOKEN, body as for
                                      get_current_account: 200 `null`, revokes TOKEN
  GET  /_stats                        request counts per endpoint and outcome; "oauth_flow":
                                      the flow's counters (authorize, decision, token by grant
                                      type, revoke, and per flow by its `state`)
  POST /_stats/reset                  zero the counters
  POST /_tokens/expire                expire all access tokens issued by /oauth2/token
  POST /_oauth/rotate                 test hook, form or query [enabled=true|false]
                                      [refresh_token=...]: refresh-token rotation on or off
                                      (toggled without `enabled`) for every flow grant, or for
                                      one grant; answers {"rotate_refresh_tokens": B}
  POST /_oauth/expire_codes           test hook: expire every unredeemed code

get_current_account checks, in this order: Authorization header present and of the form
`Bearer <token>` with a well-formed token (else 400 text/plain); Content-Type and body (400
text/plain); token known and unexpired (401 invalid_access_token / expired_access_token); scope
account_info.read (401 missing_scope). 401 bodies are JSON
{"error_summary": "<tag>/..", "error": {".tag": "<tag>", ...}}; like the real service the number
of dots after the slash varies, so match on error[".tag"], not on error_summary.

Authorization-code flow (scripts/fake_oauth.py does the common part). GET /oauth2/authorize
with client_id=KEY, response_type=code, redirect_uri (http or https on 127.0.0.0/8, [::1] or
localhost, any port and path), state, token_access_type=offline|online|legacy, scope (optional,
a subset of the app's scopes; default all of them), code_challenge with
code_challenge_method=S256 (optional, but a challenge must be S256) answers a consent page for
ce-user@example.com with the buttons Allow (id "allow") and Deny (id "deny"); a bad request
answers an HTML error page, status 400, and no redirect. Allow redirects (302) to
redirect_uri?code=C&state=S, Deny to redirect_uri?error=access_denied&error_description=...&
state=S. A code is single use, lives 60 s and is bound to the app, redirect_uri, challenge,
scopes and token_access_type. POST /oauth2/token grant_type=authorization_code (code,
redirect_uri, code_verifier, client_id [+ client_secret] or HTTP Basic KEY:SECRET; the secret may
be left out only for a code with a PKCE challenge) answers {"access_token": "sl...",
"token_type": "bearer", "expires_in", "refresh_token" (offline only), "scope", "uid",
"account_id"}, or 400 {"error", "error_description"}: invalid_client, invalid_grant "code
doesn't exist or has expired" (also for a reused code, which revokes the grant), invalid_grant
"redirect_uri mismatch", invalid_grant "invalid code verifier". A refusal for the redirect_uri
or verifier leaves the code unused. grant_type=refresh_token takes the flow's refresh tokens too:
a new access token and, only when rotation is on, a new refresh token that replaces the old one
(using a replaced one answers invalid_grant and revokes the grant). The flow's access tokens live
--oauth-access-seconds (default 14400) and are accepted by get_current_account (same account).
/2/auth/token/revoke with a flow token revokes its grant (the refresh token and every access
token from it, as Dropbox does); with a token from the fixed refresh token, only that token; the
run's fixed access tokens cannot be revoked (400): other tests share them.

Tokens issued by /oauth2/token are "sl." tokens that live 14400 s. Requests are logged to stderr
(method, path, status; never bodies, query strings, tokens or codes). It serves until
SIGTERM/SIGINT/SIGHUP or --max-seconds.
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
import fake_oauth  # noqa: E402

TOKEN_LIFETIME = 14400
SCOPE_ACCOUNT = "account_info.read"
# What the app is allowed (scopes granted to the valid refresh token).
APP_SCOPES = ["account_info.read", "files.metadata.read", "files.content.read"]
ROUTE = "users/get_current_account"
API_PREFIX = 'Error in call to API function "%s": '
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
E_CODE = "code doesn't exist or has expired"
EMAIL = "ce-user@example.com"

# The authorization-code flow's consent page.
PROVIDER = {"name": "Dropbox", "color": "#0061fe"}
APP_NAME = "Connector Engine (test app)"
SCOPE_TEXT = {
    "account_info.read": "View basic information about your Dropbox account",
    "files.metadata.read": "View information about your Dropbox files and folders",
    "files.content.read": "View content of your Dropbox files and folders",
}
AUTHORIZE_ERRORS = {  # fake_oauth.authorize_problem() kinds -> the error the page names
    "client_id_missing": "invalid_request", "client_unknown": "invalid_client",
    "redirect_uri_missing": "invalid_request", "redirect_uri": "invalid_redirect_uri",
    "response_type": "unsupported_response_type", "pkce": "invalid_request"}
E_DENIED = "The user chose not to give your app access to their Dropbox account."


def rand_chars(n, alphabet=string.ascii_lowercase + string.digits):
    return "".join(secrets.choice(alphabet) for _ in range(n))


def short_lived_token():
    return "sl." + secrets.token_urlsafe(105)


def summary(tag):
    return tag + "/" + "." * (1 + secrets.randbelow(3))


class State:
    def __init__(self, flow_access_seconds=TOKEN_LIFETIME):
        self.app_key = rand_chars(15)
        self.app_secret = rand_chars(15)
        self.account_id = "dbid:" + base64.urlsafe_b64encode(secrets.token_bytes(26)) \
            .decode().rstrip("=")
        self.team_ns = str(1000000000 + secrets.randbelow(9000000000))
        self.uid = str(100000000 + secrets.randbelow(900000000))
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
        # the authorization-code flow: its grants and tokens (for the app above)
        self.flow = fake_oauth.Flow(access_seconds=flow_access_seconds,
                                    make_code=lambda: secrets.token_urlsafe(32),
                                    make_access=short_lived_token,
                                    make_refresh=lambda: secrets.token_urlsafe(48))

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
            "email": EMAIL,
            "scopes": APP_SCOPES,
            "authorize_url": base_url + "/oauth2/authorize",
            "revoke_url": base_url + "/2/auth/token/revoke",
            "uid": self.uid,
            "oauth_access_seconds": self.flow.access_seconds,
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
            if info is not None:
                return dict(info)
        flow = self.flow.lookup(token)
        return None if flow is None else {"scopes": set(flow["scopes"]),
                                          "expires_at": flow["expires_at"],
                                          "source": "authorization_code"}

    def expire_issued(self):
        with self.lock:
            n = 0
            for info in self.tokens.values():
                if info["source"] == "refresh" and info["expires_at"] > 0:
                    info["expires_at"] = 0
                    n += 1
        return n + self.flow.expire_access()

    def revoke_issued(self, token):
        """Drops one access token issued from the fixed refresh token; False when it is not
        one (the fixed access tokens stay)."""
        with self.lock:
            info = self.tokens.get(token)
            if info is None or info["source"] != "refresh":
                return False
            del self.tokens[token]
            return True

    def snapshot(self):
        out = self.stats.snapshot()
        out["oauth_flow"] = self.flow.snapshot()
        return out


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
            return self.send_json(200, self.st.snapshot())
        if path == "/oauth2/authorize":
            return self.authorize()
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
        if path == "/oauth2/authorize/decision":
            return self.decision(body)
        if path == "/2/auth/token/revoke":
            return self.token_revoke(body)
        if path == "/_stats/reset":
            self.st.stats.reset()
            self.st.flow.reset_stats()
            return self.send_json(200, {"reset": True})
        if path == "/_tokens/expire":
            return self.send_json(200, {"expired": self.st.expire_issued()})
        if path == "/_oauth/rotate":
            return self.send_json(*fake_oauth.rotate_hook(self.st.flow, body, self.path))
        if path == "/_oauth/expire_codes":
            return self.send_json(200, {"expired": self.st.flow.expire_codes()})
        self.other(path)

    def other(self, path):
        self.st.stats.count("other")
        if path.startswith("/2/"):
            return self.send_text(404, 'Unknown API function: "%s"' % path[3:])
        self.send_text(404, "Not Found")

    # ---- /2/users/get_current_account, /2/auth/token/revoke

    def auth_error(self, tag, **extra):
        err = {".tag": tag}
        err.update(extra)
        self.send_json(401, {"error_summary": summary(tag), "error": err})

    def rpc_auth(self, route, count, body):
        """The checks of an RPC call without arguments up to the token (see the module doc)
        -> (token, token info); None after answering. count(outcome) counts a refusal."""
        def fail_text(outcome, text):
            count(outcome)
            self.send_text(400, API_PREFIX % route + text)

        def fail_auth(tag):
            count(tag)
            self.auth_error(tag)

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
        return token, info

    def get_current_account(self, body):
        def count(outcome):
            self.st.stats.count("get_current_account", outcome)

        got = self.rpc_auth(ROUTE, count, body)
        if got is None:
            return
        _, info = got
        if SCOPE_ACCOUNT not in info["scopes"]:
            count("missing_scope")
            return self.auth_error("missing_scope", required_scope=SCOPE_ACCOUNT)
        count("ok")
        st = self.st
        self.send_json(200, {
            "account_id": st.account_id,
            "name": {"given_name": "Connector", "surname": "Engine",
                     "familiar_name": "Connector", "display_name": "Connector Engine",
                     "abbreviated_name": "CE"},
            "email": EMAIL,
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
        grant_type = None

        def fail(error, description):
            self.st.stats.count("oauth2_token", error)
            if grant_type in fake_oauth.GRANT_TYPES:
                self.st.flow.count(grant_type, error)
            self.send_json(400, {"error": error, "error_description": description})

        def issued(out):
            self.st.stats.count("oauth2_token", "ok", tokens_issued=1)
            self.st.flow.count(grant_type, "ok", issued=True)
            self.send_json(200, out)

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
            return self.code_grant(field, client_id, client_secret is not None, fail, issued)

        rt = field("refresh_token")
        if rt is None:
            return fail("invalid_request", 'missing required field "refresh_token"')
        if not REFRESH_RE.match(rt):
            return fail("invalid_grant", E_GRANT_MALFORMED)
        entry = self.st.refresh.get(rt)
        req_scope = field("scope")
        if entry is None:
            return self.flow_refresh(rt, client_id, req_scope, fail, issued)
        if entry["revoked"] or entry["app_key"] != client_id:
            return fail("invalid_grant", E_GRANT_REVOKED)
        scopes = entry["scopes"]
        if req_scope is not None:
            wanted = req_scope.split()
            bad = [s for s in wanted if s not in scopes]
            if not wanted or bad:
                return fail("invalid_scope", "The following scopes are not granted to the "
                            "refresh token: %s" % " ".join(bad or [req_scope]))
            scopes = wanted
        token = self.st.issue(scopes)
        out = {"access_token": token, "token_type": "bearer", "expires_in": TOKEN_LIFETIME}
        if req_scope is not None:
            out["scope"] = " ".join(scopes)
        issued(out)

    def flow_refresh(self, rt, client_id, req_scope, fail, issued):
        """grant_type=refresh_token with a refresh token of the authorization-code flow."""
        outcome, answer = self.st.flow.refresh(
            rt, client_id=client_id, scopes=None if req_scope is None else req_scope.split())
        if outcome == "invalid_scope":
            return fail("invalid_scope", "The following scopes are not granted to the refresh "
                        "token: %s" % " ".join(answer["not_granted"] or [req_scope]))
        if outcome != "ok":
            return fail("invalid_grant", E_GRANT_REVOKED)
        out = {"access_token": answer["access_token"], "token_type": "bearer",
               "expires_in": answer["expires_in"]}
        if "refresh_token" in answer:  # rotation on
            out["refresh_token"] = answer["refresh_token"]
        if req_scope is not None:
            out["scope"] = answer["scope"]
        issued(out)

    def code_grant(self, field, client_id, with_secret, fail, issued):
        """grant_type=authorization_code, the app already identified (and its secret, if sent,
        checked)."""
        code = field("code")
        if not code:
            return fail("invalid_request", 'missing required field "code"')
        outcome, answer = self.st.flow.redeem(
            code, client_id=client_id, redirect_uri=field("redirect_uri"),
            verifier=field("code_verifier") or None, client_authenticated=with_secret)
        if outcome == "client_unauthenticated":
            return fail("invalid_request", E_NO_AUTH_FN)
        if outcome == "redirect_uri_mismatch":
            return fail("invalid_grant", "redirect_uri mismatch")
        if outcome.startswith("verifier_"):
            return fail("invalid_grant", "invalid code verifier")
        if outcome != "ok":
            return fail("invalid_grant", E_CODE)
        out = {"access_token": answer["access_token"], "token_type": "bearer",
               "expires_in": answer["expires_in"]}
        if "refresh_token" in answer:
            out["refresh_token"] = answer["refresh_token"]
        out.update(scope=answer["scope"], uid=self.st.uid, account_id=self.st.account_id)
        issued(out)

    # ---- /2/auth/token/revoke

    def token_revoke(self, body):
        def count(outcome):
            self.st.flow.count("revoke", outcome)

        got = self.rpc_auth("auth/token/revoke", count, body)
        if got is None:
            return
        token, _ = got
        if self.st.flow.revoke(token) or self.st.revoke_issued(token):
            count("ok")
            return self.send(200, "null", "application/json")
        count("fixed_token")
        self.send_text(400, API_PREFIX % "auth/token/revoke" + "fake_dropbox: the run's fixed "
                       "access tokens are shared by all tests and cannot be revoked")

    # ---- /oauth2/authorize (consent)

    def authorize(self):
        """GET /oauth2/authorize: the consent page, or an error page (400, no redirect)."""
        st = self.st
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query,
                                            keep_blank_values=True)[::-1])  # first value wins

        def bad(error, message):
            st.flow.count("authorize", error)
            fake_oauth.send_html(self, 400, fake_oauth.error_page(PROVIDER, 400, error, message))

        problem = fake_oauth.authorize_problem(query, st.app_key)
        if problem:
            kind, message = problem
            return bad(AUTHORIZE_ERRORS[kind], message)
        access = query.get("token_access_type", "legacy")
        if access not in ("offline", "online", "legacy"):
            return bad("invalid_request", 'Invalid token_access_type: %s. Expected one of '
                       '"offline", "online", "legacy".' % json.dumps(access))
        scopes = list(dict.fromkeys(query.get("scope", "").split())) or list(APP_SCOPES)
        unknown = [sc for sc in scopes if sc not in APP_SCOPES]
        if unknown:
            return bad("invalid_scope", "Your app is not permitted to request these scopes: %s"
                       % " ".join(unknown))
        redirect_uri = query["redirect_uri"]
        rid = st.flow.begin(client_id=st.app_key, redirect_uri=redirect_uri, scopes=scopes,
                            state=query.get("state"), challenge=query.get("code_challenge"),
                            offline=access == "offline")
        st.flow.count("authorize", "ok")
        fake_oauth.send_html(self, 200, fake_oauth.consent_page(
            PROVIDER, client_id=st.app_key, app_name=APP_NAME, account=EMAIL,
            scopes=[(sc, SCOPE_TEXT.get(sc)) for sc in scopes], offline=access == "offline",
            redirect_uri=redirect_uri, action="/oauth2/authorize/decision", request_id=rid))

    def decision(self, body):
        """POST /oauth2/authorize/decision: Allow or Deny, then back to the redirect_uri."""
        def fields(req, code):
            if code is None:
                return [("error", "access_denied"), ("error_description", E_DENIED),
                        ("state", req["state"])]
            return [("code", code), ("state", req["state"])]

        fake_oauth.answer_decision(self, self.st.flow, PROVIDER, body, fields)


def main():
    p = fake_common.arg_parser(__doc__, "dropbox.json (0600) is written there")
    p.add_argument("--oauth-access-seconds", type=int, default=TOKEN_LIFETIME, metavar="N",
                   help="lifetime of the access tokens of the authorization-code flow "
                        "(default %d)" % TOKEN_LIFETIME)
    args = p.parse_args()
    if args.oauth_access_seconds < 1:
        p.error("--oauth-access-seconds must be 1 or more")
    setup = fake_common.credentials_setup(lambda: State(args.oauth_access_seconds), "dropbox.json")
    return fake_common.run_fake("fake_dropbox", args, Handler, setup)


if __name__ == "__main__":
    sys.exit(main())
