#!/usr/bin/env python3
"""Loopback stand-in for the Snowflake driver login endpoint (password and key-pair JWT
authentication), answering with the status codes and JSON bodies of the real service.

    python3 scripts/fake_snowflake.py --port PORT --dir DIR [--host 127.0.0.1] [--max-seconds N]

Python standard library (ThreadingHTTPServer) plus PyJWT and cryptography. At start it
generates random credentials and writes DIR/snowflake.json (mode 0600, atomically):

  account                   CE_TEST (ACCOUNT_NAME is compared upper-cased)
  base_url, login_url       http://HOST:PORT and .../session/v1/login-request
  password_user, password   PROBE_PW and its random password
  key_user                  PROBE_KEY, authenticates only with SNOWFLAKE_JWT
  private_key               PROBE_KEY's RSA private key (PKCS#8 PEM, unencrypted)
  public_key, public_key_fp its registered public key (SPKI PEM) and "SHA256:<base64>"
  other_private_key         an RSA key that is registered for nobody (fingerprint mismatch)
  other_public_key_fp       its fingerprint
  locked_user, locked_password  PROBE_LOCKED, a password user that is locked

then prints the line

    fake_snowflake: ready http://HOST:PORT ...

Endpoints (see shared/reference/protocols.md section 8):

  POST /session/v1/login-request[?anything]   body {"data": {...}} as the drivers send it
  GET  /_stats                                request counts per outcome (gs code or "ok")
  POST /_stats/reset                          zero the counters

Login checks, in this order:
  body not JSON / no "data" object / ACCOUNT_NAME or LOGIN_NAME missing
                                      -> HTTP 400 {"code":"390400","message":...,"success":false}
  ACCOUNT_NAME (upper-cased) is not CE_TEST
                                      -> HTTP 403 {"code":"390144","message":"Invalid account
                                         name or host.","success":false}
  everything below is HTTP 200 with {"data":null,"code":"<gs code>","message":...,"success":false}:
  AUTHENTICATOR other than absent/SNOWFLAKE/SNOWFLAKE_JWT    -> 390139
  password auth: unknown user, user without a password, wrong password -> 390100
                 locked user (password right or wrong)       -> 390102 (see LOCKED_CODE)
  key-pair auth: unknown user / user without a key / token not a JWT / alg not RS256 /
                 iss or sub not "<ACCOUNT>.<USER>[.SHA256:<fp>]" (upper-case) / bad signature /
                 iat, exp missing                            -> 390144 "JWT token is invalid."
                 fingerprint in iss is not the user's key    -> 394304
                 exp <= now                                  -> 394301 (expired)
                 iat or nbf more than 60 s in the future     -> 394302 (not yet valid)
                 exp more than 3600 s after iat              -> 394303
The 3943xx numbering follows protocols.md section 8.4 (394300..394306 = invalid / expired /
not yet valid / bad exp / fingerprint mismatch / bad alg / bad format).

Success: HTTP 200 {"data": {"token", "masterToken", "validityInSeconds": 3600,
"masterValidityInSeconds": 14400, "sessionId", "serverVersion": "8.0.0", "parameters": [...],
"sessionInfo": {...}}, "code": null, "message": null, "success": true}.

Requests are logged to stderr (method, path without query, status; never bodies). It serves
until SIGTERM/SIGINT/SIGHUP or --max-seconds.
"""

import base64
import hashlib
import json
import os
import secrets
import string
import sys
import threading
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))  # fake_common.py is next to us
import fake_common  # noqa: E402

ACCOUNT = "CE_TEST"
PW_USER = "PROBE_PW"
KEY_USER = "PROBE_KEY"
LOCKED_USER = "PROBE_LOCKED"
LOGIN_PATH = "/session/v1/login-request"
CLOCK_SKEW = 60
MAX_JWT_LIFETIME = 3600
SESSION_VALIDITY = 3600
MASTER_VALIDITY = 14400
SERVER_VERSION = "8.0.0"

M_BAD_REQUEST = "Bad request."
M_BAD_ACCOUNT = "Invalid account name or host."
M_INCORRECT = "Incorrect username or password was specified."
M_JWT_INVALID = "JWT token is invalid."
M_AUTHENTICATOR = ("The specified authenticator is not accepted by your Snowflake account "
                   "configuration.  Please contact your local system administrator to get the "
                   "correct URL to use.")
