"""The OAuth 2.0 authorization-code provider shared by fake_google.py and fake_dropbox.py
(RFC 6749 section 4.1, PKCE S256 per RFC 7636, revocation per RFC 7009): request checks, the
consent and error pages, and the store of pending consent requests, codes, refresh tokens and
access tokens (Flow).

How a flow goes through a fake:

  1. GET <authorize URL>: the fake checks the request with authorize_problem() (client id,
     loopback redirect_uri, response type, PKCE parameters), then its own scope and offline
     parameters, and answers a bad one with error_page() (400, never a redirect). A good one
     is recorded with Flow.begin(), which returns an unguessable request id, and answered with
     consent_page(): a form with the request id hidden in it and the buttons Allow (id
     "allow") and Deny (id "deny") that POSTs to <authorize URL>/decision.
  2. POST <authorize URL>/decision (request_id, decision=allow|deny), answer_decision():
     Flow.decide() consumes the request; Allow mints a code (single use, CODE_SECONDS, bound to
     the client, redirect_uri, PKCE challenge, scopes and offline access). The fake redirects
     (302) to the redirect_uri with the code or the provider's access_denied error.
  3. Token endpoint, grant_type=authorization_code: after authenticating the client the fake
     calls Flow.redeem(); grant_type=refresh_token with a token it does not know itself:
     Flow.refresh(). Both give (outcome, answer); the fake maps outcomes to its error shapes.
  4. API calls look tokens up with Flow.lookup(); revocation is Flow.revoke(). The test hook
     POST /_oauth/rotate is rotate_hook(); POST /_oauth/expire_codes is Flow.expire_codes().

Every consent that is allowed starts a grant: its code, its refresh tokens and every access
token issued from them. Revoking any of its tokens, reusing its code (RFC 6749 4.1.2) or, with
rotation on, reusing a refresh token already replaced (RFC 9700 4.14.2) revokes the whole
grant. Access tokens stay known for KEEP_SECONDS after they expire, so that a provider can tell
"expired" from "unknown". Nothing here logs; tokens and codes never reach a log line.

Standard library only.
"""

import base64
import hashlib
import html
import ipaddress
import json
import re
import secrets
import threading
import time
import urllib.parse

CODE_SECONDS = 60        # an authorization code must be redeemed within this
REQUEST_SECONDS = 900    # a consent page must be answered within this
KEEP_SECONDS = 3600      # expired access tokens and used codes are remembered this long

VERIFIER_RE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")   # RFC 7636 4.1
CHALLENGE_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")        # BASE64URL(SHA256) without padding


