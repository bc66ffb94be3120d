"""Google's OAuth endpoints in the fake Google (fake_google.py): the token endpoint (JWT bearer
assertions of service accounts, refresh-token and authorization-code grants of the OAuth client,
with the client id and secret in the form), the consent page of the authorization-code flow
(scripts/fake_oauth.py does the common part), revocation, and the flow's rotation test hook.

Error answers have the shapes and texts of oauth2.googleapis.com and accounts.google.com (see
shared/reference/protocols.md sections 2, 3 and 7).
"""

import secrets
import time

import jwt  # PyJWT 2.x (with cryptography for RS256); scripts/deps.sh installs both

import fake_oauth
from fake_google_base import AUTH, FLOW_USER, TOKEN_LIFETIME, USER_EMAIL, USER_SCOPE, route, \
    valid_scope

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLOCK_SKEW = 300          # seconds of clock difference tolerated on iat/exp
MAX_ASSERTION_LIFETIME = 3600

AUTHORIZE_PATH = "/o/oauth2/v2/auth"
PROVIDER = {"name": "Google", "color": "#1a73e8"}
APP_NAME = "Connector Engine (test client)"
AUTHORIZE_ERRORS = {  # fake_oauth.authorize_problem() kinds -> the error Google's page names
    "client_id_missing": "invalid_request", "client_unknown": "invalid_client",
    "redirect_uri_missing": "invalid_request", "redirect_uri": "redirect_uri_mismatch",
    "response_type": "unsupported_response_type", "pkce": "invalid_request"}
SCOPE_TEXT = {
    AUTH + "drive": "See, edit, create, and delete all of your Google Drive files",
    AUTH + "drive.readonly": "See and download all your Google Drive files",
    AUTH + "userinfo.profile":
        "See your personal info, including any personal info you've made publicly available",
    AUTH + "userinfo.email": "See your primary Google Account email address",
    "openid": "Associate you with your personal info on Google",
    "email": "See your primary Google Account email address",
    "profile": "See your personal info, including any personal info you've made publicly "
               "available",
}

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


# ------------------------------------------------------------------------------- POST /token

class TokenAnswer:
    """Answers one token request and counts it: per service account or OAuth client (or as
    unidentified), and in the flow's counters for the grant types the flow has."""

    def __init__(self, handler, grant):
        self.h, self.st, self.grant = handler, handler.st, grant
        # (State.count_token section, key): set once the account or client is known
        self.counted_as = ("unidentified", None)

    def error(self, code, error, description):
        self.st.count_token(*self.counted_as, error=error)
        if self.grant in fake_oauth.GRANT_TYPES:
            self.st.flow.count(self.grant, error)
        self.h.send_json(code, {"error": error, "error_description": description})

    def client_token(self, answer):
        """A token issued to the OAuth client (refresh or code grant)."""
        self.st.count_token(*self.counted_as, issued=True)
        self.st.flow.count(self.grant, "ok", issued=True)
        self.h.send_json(200, dict(answer, token_type="Bearer"))


def token_endpoint(h, _match, _query, body):
    params = {}
    if h.headers.get("Content-Type", "").split(";")[0].strip().lower() == \
            "application/x-www-form-urlencoded":
        params = fake_oauth.form_fields(body, "")
    grant = params.get("grant_type", "")
    answer = TokenAnswer(h, grant)
    if grant == JWT_GRANT:
        jwt_grant(answer, params)
    elif grant == "refresh_token":
        refresh_grant(answer, params)
    elif grant == "authorization_code":
        code_grant(answer, params)
    else:
        answer.error(400, "unsupported_grant_type", "Invalid grant_type: %s" % grant)


