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

import argparse
import base64
import hashlib
import json
import os
import secrets
import signal
import string
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

T0 = time.monotonic()

ACCOUNT = "CE_TEST"
PW_USER = "PROBE_PW"
KEY_USER = "PROBE_KEY"
LOCKED_USER = "PROBE_LOCKED"
LOGIN_PATH = "/session/v1/login-request"
MAX_BODY = 1 << 20
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


def log(msg):
    print("fake_snowflake: %s" % msg, file=sys.stderr, flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True, help="TCP port (0 = pick a free one)")
    p.add_argument("--dir", required=True,
                   help="existing directory; snowflake.json (0600) is written there")
    p.add_argument("--max-seconds", type=float, default=4 * 3600,
                   help="exit by itself after this long (default 4 hours)")
    return p.parse_args()


def write_0600(path, text):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)
    os.replace(tmp, path)


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
        self.reset_stats()

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

    def reset_stats(self):
        with self.lock:
            self.stats = {"login_request": {"requests": 0, "outcomes": {}},
                          "other": {"requests": 0}}

    def count(self, outcome):
        with self.lock:
            e = self.stats["login_request"]
            e["requests"] += 1
            e["outcomes"][outcome] = e["outcomes"].get(outcome, 0) + 1

    def count_other(self):
        with self.lock:
            self.stats["other"]["requests"] += 1

    def snapshot(self):
        with self.lock:
            return json.loads(json.dumps(self.stats))

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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake_snowflake"
    sys_version = ""
    timeout = 120

    @property
    def st(self):
        return self.server.state

    def log_message(self, fmt, *args):
        sys.stderr.write("%s - - [%s] %s\n" % (self.address_string(), self.log_date_time_string(),
                                               fmt % args))

    def log_request(self, code="-", size="-"):
        self.log_message('"%s %s" %s', self.command, self.path.split("?", 1)[0], code)

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(n) if n else b""

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
            return self.send_json(200, self.st.snapshot())
        self.not_found()

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        try:
            body = self.read_body()
        except ValueError:
            self.close_connection = True
            if path == LOGIN_PATH:
                self.st.count("390400")
            return self.send_json(400, {"code": "390400", "message": M_BAD_REQUEST,
                                        "success": False})
        if path == LOGIN_PATH:
            return self.login(body)
        if path == "/_stats/reset":
            self.st.reset_stats()
            return self.send_json(200, {"reset": True})
        self.not_found()

    def not_found(self):
        self.st.count_other()
        self.send_json(404, {"data": None, "code": None, "message": "Not Found",
                             "success": False})

    def login(self, body):
        try:
            result = self.authenticate(body)
        except LoginError as e:
            self.st.count(e.code)
            if e.http == 200:
                return self.send_json(200, {"data": None, "code": e.code, "message": e.message,
                                            "success": False})
            return self.send_json(e.http, {"code": e.code, "message": e.message,
                                           "success": False})
        self.st.count("ok")
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


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    args = parse_args()
    if not os.path.isdir(args.dir):
        log("error: --dir %s is not a directory" % args.dir)
        return 1
    out_dir = os.path.abspath(args.dir)
    try:
        server = Server((args.host, args.port), Handler)
    except OSError as e:
        log("error: cannot listen on %s:%d: %s" % (args.host, args.port, e))
        return 1
    host, port = server.server_address[:2]
    base_url = "http://%s:%d" % (host, port)
    try:
        state = State()
        write_0600(os.path.join(out_dir, "snowflake.json"),
                   json.dumps(state.credentials(base_url), indent=2) + "\n")
    except Exception as e:  # noqa: BLE001 - report any setup failure and exit 1
        log("error: setup failed: %s: %s" % (type(e).__name__, e))
        server.server_close()
        return 1
    server.state = state

    stop = threading.Event()
    stop_reason = ["?"]

    def request_stop(reason):
        stop_reason[0] = reason
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: request_stop(signal.Signals(s).name))

    thread = threading.Thread(target=server.serve_forever, name="fake-snowflake", daemon=True)
    thread.start()
    print("fake_snowflake: ready %s dir=%s pid=%d (%.2f s after start)"
          % (base_url, out_dir, os.getpid(), time.monotonic() - T0), flush=True)

    if not stop.wait(args.max_seconds):
        stop_reason[0] = "max-seconds reached"
    log("stopping (%s)" % stop_reason[0])
    server.shutdown()
    thread.join(10)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