def s256(verifier):
    """The S256 code challenge of a verifier: BASE64URL(SHA256(ASCII(verifier))), no padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def redirect_uri_problem(uri):
    """None when uri is an absolute http(s) URL on a loopback host (127.0.0.0/8, ::1 or
    localhost) without user info or fragment; else what is wrong with it."""
    if not uri:
        return "Missing required parameter: redirect_uri"
    try:
        u = urllib.parse.urlsplit(uri)
        host = u.hostname
        u.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "redirect_uri is not a valid URL"
    if u.scheme not in ("http", "https") or not host:
        return "redirect_uri must be an absolute http or https URL"
    if u.username is not None or u.password is not None or u.fragment or "#" in uri:
        return "redirect_uri must not contain user info or a fragment"
    if host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return "redirect_uri must point at a loopback address (127.0.0.0/8, [::1] or localhost)"


def pkce_problem(challenge, method):
    """None when the PKCE parameters of an authorization request are acceptable (none at all,
    or an S256 challenge); else what is wrong with them."""
    if challenge is None:
        if method is not None:
            return "code_challenge_method was given without code_challenge"
        return None
    if method != "S256":
        return "code_challenge_method must be S256 (got %s)" % ("nothing, i.e. plain"
                                                               if method is None else method)
    if not CHALLENGE_RE.match(challenge):
        return "code_challenge must be 43 base64url characters (an S256 challenge)"
    return None


def authorize_problem(query, client_id):
    """The checks every provider makes on an authorization request (query: first value of each
    parameter), in this order: client_id given and known, redirect_uri, response_type=code,
    PKCE parameters. None, or (kind, message) with kind one of "client_id_missing",
    "client_unknown", "redirect_uri_missing", "redirect_uri", "response_type", "pkce"."""
    if not query.get("client_id"):
        return "client_id_missing", "Missing required parameter: client_id"
    if query["client_id"] != client_id:
        return "client_unknown", "The OAuth client was not found."
    redirect_uri = query.get("redirect_uri", "")
    problem = redirect_uri_problem(redirect_uri)
    if problem:
        return ("redirect_uri" if redirect_uri else "redirect_uri_missing"), problem
    response_type = query.get("response_type")
    if response_type != "code":
        return "response_type", ("Missing required parameter: response_type" if not response_type
                                  else "Unsupported response_type: %s (only code)" % response_type)
    problem = pkce_problem(query.get("code_challenge"), query.get("code_challenge_method"))
    if problem:
        return "pkce", problem
    return None


def add_query(uri, fields):
    """uri with the (name, value) pairs appended to its query (None values left out)."""
    extra = urllib.parse.urlencode([(k, v) for k, v in fields if v is not None])
    if not extra:
        return uri
    return uri + ("&" if urllib.parse.urlsplit(uri).query else ("" if uri.endswith("?") else "?")) \
        + extra


def parse_flag(text):
    """'true'/'1'/'on'/'yes' -> True, 'false'/'0'/'off'/'no' -> False, anything else None."""
    t = (text or "").strip().lower()
    if t in ("true", "1", "on", "yes"):
        return True
    if t in ("false", "0", "off", "no"):
        return False
    return None


# ------------------------------------------------------------------------------- pages

PAGE_CSS = """
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
 background:#f0f4f9;color:#1f1f1f;
 font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{background:#fff;border-radius:16px;box-shadow:0 1px 3px rgba(0,0,0,.12);
 padding:36px 40px;width:min(560px,94vw)}
.brand{display:flex;align-items:center;gap:10px;margin:0 0 20px;font-weight:600;color:%(color)s}
.brand .mark{width:28px;height:28px;border-radius:7px;background:%(color)s;color:#fff;
 display:inline-flex;align-items:center;justify-content:center;font-size:15px}
.tag{font-weight:400;font-size:12px;color:#5f6368;border:1px solid #dadce0;border-radius:10px;
 padding:1px 8px}
h1{font-size:22px;font-weight:500;margin:0 0 16px}
h2{font-size:15px;font-weight:500;margin:22px 0 8px}
.account{display:inline-flex;align-items:center;gap:8px;border:1px solid #dadce0;border-radius:16px;
 padding:3px 12px 3px 4px;margin:0 0 8px}
.avatar{width:24px;height:24px;border-radius:50%%;background:#7e57c2;color:#fff;font-size:13px;
 display:inline-flex;align-items:center;justify-content:center}
code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f1f3f4;border-radius:4px;
 padding:1px 5px;word-break:break-all}