def jwt_grant(answer, params):
    """A service account's RS256 assertion, checked in Google's order (first failure answers):
    decodable; `iss` a known account; signature by the key named by `kid` (any enabled key of
    the account without one); `aud` the token URL; iat/exp a short, current window; no `sub`;
    `scope` a list of Google scopes."""
    st = answer.st
    assertion = params.get("assertion", "")
    if not assertion:
        return answer.error(400, "invalid_request", "Missing required parameter: assertion")
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return answer.error(400, "invalid_grant", "Bad Request")
    iss = claims.get("iss")
    if not isinstance(iss, str) or "@" not in iss:
        return answer.error(400, "invalid_grant", E_NOT_EMAIL)
    account = st.accounts.get(iss)
    if account is None:
        return answer.error(400, "invalid_grant", E_ACCOUNT)
    answer.counted_as = ("service_accounts", iss)
    if not signed_by(assertion, header, account):
        return answer.error(400, "invalid_grant", E_SIGNATURE)
    if claims.get("aud") != st.token_url:
        return answer.error(400, "invalid_grant", E_AUDIENCE % st.token_url)
    if not current(claims.get("iat"), claims.get("exp")):
        return answer.error(400, "invalid_grant", E_TIMEFRAME)
    if "sub" in claims:  # domain-wide delegation: granted to no test account
        return answer.error(401, "unauthorized_client", E_UNAUTHORIZED_CLIENT)
    scope = claims.get("scope")
    scopes = scope.split() if isinstance(scope, str) else []
    if not scopes or not all(valid_scope(s) for s in scopes):
        return answer.error(400, "invalid_scope", E_SCOPE)
    token = st.issue(iss, scopes, "service_account", "ya29.c.")
    st.count_token(*answer.counted_as, issued=True)
    answer.h.send_json(200, {"access_token": token, "expires_in": TOKEN_LIFETIME,
                             "token_type": "Bearer"})


def signed_by(assertion, header, account):
    """RS256 only, with the key named by `kid`, or any enabled key when there is no `kid`."""
    kid = header.get("kid")
    if kid is not None:
        entry = account["keys"].get(kid)
        candidates = [entry[0]] if entry and entry[1] else []
    else:
        candidates = [pub for pub, enabled in account["keys"].values() if enabled]
    if header.get("alg") != "RS256":
        return False
    for pub in candidates:
        try:
            jwt.PyJWS().decode(assertion, pub, algorithms=["RS256"])
            return True
        except jwt.PyJWTError:
            pass
    return False


def current(iat, exp):
    """iat < exp <= iat + 3600, iat not in the future and exp not past (both give or take the
    clock skew)."""
    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    now = time.time()
    return (number(iat) and number(exp) and iat < exp and exp - iat <= MAX_ASSERTION_LIFETIME
            and iat <= now + CLOCK_SKEW and exp >= now - CLOCK_SKEW)


def client_authenticated(answer, params):
    """Checks the OAuth client id and secret of a refresh or code grant (form fields); False
    after answering 400 or 401."""
    oauth = answer.st.oauth
    client_id = params.get("client_id", "")
    if not client_id:
        answer.error(400, "invalid_request", "Could not determine client ID from request.")
        return False
    if client_id != oauth["client_id"]:
        answer.error(401, "invalid_client", "The OAuth client was not found.")
        return False
    answer.counted_as = ("oauth_clients", client_id)
    if params.get("client_secret") != oauth["client_secret"]:
        answer.error(401, "invalid_client", "Unauthorized")
        return False
    return True


def refresh_grant(answer, params):
    """The run's fixed refresh token (the user ce-user), its revoked one, or the flow's."""
    st, oauth = answer.st, answer.st.oauth
    if not client_authenticated(answer, params):
        return
    refresh = params.get("refresh_token", "")
    if not refresh:
        return answer.error(400, "invalid_request", "Missing required parameter: refresh_token")
    if secrets.compare_digest(refresh, oauth["revoked_refresh_token"]):
        return answer.error(400, "invalid_grant", E_REVOKED)
    if not secrets.compare_digest(refresh, oauth["refresh_token"]):
        outcome, issued = st.flow.refresh(refresh, client_id=oauth["client_id"])
        if outcome == "ok":
            return answer.client_token(issued)
        if outcome == "revoked":
            return answer.error(400, "invalid_grant", E_REVOKED)
        return answer.error(400, "invalid_grant", "Bad Request")
    token = st.issue(USER_EMAIL, [USER_SCOPE], "user", "ya29.a0")
    answer.client_token({"access_token": token, "expires_in": TOKEN_LIFETIME, "scope": USER_SCOPE})