# The login-history code for a temporarily locked user as remembered (not verified from a
# primary source); the message is the current wording seen from the real service.
LOCKED_CODE = "390102"
M_LOCKED = ("Your user account has been temporarily locked due to too many failed attempts. "
            "Try again after 15 minutes or contact your account administrator for assistance.")


def rand_password(n=24):
    a = string.ascii_letters + string.digits
    return "".join(secrets.choice(a) for _ in range(n))


def fingerprint(public_key):
    """SHA256:<standard base64 of SHA-256 over the DER SubjectPublicKeyInfo> (Snowflake's fp)."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def new_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    pub_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return key, pem, pub_pem, fingerprint(key.public_key())


class LoginError(Exception):
    def __init__(self, code, message, http=200):
        super().__init__(message)
        self.code, self.message, self.http = code, message, http


class State:
    def __init__(self):
        self.lock = threading.Lock()
        key, self.private_key_pem, self.public_key_pem, self.key_fp = new_key()
        _, self.other_private_key_pem, _, self.other_key_fp = new_key()
        self.password = rand_password()
        self.locked_password = rand_password()
        # login name (upper) -> {"password": str|None, "public_key": key|None, "fp", "locked"}
        self.users = {
            PW_USER: {"password": self.password, "public_key": None, "fp": None,
                      "locked": False},
            KEY_USER: {"password": None, "public_key": key.public_key(), "fp": self.key_fp,
                       "locked": False},
            LOCKED_USER: {"password": self.locked_password, "public_key": None, "fp": None,
                          "locked": True},
        }
        self.next_session = 1
        self.stats = fake_common.Stats({"login_request": {"requests": 0, "outcomes": {}},
                                        "other": {"requests": 0}})

    def credentials(self, base_url):
        return {
            "account": ACCOUNT,
            "base_url": base_url,
            "login_url": base_url + LOGIN_PATH,
            "password_user": PW_USER,
            "password": self.password,
            "key_user": KEY_USER,
            "private_key": self.private_key_pem,
            "public_key": self.public_key_pem,
            "public_key_fp": self.key_fp,
            "other_private_key": self.other_private_key_pem,
            "other_public_key_fp": self.other_key_fp,
            "locked_user": LOCKED_USER,
            "locked_password": self.locked_password,
        }

    def session_id(self):
        with self.lock:
            n = self.next_session
            self.next_session += 1
            return n


def check_password(user, data):
    password = data.get("PASSWORD")
    if user is None or user["password"] is None or not isinstance(password, str):
        raise LoginError("390100", M_INCORRECT)
    ok = secrets.compare_digest(password.encode(), user["password"].encode())
    if user["locked"]:
        raise LoginError(LOCKED_CODE, M_LOCKED)
    if not ok:
        raise LoginError("390100", M_INCORRECT)


def check_jwt(account, login, user, data):
    token = data.get("TOKEN")
    invalid = LoginError("390144", M_JWT_INVALID)
    if user is None or user["public_key"] is None or not isinstance(token, str):
        raise invalid
    if user["locked"]:
        raise LoginError(LOCKED_CODE, M_LOCKED)
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise invalid
    if header.get("alg") != "RS256":
        raise invalid
    iss, sub = claims.get("iss"), claims.get("sub")
    prefix = "%s.%s" % (account, login)
    if sub != prefix or not isinstance(iss, str) or not iss.startswith(prefix + ".SHA256:"):
        raise invalid
    if iss[len(prefix) + 1:] != user["fp"]:
        raise LoginError("394304", M_JWT_INVALID)
    try:
        jwt.decode(token, user["public_key"], algorithms=["RS256"],
                   options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                            "verify_aud": False, "verify_iss": False})
    except jwt.PyJWTError:
        raise invalid
    iat, exp, nbf = claims.get("iat"), claims.get("exp"), claims.get("nbf")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (iat, exp)):
        raise invalid
    now = time.time()
    if exp <= now:
        raise LoginError("394301", M_JWT_INVALID)
    if iat > now + CLOCK_SKEW or (isinstance(nbf, (int, float)) and nbf > now + CLOCK_SKEW):
        raise LoginError("394302", M_JWT_INVALID)
    if exp - iat > MAX_JWT_LIFETIME:
        raise LoginError("394303", M_JWT_INVALID)


class Handler(fake_common.FakeHandler):
    server_version = "fake_snowflake"

    def send_json(self, code, obj):
        data = json.dumps(obj).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        if self.path.split("?", 1)[0] == "/_stats":
            return self.send_json(200, self.st.stats.snapshot())
        self.not_found()

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        try:
            body = self.read_body()
        except ValueError:
            self.close_connection = True
            if path == LOGIN_PATH:
                self.st.stats.count("login_request", "390400")
            return self.send_json(400, {"code": "390400", "message": M_BAD_REQUEST,
                                        "success": False})
        if path == LOGIN_PATH:
            return self.login(body)
        if path == "/_stats/reset":
            self.st.stats.reset()
            return self.send_json(200, {"reset": True})
        self.not_found()

    def not_found(self):
        self.st.stats.count("other")
        self.send_json(404, {"data": None, "code": None, "message": "Not Found",
                             "success": False})

    def login(self, body):
        try:
            result = self.authenticate(body)
        except LoginError as e:
            self.st.stats.count("login_request", e.code)
            if e.http == 200:
                return self.send_json(200, {"data": None, "code": e.code, "message": e.message,
                                            "success": False})
            return self.send_json(e.http, {"code": e.code, "message": e.message,
                                           "success": False})
        self.st.stats.count("login_request", "ok")
        self.send_json(200, {"data": result, "code": None, "message": None, "success": True})

    def authenticate(self, body):
        bad = LoginError("390400", M_BAD_REQUEST, http=400)
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise bad
        data = doc.get("data") if isinstance(doc, dict) else None
        if not isinstance(data, dict):
            raise bad
        account, login = data.get("ACCOUNT_NAME"), data.get("LOGIN_NAME")
        if not isinstance(account, str) or not isinstance(login, str) or not login:
            raise bad
        # The real service knows the account from the host name; here ACCOUNT_NAME decides.
        account = account.upper()
        if account != ACCOUNT:
            raise LoginError("390144", M_BAD_ACCOUNT, http=403)
        login = login.upper()  # login names are case-insensitive
        user = self.st.users.get(login)
        authenticator = data.get("AUTHENTICATOR")
        authenticator = authenticator.upper() if isinstance(authenticator, str) else None
        if authenticator in (None, "", "SNOWFLAKE"):
            check_password(user, data)
        elif authenticator == "SNOWFLAKE_JWT":
            check_jwt(account, login, user, data)
        else:
            raise LoginError("390139", M_AUTHENTICATOR)
        sid = self.st.session_id()
        return {
            "masterToken": "ver:1-hint:%d-%s" % (sid, secrets.token_urlsafe(48)),
            "token": "ver:1-hint:%d-%s" % (sid, secrets.token_urlsafe(48)),
            "validityInSeconds": SESSION_VALIDITY,
            "masterValidityInSeconds": MASTER_VALIDITY,
            "displayUserName": login,
            "serverVersion": SERVER_VERSION,
            "firstLogin": False,
            "remMeToken": None,
            "remMeValidityInSeconds": 0,
            "healthCheckInterval": 45,
            "newClientForUpgrade": None,
            "sessionId": sid,
            "parameters": [{"name": "TIMEZONE", "value": "America/Los_Angeles"},
                           {"name": "CLIENT_SESSION_KEEP_ALIVE", "value": False}],
            "sessionInfo": {"databaseName": None, "schemaName": None,
                            "warehouseName": None, "roleName": "PUBLIC"},
            "idToken": None,
            "idTokenValidityInSeconds": 0,
            "responseData": None,
            "mfaToken": None,
            "mfaTokenValidityInSeconds": 0,
        }


def main():
    args = fake_common.arg_parser(__doc__, "snowflake.json (0600) is written there").parse_args()
    setup = fake_common.credentials_setup(State, "snowflake.json")
    return fake_common.run_fake("fake_snowflake", args, Handler, setup)


if __name__ == "__main__":
    sys.exit(main())