ul.scopes{list-style:none;padding:0;margin:0;border-top:1px solid #e8eaed}
ul.scopes li{padding:10px 0;border-bottom:1px solid #e8eaed}
ul.scopes li span{display:block}
.muted{color:#5f6368;font-size:13px}
.buttons{display:flex;justify-content:flex-end;gap:12px;margin-top:28px}
button{font:inherit;font-weight:500;border-radius:20px;padding:9px 24px;cursor:pointer}
button.primary{background:%(color)s;color:#fff;border:1px solid %(color)s}
button.secondary{background:#fff;color:%(color)s;border:1px solid #dadce0}
.error h1{color:#b3261e}
"""


def _page(provider, title, body):
    css = PAGE_CSS % {"color": provider["color"]}
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n<main%s>\n"
            "<p class=\"brand\"><span class=\"mark\">%s</span>%s "
            "<span class=\"tag\">loopback test provider</span></p>\n%s</main>\n</body>\n</html>\n"
            % (html.escape(title), css, body[0], html.escape(provider["name"][0]),
               html.escape(provider["name"]), body[1]))


def consent_page(provider, *, client_id, app_name, account, scopes, offline, redirect_uri,
                 action, request_id):
    """The consent screen: who asks (app name, client id), for which account, the scopes (a list
    of (scope, description or None)), whether offline access is asked for, where the browser
    goes back to; a form POSTing request_id and decision=allow|deny to action."""
    e = html.escape
    items = "".join(
        "<li><span>%s</span><code>%s</code></li>\n" % (e(desc or scope), e(scope))
        if desc else "<li><code>%s</code></li>\n" % e(scope) for scope, desc in scopes)
    back = urllib.parse.urlsplit(redirect_uri)
    body = (
        "<h1>%s wants to access your %s account</h1>\n"
        "<p class=\"account\"><span class=\"avatar\">%s</span><span id=\"account\">%s</span></p>\n"
        "<p class=\"muted\">Client ID: <code id=\"client-id\">%s</code></p>\n"
        "<h2>This will allow %s to:</h2>\n<ul class=\"scopes\" id=\"scopes\">\n%s</ul>\n"
        "%s"
        "<p class=\"muted\">After you choose, you will be sent back to <code>%s</code>.</p>\n"
        "<form method=\"post\" action=\"%s\">\n"
        "<input type=\"hidden\" name=\"request_id\" value=\"%s\">\n"
        "<div class=\"buttons\">\n"
        "<button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\" "
        "class=\"secondary\">Deny</button>\n"
        "<button type=\"submit\" name=\"decision\" value=\"allow\" id=\"allow\" "
        "class=\"primary\">Allow</button>\n</div>\n</form>\n"
        % (e(app_name), e(provider["name"]), e(account[:1].upper()), e(account), e(client_id),
           e(app_name), items or "<li class=\"muted\">(no scopes named)</li>\n",
           "<p class=\"muted\">Offline access: the app may keep access when you are not using "
           "it (it gets a refresh token).</p>\n" if offline else "",
           e("%s://%s" % (back.scheme, back.netloc)), e(action), e(request_id)))
    return _page(provider, "%s - %s wants access" % (provider["name"], app_name), ("", body))


def error_page(provider, status, error, message):
    """The page a provider shows, instead of redirecting, when it cannot trust the request."""
    e = html.escape
    body = ("<h1>Access blocked: this request is not valid</h1>\n"
            "<p>The app that sent you here made a bad request. It cannot continue.</p>\n"
            "<h2>Error %d: <span id=\"error\">%s</span></h2>\n"
            "<p class=\"muted\">More details for developers: <span id=\"error-description\">%s"
            "</span></p>\n" % (status, e(error), e(message)))
    return _page(provider, "Error %d (%s) - %s" % (status, error, provider["name"]),
                 (" class=\"error\"", body))


def send_html(handler, code, text):
    """Answers an HTML page with headers that keep it out of caches and frames."""
    data = text.encode("utf-8")
    handler.send_response(code)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("Cache-Control", "no-store")
    handler.send_header("X-Frame-Options", "DENY")
    handler.send_header("Referrer-Policy", "no-referrer")
    handler.send_header("Content-Security-Policy",
                        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(data)


def send_redirect(handler, location):
    """302 to location (which carries a code or an error back to the client)."""
    handler.send_response(302)
    handler.send_header("Location", location)
    handler.send_header("Content-Length", "0")
    handler.send_header("Cache-Control", "no-store")
    handler.send_header("Referrer-Policy", "no-referrer")
    handler.end_headers()


def answer_decision(handler, flow, provider, body, fields):
    """POST <authorize URL>/decision (request_id, decision=allow|deny): consumes the request and
    redirects (302) to its redirect_uri with fields(request, code or None) appended; a 400 error
    page for an unknown, used or expired request."""
    form = form_fields(body, "")
    choice = form.get("decision")
    got = flow.decide(form.get("request_id"), choice == "allow") \
        if choice in ("allow", "deny") else None
    if got is None:
        flow.count("decision", "invalid_request")
        return send_html(handler, 400, error_page(
            provider, 400, "invalid_request", "This consent request is unknown, was already "
            "answered or has expired; start again from the app."))
    req, code = got
    flow.count("decision", choice)
    send_redirect(handler, add_query(req["redirect_uri"], fields(req, code)))


def rotate_hook(flow, body, path):
    """POST /_oauth/rotate [enabled=true|false] [refresh_token=T] (form or query) -> (status,
    JSON answer): rotation on, off, or toggled, for every grant or for the grant of T."""
    form = form_fields(body, path)
    enabled = parse_flag(form["enabled"]) if "enabled" in form else None
    if "enabled" in form and enabled is None:
        return 400, {"error": "enabled must be true or false"}
    token = form.get("refresh_token") or None
    value = flow.set_rotation(enabled, token)
    if value is None:
        return 404, {"error": "not a live refresh token of the flow"}
    return 200, {"rotate_refresh_tokens": value, "applies_to": "grant" if token else "all"}


def form_fields(body, path):
    """The first value of each field of a form-encoded body, then of the URL query (the body
    wins); {} for an undecodable body."""
    fields = {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    for source in (text, urllib.parse.urlsplit(path).query):
        for k, v in urllib.parse.parse_qsl(source, keep_blank_values=True):
            fields.setdefault(k, v)
    return fields


# ------------------------------------------------------------------------------- store

GRANT_TYPES = ("authorization_code", "refresh_token")


class Flow:
    """Pending consent requests, codes, grants and their tokens, for one provider; thread-safe.

    make_code / make_access / make_refresh return fresh random strings in the provider's
    formats; access_seconds is the lifetime of the access tokens issued here.
    """

    def __init__(self, *, access_seconds, make_code, make_access, make_refresh):
        self.access_seconds = access_seconds
        self._make_code, self._make_access, self._make_refresh = make_code, make_access, \
            make_refresh
        self._lock = threading.Lock()
        self.rotate = False   # default for grants without their own setting
        self._requests = {}   # request id -> request (dict)
        self._codes = {}      # code -> {"grant", "expires_at", "used"}
        self._grants = {}     # grant id -> grant (dict, see decide())
        self._refresh = {}    # refresh token (current or replaced) -> grant id
        self._access = {}     # access token -> {"grant", "expires_at", "scopes"}
        self.reset_stats()

    # ---- counters (GET /_stats shows snapshot() as "oauth_flow")

    def reset_stats(self):
        with self._lock:
            self._stats = {
                "authorize": {"requests": 0, "outcomes": {}},
                "decision": {"requests": 0, "outcomes": {}},
                "token": {g: {"requests": 0, "tokens_issued": 0, "outcomes": {}}
                          for g in GRANT_TYPES},
                "revoke": {"requests": 0, "outcomes": {}},
                "flows": {},
            }

    def count(self, section, outcome, issued=False):
        """One request to section ("authorize", "decision", "revoke", or a grant type under
        "token"), with its outcome ("ok" or the error)."""
        with self._lock:
            entry = self._stats["token"][section] if section in GRANT_TYPES \
                else self._stats[section]
            entry["requests"] += 1
            entry["outcomes"][outcome] = entry["outcomes"].get(outcome, 0) + 1
            if issued:
                entry["tokens_issued"] += 1

    def _count_flow(self, grant, counter):  # under the lock
        entry = self._stats["flows"].setdefault(grant["state"] or "", {
            "code_requests": 0, "refresh_requests": 0, "access_tokens_issued": 0,
            "refresh_tokens_issued": 0, "revoked": False})
        if counter == "revoked":
            entry["revoked"] = True
        else:
            entry[counter] += 1

    def snapshot(self):
        with self._lock:
            return json.loads(json.dumps(dict(self._stats, rotate_refresh_tokens=self.rotate)))

    # ---- consent

    def begin(self, *, client_id, redirect_uri, scopes, state, challenge, offline):
        """Records a checked authorization request; returns its id for the consent form."""
        rid = secrets.token_urlsafe(32)
        now = time.time()
        with self._lock:
            self._purge(now)
            self._requests[rid] = {"client_id": client_id, "redirect_uri": redirect_uri,
                                   "scopes": list(scopes), "state": state,
                                   "challenge": challenge, "offline": bool(offline),
                                   "expires_at": now + REQUEST_SECONDS}
        return rid

    def decide(self, request_id, allow):
        """Consumes a pending request: (request, code) when allowed, (request, None) when
        denied, None when the id is unknown, used or too old."""
        now = time.time()
        with self._lock:
            req = self._requests.pop(request_id or "", None)
            if req is None or req["expires_at"] <= now:
                return None
            if not allow:
                return req, None
            gid = secrets.token_hex(16)
            self._grants[gid] = dict(req, id=gid, refresh=None, rotate=None, revoked=False,
                                     access=set())
            code = self._make_code()
            self._codes[code] = {"grant": gid, "expires_at": now + CODE_SECONDS, "used": False}
            return req, code

    # ---- token endpoint

    def redeem(self, code, *, client_id, redirect_uri, verifier, client_authenticated=True):
        """grant_type=authorization_code for an authenticated client_id -> (outcome, answer).

        outcome: "ok" (answer: access_token, expires_in, scope, refresh_token when offline),
        "unknown_code", "expired_code", "reused_code" (the grant is now revoked),
        "client_mismatch", "redirect_uri_mismatch", "verifier_missing", "verifier_invalid",
        "verifier_mismatch", "verifier_unexpected" (a verifier for a code without challenge),
        "client_unauthenticated" (no secret and no PKCE). Only "ok" and "reused_code" use up
        the code; after a refusal for the client, redirect_uri or verifier it can still be
        redeemed.
        """
        now = time.time()
        with self._lock:
            self._purge(now)
            entry = self._codes.get(code or "")
            grant = self._grants.get(entry["grant"]) if entry else None
            if entry is None or grant is None:
                return "unknown_code", None
            self._count_flow(grant, "code_requests")
            if entry["used"]:
                self._revoke_grant(grant)
                return "reused_code", None
            if entry["expires_at"] <= now:
                return "expired_code", None
            if client_id != grant["client_id"]:
                return "client_mismatch", None
            if redirect_uri != grant["redirect_uri"]:
                return "redirect_uri_mismatch", None
            challenge = grant["challenge"]
            if challenge is None:
                if verifier is not None:
                    return "verifier_unexpected", None
                if not client_authenticated:
                    return "client_unauthenticated", None
            else:
                if verifier is None or verifier == "":
                    return "verifier_missing", None
                if not VERIFIER_RE.match(verifier):
                    return "verifier_invalid", None
                if not secrets.compare_digest(s256(verifier), challenge):
                    return "verifier_mismatch", None
            entry["used"] = True
            entry["expires_at"] = now  # kept KEEP_SECONDS more to recognise reuse
            answer = self._issue(grant, grant["scopes"], now)
            if grant["offline"]:
                answer["refresh_token"] = self._new_refresh(grant)
            return "ok", answer

    def refresh(self, token, *, client_id, scopes=None):
        """grant_type=refresh_token for a token of this flow -> (outcome, answer).

        outcome: "ok" (answer: access_token, expires_in, scope, and refresh_token when rotation
        is on for the grant: the old one is then replaced), "unknown", "revoked" (the grant was
        revoked, or the token was replaced by rotation: reusing it revokes the grant),
        "client_mismatch", "invalid_scope" (answer: {"not_granted": [scopes asked for that the
        grant does not have]}).
        """
        now = time.time()
        with self._lock:
            gid = self._refresh.get(token or "")
            grant = self._grants.get(gid) if gid else None
            if grant is None:
                return "unknown", None
            self._count_flow(grant, "refresh_requests")
            if grant["revoked"]:
                return "revoked", None
            if grant["refresh"] != token:  # replaced by rotation, used again
                self._revoke_grant(grant)
                return "revoked", None
            if client_id != grant["client_id"]:
                return "client_mismatch", None
            if scopes is not None:
                missing = [sc for sc in scopes if sc not in grant["scopes"]]
                if not scopes or missing:
                    return "invalid_scope", {"not_granted": missing}
            answer = self._issue(grant, grant["scopes"] if scopes is None else scopes, now)
            if self.rotate if grant["rotate"] is None else grant["rotate"]:
                answer["refresh_token"] = self._new_refresh(grant)
            return "ok", answer

    def _issue(self, grant, scopes, now):  # under the lock
        token = self._make_access()
        self._access[token] = {"grant": grant["id"], "expires_at": now + self.access_seconds,
                               "scopes": list(scopes)}
        grant["access"].add(token)
        self._count_flow(grant, "access_tokens_issued")
        return {"access_token": token, "expires_in": self.access_seconds,
                "scope": " ".join(scopes)}

    def _new_refresh(self, grant):  # under the lock
        token = self._make_refresh()
        self._refresh[token] = grant["id"]
        grant["refresh"] = token
        self._count_flow(grant, "refresh_tokens_issued")
        return token

    def _revoke_grant(self, grant):  # under the lock
        grant["revoked"] = True
        for token in grant["access"]:
            self._access.pop(token, None)
        grant["access"].clear()
        self._count_flow(grant, "revoked")

    # ---- APIs, revocation and test hooks

    def lookup(self, token):
        """{"expires_at", "scopes"} of an access token issued here (also for some time after
        it expired), None for an unknown or revoked one."""
        with self._lock:
            info = self._access.get(token or "")
            return None if info is None else {"expires_at": info["expires_at"],
                                              "scopes": list(info["scopes"])}

    def revoke(self, token):
        """Revokes the grant of a refresh or access token issued here (all of its tokens);
        False when the token is unknown or already revoked."""
        with self._lock:
            gid = self._refresh.get(token or "")
            if gid is None:
                info = self._access.get(token or "")
                gid = info["grant"] if info else None
            grant = self._grants.get(gid) if gid else None
            if grant is None or grant["revoked"]:
                return False
            self._revoke_grant(grant)
            return True

    def expire_access(self):
        """Makes every live access token issued here expired; returns how many."""
        with self._lock:
            n = 0
            for info in self._access.values():
                if info["expires_at"] > 0:
                    info["expires_at"] = 0
                    n += 1
            return n

    def expire_codes(self):
        """Makes every unredeemed code expired; returns how many."""
        with self._lock:
            n = 0
            for entry in self._codes.values():
                if not entry["used"] and entry["expires_at"] > 0:
                    entry["expires_at"] = 0
                    n += 1
            return n

    def set_rotation(self, enabled=None, refresh_token=None):
        """Turns refresh-token rotation on or off (enabled None: toggles it), for every grant
        without its own setting, or for the grant of refresh_token only. Returns the new
        setting, or None when refresh_token is not a live token of this flow."""
        with self._lock:
            if refresh_token is None:
                self.rotate = (not self.rotate) if enabled is None else enabled
                return self.rotate
            gid = self._refresh.get(refresh_token)
            grant = self._grants.get(gid) if gid else None
            if grant is None or grant["revoked"] or grant["refresh"] != refresh_token:
                return None
            current = self.rotate if grant["rotate"] is None else grant["rotate"]
            grant["rotate"] = (not current) if enabled is None else enabled
            return grant["rotate"]

    def _purge(self, now):  # under the lock: forget what can no longer matter
        for rid in [r for r, v in self._requests.items() if v["expires_at"] <= now]:
            del self._requests[rid]
        for code in [c for c, v in self._codes.items()
                     if v["expires_at"] <= now - KEEP_SECONDS]:
            del self._codes[code]
        for token in [t for t, v in self._access.items()
                      if v["expires_at"] <= now - KEEP_SECONDS]:
            gid = self._access.pop(token)["grant"]
            if gid in self._grants:
                self._grants[gid]["access"].discard(token)