def code_grant(answer, params):
    """A code of the consent flow, with its redirect_uri and PKCE verifier."""
    if not client_authenticated(answer, params):
        return
    code = params.get("code", "")
    if not code:
        return answer.error(400, "invalid_request", "Missing required parameter: code")
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri:
        return answer.error(400, "invalid_request", "Missing required parameter: redirect_uri")
    outcome, issued = answer.st.flow.redeem(
        code, client_id=answer.st.oauth["client_id"], redirect_uri=redirect_uri,
        verifier=params.get("code_verifier") or None)
    if outcome == "ok":
        return answer.client_token(issued)
    if outcome == "redirect_uri_mismatch":
        return answer.error(400, "redirect_uri_mismatch", "Bad Request")
    if outcome == "verifier_missing":
        return answer.error(400, "invalid_grant", "Missing code verifier.")
    if outcome.startswith("verifier_"):
        return answer.error(400, "invalid_grant", "Invalid code verifier.")
    if outcome == "unknown_code" and not code.startswith("4/"):
        return answer.error(400, "invalid_grant", "Malformed auth code.")
    answer.error(400, "invalid_grant", "Bad Request")  # unknown, expired or reused code


# ------------------------------------------------------------------------------- POST /revoke

def revoke(h, _match, _query, body):
    """POST /revoke token=T (form or query), as https://oauth2.googleapis.com/revoke: a flow
    token revokes its grant; an access token issued here is dropped."""
    st = h.st
    token = fake_oauth.form_fields(body, h.path).get("token", "")

    def answer(code, outcome, obj):
        st.flow.count("revoke", outcome)
        h.send_json(code, obj)

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


# ------------------------------------------------------------------------------- consent

def authorize(h, _match, query, _body):
    """GET /o/oauth2/v2/auth: the consent page for FLOW_USER, or an error page (400, no
    redirect)."""
    st = h.st

    def bad(error, message):
        st.flow.count("authorize", error)
        fake_oauth.send_html(h, 400, fake_oauth.error_page(PROVIDER, 400, error, message))

    problem = fake_oauth.authorize_problem(query, st.oauth["client_id"])
    if problem:
        kind, message = problem
        return bad(AUTHORIZE_ERRORS[kind], message)
    client_id, redirect_uri = query["client_id"], query["redirect_uri"]
    scopes = list(dict.fromkeys(query.get("scope", "").split()))
    if not scopes:
        return bad("invalid_request", "Missing required parameter: scope")
    unknown = [sc for sc in scopes if not valid_scope(sc)]
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
    fake_oauth.send_html(h, 200, fake_oauth.consent_page(
        PROVIDER, client_id=client_id, app_name=APP_NAME, account=FLOW_USER,
        scopes=[(sc, SCOPE_TEXT.get(sc)) for sc in scopes],
        offline=access_type == "offline", redirect_uri=redirect_uri,
        action=AUTHORIZE_PATH + "/decision", request_id=rid))


def decision(h, _match, _query, body):
    """POST /o/oauth2/v2/auth/decision: Allow or Deny, then back to the redirect_uri."""
    def fields(req, code):
        if code is None:
            return [("error", "access_denied"), ("state", req["state"])]
        return [("state", req["state"]), ("code", code), ("scope", " ".join(req["scopes"]))]

    fake_oauth.answer_decision(h, h.st.flow, PROVIDER, body, fields)


def rotate(h, _match, _query, body):
    """POST /_oauth/rotate [enabled=true|false] [refresh_token=...]: the flow's refresh-token
    rotation (test hook)."""
    h.send_json(*fake_oauth.rotate_hook(h.st.flow, body, h.path))


ROUTES = [
    route("POST", r"/token", token_endpoint),
    route("POST", r"/revoke", revoke),
    route("GET", AUTHORIZE_PATH, authorize),
    route("POST", AUTHORIZE_PATH + "/decision", decision),
    route("POST", r"/_oauth/rotate", rotate),
]


def flow_urls(base_url):
    """The flow's URLs for fake_google.json."""
    return {"authorize_url": base_url + AUTHORIZE_PATH, "revoke_url": base_url + "/revoke",
            "user_email": FLOW_USER}

