#!/usr/bin/env python3
"""Self-test of scripts/services.sh (stdlib only, plus the psql and mariadb clients).

    eval "$(scripts/services.sh env)" && scripts/check_services.py

Checks that every service and fixture behaves as the connector tests expect:
TLS verification outcomes, the SQLSTATEs / MariaDB error numbers of each
failure, the servers without TLS, Redis, the misbehaving listeners, and the
OAuth authorization-code flow of the fake Google and Dropbox end to end
(consent page, Allow / Deny, code exchange with PKCE, API calls, code reuse,
wrong verifier / redirect_uri / secret, refresh, rotation, revocation), with
urllib. PostgreSQL SQLSTATEs are read with a minimal protocol-3 client
(SCRAM-SHA-256, no TLS), because libpq does not expose the SQLSTATE of a
failed connection; Redis is spoken to with a minimal RESP2 client (passwords
stay off command lines). Exit status 0 when every check passes.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import select
import socket
import ssl
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

E = os.environ
RESULTS = []


def check(name, ok, detail=""):
    RESULTS.append(ok)
    print("%s  %s%s" % ("PASS" if ok else "FAIL", name, ("  -- " + detail) if detail else ""))


def need(var):
    if var not in E:
        sys.exit('%s is not set; run: eval "$(scripts/services.sh env)"' % var)
    return E[var]


# ---------------------------------------------------------------- PostgreSQL wire protocol

def pg_sqlstate(port, user, password, database, timeout=10):
    """Returns 'OK' on a successful login, else the SQLSTATE of the ErrorResponse."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        params = b"user\0" + user.encode() + b"\0database\0" + database.encode() + b"\0\0"
        s.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
        buf = b""

        def read_msg():
            nonlocal buf
            while True:
                if len(buf) >= 5:
                    t, n = buf[:1], struct.unpack("!i", buf[1:5])[0]
                    if len(buf) >= 1 + n:
                        body, buf = buf[5 : 1 + n], buf[1 + n :]
                        return t, body
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("server closed the connection")
                buf += chunk

        nonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = "n=,r=" + nonce
        salted = auth_msg = None
        while True:
            t, body = read_msg()
            if t == b"E":
                fields = dict((f[:1], f[1:].decode()) for f in body.split(b"\0") if f)
                return fields.get(b"C", "?")
            if t == b"Z":
                return "OK"
            if t != b"R":
                continue
            code = struct.unpack("!i", body[:4])[0]
            if code == 10:  # SASL
                data = ("n,," + first_bare).encode()
                payload = b"SCRAM-SHA-256\0" + struct.pack("!i", len(data)) + data
                s.sendall(b"p" + struct.pack("!i", 4 + len(payload)) + payload)
            elif code == 11:  # SASLContinue
                server_first = body[4:].decode()
                attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
                salted = hashlib.pbkdf2_hmac(
                    "sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"])
                )
                final_wo_proof = "c=biws,r=" + attrs["r"]
                auth_msg = ",".join([first_bare, server_first, final_wo_proof]).encode()
                client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
                stored_key = hashlib.sha256(client_key).digest()
                sig = hmac.new(stored_key, auth_msg, hashlib.sha256).digest()
                proof = bytes(a ^ b for a, b in zip(client_key, sig))
                final = (final_wo_proof + ",p=" + base64.b64encode(proof).decode()).encode()
                s.sendall(b"p" + struct.pack("!i", 4 + len(final)) + final)
            elif code in (0, 12):
                pass
            else:
                return "unexpected auth request %d" % code
    finally:
        s.close()


# ---------------------------------------------------------------- Redis (RESP2)

def redis_session(port, commands, tls_ca=None, host="127.0.0.1", timeout=5):
    """Sends each command (a list of strings) in turn; returns the replies, errors as '-CODE ...'
    strings. A TLS failure is returned as the string 'TLS: <reason>'."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if tls_ca:
            ctx = ssl.create_default_context(cafile=tls_ca)
            try:
                s = ctx.wrap_socket(s, server_hostname=host)
            except ssl.SSLError as e:
                return ["TLS: %s" % e.reason]
        f = s.makefile("rb")

        def read():
            line = f.readline().rstrip(b"\r\n").decode()
            kind, rest = line[:1], line[1:]
            if kind == "$":
                n = int(rest)
                return None if n < 0 else f.read(n + 2)[:-2].decode()
            if kind == "*":
                n = int(rest)
                return None if n < 0 else [read() for _ in range(n)]
            if kind == ":":
                return int(rest)
            return line if kind == "-" else rest

        replies = []
        for command in commands:
            data = "*%d\r\n" % len(command) + "".join("$%d\r\n%s\r\n" % (len(a.encode()), a) for a in command)
            s.sendall(data.encode())
            replies.append(read())
        return replies
    finally:
        s.close()


# ---------------------------------------------------------------- helpers

def run(cmd, env=None, timeout=30):
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout + p.stderr, time.monotonic() - t0
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") + (e.stderr or b"").decode(errors="replace")
        return None, out, time.monotonic() - t0


def psql(conninfo, sql="select 1", password=None, extra_env=None):
    env = {k: v for k, v in E.items() if not k.startswith("PG")}
    env["PGCONNECT_TIMEOUT"] = "5"
    if password is not None:
        env["PGPASSWORD"] = password
    env.update(extra_env or {})
    return run(["psql", "-X", "-At", conninfo, "-c", sql], env=env)


def mariadb(port, user, password, db=None, args=(), sql="select 1", host="127.0.0.1", timeout=30):
    cmd = ["mariadb", "--no-defaults", "--protocol=TCP", "--connect-timeout=5", "-h", host,
           "-P", str(port), "-u", user, "-N", "-B"] + list(args) + ["-e", sql]
    if db:
        cmd.append(db)
    env = dict(E)
    env["MYSQL_PWD"] = password
    return run(cmd, env=env, timeout=timeout)


def mariadb_errno(out):
    m = re.search(r"ERROR (\d+)", out)
    return int(m.group(1)) if m else None


def nb_connect(port, wait):
    """'connected', 'refused', or 'pending' (not completed within `wait` seconds)."""
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect_ex(("127.0.0.1", port))
        _, w, _ = select.select([], [s], [], wait)
        if not w:
            return "pending"
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        return "connected" if err == 0 else os.strerror(err)
    finally:
        s.close()


def recv_for(port, seconds, send=b""):
    s = socket.create_connection(("127.0.0.1", port), timeout=seconds)
    data = b""
    try:
        if send:
            s.sendall(send)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            s.settimeout(max(0.01, end - time.monotonic()))
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    return data


# ---------------------------------------------------------------- OAuth authorization-code flow

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a 3xx comes back as an HTTPError, Location unfollowed


_HTTP = urllib.request.build_opener(_NoRedirect)
REDIRECT = "http://127.0.0.1:9/cb"  # never contacted: the redirect is only read


def http(method, url, form=None, headers=None):
    """(status, headers, body text) of one request; redirects are not followed."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _HTTP.open(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode("utf-8", "replace")


def as_json(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


def pkce_pair():
    verifier = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def oauth_providers():
    """What differs between the two fakes, for oauth_checks()."""
    g_id, g_secret = need("CE_GOOGLE_OAUTH_CLIENT_ID"), need("CE_GOOGLE_OAUTH_CLIENT_SECRET")
    g_api = need("CE_GOOGLE_API_URL")
    g_scope = "https://www.googleapis.com/auth/drive https://www.googleapis.com/auth/userinfo.profile"
    d_key, d_secret, d_url = need("CE_DROPBOX_APP_KEY"), need("CE_DROPBOX_APP_SECRET"), need("CE_DROPBOX_URL")

    def bearer(token):
        return {"Authorization": "Bearer " + token}

    google = {
        "name": "google", "client_id": g_id, "secret": g_secret, "base": g_api,
        "account": need("CE_GOOGLE_OAUTH_FLOW_USER"),
        "authorize": need("CE_GOOGLE_AUTHORIZE_URL"), "token": need("CE_GOOGLE_TOKEN_URL"),
        "params": lambda offline: {"scope": g_scope, "access_type": "offline" if offline else "online",
                                   "prompt": "consent", "include_granted_scopes": "true"},
        "api": lambda t: http("GET", g_api + "/drive/v3/about?fields=user", headers=bearer(t)),
        "api_ok": lambda body: (as_json(body) or {}).get("user", {}).get("emailAddress")
                               == E["CE_GOOGLE_OAUTH_FLOW_USER"],
        "revoke": lambda t: http("POST", need("CE_GOOGLE_REVOKE_URL"), {"token": t}),
        "revoke_ok": lambda st, body: st == 200 and as_json(body) == {},
        "revoke_again_ok": lambda st, body: st == 400 and (as_json(body) or {}).get("error") == "invalid_token",
        "bad_client": (401, "invalid_client"),
        "redirect_mismatch": ("redirect_uri_mismatch", "Bad Request"),
        "fixed_refresh": E.get("CE_GOOGLE_OAUTH_REFRESH_TOKEN"),
        "fixed_revoked_refresh": E.get("CE_GOOGLE_OAUTH_REVOKED_REFRESH_TOKEN"),
    }
    dropbox = {
        "name": "dropbox", "client_id": d_key, "secret": d_secret, "base": d_url, "account": "ce-user@example.com",
        "authorize": need("CE_DROPBOX_AUTHORIZE_URL"), "token": need("CE_DROPBOX_TOKEN_URL"),
        "params": lambda offline: {"token_access_type": "offline" if offline else "online"},
        "api": lambda t: http("POST", d_url + "/2/users/get_current_account", headers=bearer(t)),
        "api_ok": lambda body: "account_id" in (as_json(body) or {}),
        # revocation is by the access token (its grant goes with it)
        "revoke": lambda t: http("POST", need("CE_DROPBOX_REVOKE_URL"), headers=bearer(t)),
        "revoke_ok": lambda st, body: st == 200 and body == "null",
        "revoke_again_ok": lambda st, body: st == 401 and
            ((as_json(body) or {}).get("error") or {}).get(".tag") == "invalid_access_token",
        "bad_client": (400, "invalid_client"),
        "redirect_mismatch": ("invalid_grant", "redirect_uri mismatch"),
        "fixed_refresh": E.get("CE_DROPBOX_REFRESH_TOKEN"),
        "fixed_revoked_refresh": E.get("CE_DROPBOX_REVOKED_REFRESH_TOKEN"),
    }
    return google, dropbox


def authorize_url(p, state, challenge, offline=True, **override):
    q = {"client_id": p["client_id"], "redirect_uri": REDIRECT, "response_type": "code", "state": state}
    if challenge is not None:
        q.update(code_challenge=challenge, code_challenge_method="S256")
    q.update(p["params"](offline))
    q.update(override)
    return p["authorize"] + "?" + urllib.parse.urlencode({k: v for k, v in q.items() if v is not None})


def consent(p, decision="allow", offline=True, pkce=True):
    """Consent page, then the decision: {"state", "verifier", "page_status", "page", "status",
    "location", "query"} (query: the redirect's parameters)."""
    state = secrets.token_urlsafe(12)
    verifier, challenge = pkce_pair() if pkce else (None, None)
    st, _, page = http("GET", authorize_url(p, state, challenge, offline))
    out = {"state": state, "verifier": verifier, "page_status": st, "page": page, "status": None,
           "location": "", "query": {}}
    m = re.search(r'name="request_id" value="([^"]+)"', page)
    if st == 200 and m:
        st, headers, _ = http("POST", p["authorize"] + "/decision",
                              {"request_id": m.group(1), "decision": decision})
        out["status"], out["location"] = st, headers.get("Location") or ""
        out["query"] = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(out["location"]).query))
    return out


def exchange(p, code, verifier, redirect_uri=REDIRECT, secret=True, basic=False):
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        form["code_verifier"] = verifier
    headers = {}
    if basic:
        cred = "%s:%s" % (p["client_id"], p["secret"] if secret is True else secret)
        headers["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
    else:
        form["client_id"] = p["client_id"]
        if secret:
            form["client_secret"] = p["secret"] if secret is True else secret
    st, _, body = http("POST", p["token"], form, headers)
    return st, as_json(body) or {}


def refresh(p, token):
    st, _, body = http("POST", p["token"], {"grant_type": "refresh_token", "refresh_token": token,
                                            "client_id": p["client_id"], "client_secret": p["secret"]})
    return st, as_json(body) or {}


def oauth_checks(p):
    name = "oauth " + p["name"] + ": "

    def err(answer):
        return "%s/%s" % (answer[0], answer[1].get("error"))

    # the consent page
    f = consent(p)
    page = f["page"]
    check(name + "consent page: 200 HTML with Allow/Deny, client id, account, request id",
          f["page_status"] == 200 and 'id="allow"' in page and 'id="deny"' in page
          and p["client_id"] in page and p["account"] in page and "<title>" in page,
          "status %s" % f["page_status"])
    code, query = f["query"].get("code"), f["query"]
    check(name + "Allow -> 302 to redirect_uri with code and state",
          f["status"] == 302 and f["location"].startswith(REDIRECT + "?") and bool(code)
          and query.get("state") == f["state"], "%s %s" % (f["status"], f["location"][:40]))
    if p["name"] == "google":
        check(name + "Allow redirect carries the scope", query.get("scope") == p["params"](True)["scope"],
              query.get("scope", ""))

    # requests that must not redirect
    for what, override in [("unknown client_id", {"client_id": "nope"}),
                           ("redirect_uri not loopback", {"redirect_uri": "http://example.com/cb"}),
                           ("redirect_uri with fragment", {"redirect_uri": REDIRECT + "#x"}),
                           ("response_type=token", {"response_type": "token"}),
                           ("code_challenge_method=plain", {"code_challenge_method": "plain"})]:
        st, headers, body = http("GET", authorize_url(p, "s", pkce_pair()[1], **override))
        check(name + what + " -> 400 HTML error page, no redirect",
              st == 400 and not headers.get("Location") and "text/html" in (headers.get("Content-Type") or ""),
              str(st))
    for host in ("localhost", "[::1]", "127.1.2.3"):
        st, _, _ = http("GET", authorize_url(p, "s", pkce_pair()[1], redirect_uri="http://%s:8/cb" % host))
        check(name + "redirect_uri on %s accepted" % host, st == 200, str(st))

    # the code exchange
    ans = exchange(p, code, "x" * 43)
    check(name + "wrong verifier -> 400 invalid_grant", err(ans) == "400/invalid_grant", err(ans))
    ans = exchange(p, code, None)
    check(name + "missing verifier -> 400 invalid_grant", err(ans) == "400/invalid_grant", err(ans))
    ans = exchange(p, code, f["verifier"], redirect_uri=REDIRECT + "x")
    check(name + "other redirect_uri -> 400 %s (%s)" % p["redirect_mismatch"],
          (ans[0], ans[1].get("error"), ans[1].get("error_description")) == (400,) + p["redirect_mismatch"],
          "%s %s" % (err(ans), ans[1].get("error_description")))
    ans = exchange(p, code, f["verifier"], secret="wrong")
    check(name + "wrong client secret -> %d %s" % p["bad_client"], err(ans) == "%d/%s" % p["bad_client"], err(ans))
    st, tok = exchange(p, code, f["verifier"], basic=p["name"] == "dropbox")
    shape = st == 200 and tok.get("access_token") and tok.get("refresh_token") and tok.get("expires_in", 0) > 0 \
        and (tok.get("token_type") or "").lower() == "bearer" and tok.get("scope")
    if p["name"] == "dropbox":
        shape = shape and tok["access_token"].startswith("sl.") and tok.get("uid") and tok.get("account_id")
    check(name + "right verifier -> 200 access + refresh token (after the refusals)", bool(shape),
          "%s %s" % (st, sorted(tok)))
    access = tok.get("access_token", "")
    st, _, body = p["api"](access)
    check(name + "API accepts the flow's access token", st == 200 and p["api_ok"](body), str(st))
    ans = exchange(p, code, f["verifier"])
    check(name + "code reused -> 400 invalid_grant", err(ans) == "400/invalid_grant", err(ans))
    st, _, _ = p["api"](access)
    check(name + "code reuse revoked the first access token (API 401)", st == 401, str(st))
    ans = refresh(p, tok.get("refresh_token", ""))
    check(name + "code reuse revoked the refresh token", err(ans) == "400/invalid_grant", err(ans))

    # Deny, online access, no PKCE
    f = consent(p, decision="deny")
    check(name + "Deny -> 302 error=access_denied with state, no code",
          f["status"] == 302 and f["query"].get("error") == "access_denied" and "code" not in f["query"]
          and f["query"].get("state") == f["state"]
          and (p["name"] != "dropbox" or bool(f["query"].get("error_description"))), f["location"][:80])
    f = consent(p, offline=False)
    st, tok = exchange(p, f["query"].get("code"), f["verifier"])
    check(name + "online access -> no refresh token", st == 200 and "refresh_token" not in tok, str(st))
    f = consent(p, pkce=False)
    if p["name"] == "dropbox":
        ans = exchange(p, f["query"].get("code"), None, secret=False)
        check(name + "no PKCE and no secret -> 400 invalid_request", err(ans) == "400/invalid_request", err(ans))
    st, tok = exchange(p, f["query"].get("code"), None)
    check(name + "without PKCE, with the secret -> 200", st == 200, str(st))
    if p["name"] == "dropbox":
        f = consent(p)
        st, tok = exchange(p, f["query"].get("code"), f["verifier"], secret=False)
        check(name + "PKCE without secret (public client) -> 200", st == 200 and "refresh_token" in tok, str(st))

    # refresh, then rotation for this grant only
    f = consent(p)
    st, tok = exchange(p, f["query"].get("code"), f["verifier"])
    rt = tok.get("refresh_token", "")
    refreshes = 0
    st, new = refresh(p, rt)
    refreshes += 1
    check(name + "refresh -> new access token, no new refresh token",
          st == 200 and new.get("access_token") not in (None, tok.get("access_token")) and "refresh_token" not in new,
          "%s %s" % (st, sorted(new)))
    st, _, body = p["api"](new.get("access_token", ""))
    check(name + "API accepts the refreshed access token", st == 200 and p["api_ok"](body), str(st))
    st, _, body = http("POST", p["base"] + "/_oauth/rotate", {"enabled": "true", "refresh_token": rt})
    check(name + "POST /_oauth/rotate enabled=true for one grant",
          st == 200 and as_json(body) == {"rotate_refresh_tokens": True, "applies_to": "grant"},
          json.dumps(as_json(body)))
    st, rot = refresh(p, rt)
    refreshes += 1
    rt2 = rot.get("refresh_token")
    check(name + "rotation on: refresh -> new refresh token", st == 200 and rt2 not in (None, rt), str(st))
    st, rot3 = refresh(p, rt2 or "")
    refreshes += 1
    check(name + "rotation on: the new refresh token works (and rotates)",
          st == 200 and rot3.get("refresh_token") not in (None, rt2), str(st))
    ans = refresh(p, rt)
    refreshes += 1
    check(name + "rotation on: the replaced refresh token is refused (invalid_grant)",
          err(ans) == "400/invalid_grant", err(ans))
    ans = refresh(p, rot3.get("refresh_token", ""))
    refreshes += 1
    check(name + "reusing a replaced refresh token revoked the grant", err(ans) == "400/invalid_grant", err(ans))
    st, _, body = http("GET", p["base"] + "/_stats")
    flow = ((as_json(body) or {}).get("oauth_flow") or {}).get("flows", {}).get(f["state"], {})
    check(name + "/_stats counts this flow's token requests (by state)",
          flow.get("code_requests") == 1 and flow.get("refresh_requests") == refreshes
          and flow.get("access_tokens_issued") == 4 and flow.get("revoked") is True, json.dumps(flow))

    # revocation
    f = consent(p)
    st, tok = exchange(p, f["query"].get("code"), f["verifier"])
    access, rt = tok.get("access_token", ""), tok.get("refresh_token", "")
    st, _, body = p["revoke"](rt if p["name"] == "google" else access)
    check(name + "revoke -> 200", p["revoke_ok"](st, body), "%s %s" % (st, json.dumps(as_json(body))[:80]))
    st, _, _ = p["api"](access)
    check(name + "revoked: API refuses the access token (401)", st == 401, str(st))
    ans = refresh(p, rt)
    check(name + "revoked: refresh token refused (invalid_grant)", err(ans) == "400/invalid_grant", err(ans))
    st, _, body = p["revoke"](rt if p["name"] == "google" else access)
    check(name + "revoking again -> refused", p["revoke_again_ok"](st, body),
          "%s %s" % (st, json.dumps(as_json(body))[:80]))

    # the run's fixed refresh tokens behave as before
    if p["fixed_refresh"]:
        st, tok = refresh(p, p["fixed_refresh"])
        check(name + "fixed refresh token still refreshes", st == 200 and "access_token" in tok, str(st))
    if p["fixed_revoked_refresh"]:
        ans = refresh(p, p["fixed_revoked_refresh"])
        check(name + "fixed revoked refresh token still refused", err(ans) == "400/invalid_grant", err(ans))


# ---------------------------------------------------------------- checks

def main():
    ca = need("CE_TLS_CA_FILE")
    other_ca = E.get("CE_TLS_OTHER_CA_FILE")
    pg, pg_plain = int(need("CE_PG_PORT")), int(need("CE_PG_PLAIN_PORT"))
    pg_user, pg_pw, pg_db = need("CE_PG_USER"), need("CE_PG_PASSWORD"), need("CE_PG_DATABASE")
    my, my_plain = int(need("CE_MARIADB_PORT")), int(need("CE_MARIADB_PLAIN_PORT"))
    my_user, my_pw, my_db = need("CE_MARIADB_USER"), need("CE_MARIADB_PASSWORD"), need("CE_MARIADB_DATABASE")

    assert need("CE_TLS_CA_PEM").strip() == open(ca).read().strip(), "CE_TLS_CA_PEM != CA file"
    check("CE_TLS_CA_PEM matches CE_TLS_CA_FILE and keeps its newlines", E["CE_TLS_CA_PEM"].count("\n") > 5)
    check("CE_TLS_OTHER_CA_PEM is a different certificate",
          "BEGIN CERTIFICATE" in need("CE_TLS_OTHER_CA_PEM") and E["CE_TLS_OTHER_CA_PEM"] != E["CE_TLS_CA_PEM"])

    # --- PostgreSQL (TLS cluster)
    base = "port=%d user=%s dbname=%s sslrootcert=%s" % (pg, pg_user, pg_db, ca)
    rc, out, _ = psql("host=localhost sslmode=verify-full " + base,
                      "select ssl from pg_stat_ssl where pid = pg_backend_pid()", pg_pw)
    check("pg: verify-full host=localhost connects over TLS", rc == 0 and out.strip() == "t", out.strip())
    rc, out, _ = psql("host=127.0.0.1 sslmode=verify-full " + base, password=pg_pw)
    check("pg: verify-full host=127.0.0.1 fails host-name verification",
          rc != 0 and "does not match host name" in out, out.strip())
    if other_ca:
        rc, out, _ = psql("host=localhost sslmode=verify-full port=%d user=%s dbname=%s sslrootcert=%s"
                          % (pg, pg_user, pg_db, other_ca), password=pg_pw)
        check("pg: verify-full with the other CA fails", rc != 0 and "certificate verify failed" in out, out.strip())
    rc, out, _ = psql("host=127.0.0.1 sslmode=require " + base, password=pg_pw)
    check("pg: sslmode=require with host=127.0.0.1 connects", rc == 0, out.strip())

    st = pg_sqlstate(pg, pg_user, pg_pw, pg_db)
    check("pg: probe/password -> OK (wire)", st == "OK", st)
    st = pg_sqlstate(pg, pg_user, "wrong-" + pg_pw, pg_db)
    check("pg: wrong password -> 28P01", st == "28P01", st)
    st = pg_sqlstate(pg, "no_such_role", "x", pg_db)
    check("pg: unknown role -> 28P01", st == "28P01", st)
    st = pg_sqlstate(pg, need("CE_PG_NOCONNECT_USER"), need("CE_PG_NOCONNECT_PASSWORD"), pg_db)
    check("pg: probe_noconnect -> 42501", st == "42501", st)
    st = pg_sqlstate(pg, pg_user, pg_pw, need("CE_PG_SEALED_DATABASE"))
    check("pg: probe -> sealed database -> 42501", st == "42501", st)
    st = pg_sqlstate(pg, pg_user, pg_pw, E.get("CE_PG_MISSING_DATABASE", "probe_missing"))
    check("pg: missing database -> 3D000", st == "3D000", st)
    rc, out, _ = psql("host=localhost sslmode=verify-full " + base,
                      "select has_schema_privilege('%s','USAGE'), has_schema_privilege('%s','USAGE')"
                      % (need("CE_PG_SCHEMA"), need("CE_PG_SEALED_SCHEMA")), pg_pw)
    check("pg: USAGE on probe_schema yes, on sealed_schema no", out.strip() == "t|f", out.strip())

    # --- PostgreSQL without TLS
    plain = "host=127.0.0.1 port=%d user=%s dbname=%s" % (pg_plain, pg_user, pg_db)
    rc, out, _ = psql(plain + " sslmode=require", password=pg_pw)
    check("pg plain: sslmode=require refused", rc != 0 and "does not support SSL" in out, out.strip())
    rc, out, _ = psql(plain + " sslmode=disable", "select 1", pg_pw)
    check("pg plain: sslmode=disable connects", rc == 0, out.strip())
    st = pg_sqlstate(pg_plain, pg_user, "wrong", pg_db)
    check("pg plain: wrong password -> 28P01", st == "28P01", st)

    # --- MariaDB (TLS)
    tls_ok = ["--ssl", "--ssl-verify-server-cert", "--ssl-ca=" + ca]
    rc, out, _ = mariadb(my, my_user, my_pw, my_db, tls_ok, "show status like 'Ssl_version'", host="localhost")
    check("mariadb: verify-server-cert host=localhost connects over TLS", rc == 0 and "TLSv1" in out, out.strip())
    rc, out, _ = mariadb(my, my_user, my_pw, my_db, tls_ok)
    check("mariadb: verify-server-cert host=127.0.0.1 fails (2026)", mariadb_errno(out) == 2026, out.strip())
    if other_ca:
        rc, out, _ = mariadb(my, my_user, my_pw, my_db,
                             ["--ssl", "--ssl-verify-server-cert", "--ssl-ca=" + other_ca], host="localhost")
        check("mariadb: verify with the other CA fails (2026)", mariadb_errno(out) == 2026, out.strip())
    rc, out, _ = mariadb(my, need("CE_MARIADB_LOCKED_USER"), need("CE_MARIADB_LOCKED_PASSWORD"), my_db)
    check("mariadb: locked account -> 4151", mariadb_errno(out) == 4151, out.strip())
    rc, out, _ = mariadb(my, my_user, my_pw, need("CE_MARIADB_SEALED_DATABASE"))
    check("mariadb: probe -> sealed -> 1044", mariadb_errno(out) == 1044, out.strip())
    rc, out, _ = mariadb(my, my_user, my_pw, E.get("CE_MARIADB_MISSING_DATABASE", "probe_missing"))
    check("mariadb: missing database (covered by a grant) -> 1049", mariadb_errno(out) == 1049, out.strip())
    rc, out, _ = mariadb(my, my_user, my_pw, "no_grant_missing_db")
    check("mariadb: missing database (no grant) -> 1044", mariadb_errno(out) == 1044, out.strip())
    rc, out, _ = mariadb(my, my_user, "wrong-" + my_pw, my_db)
    check("mariadb: wrong password -> 1045", mariadb_errno(out) == 1045, out.strip())
    rc, out, _ = mariadb(my, "root", "", None)
    check("mariadb: root over TCP refused (1045)", mariadb_errno(out) == 1045, out.strip())
    rc, out, _ = mariadb(my, "no_such_user_x", "", None)
    check("mariadb: unknown user, no password -> 1045 (no anonymous account)", mariadb_errno(out) == 1045, out.strip())

    # --- MariaDB without TLS
    rc, out, _ = mariadb(my_plain, my_user, my_pw, my_db, tls_ok)
    check("mariadb plain: TLS required -> 2026 (server has no TLS)", mariadb_errno(out) == 2026, out.strip())
    rc, out, _ = mariadb(my_plain, my_user, my_pw, my_db, [], "select @@have_ssl")
    check("mariadb plain: have_ssl = DISABLED", rc == 0 and out.strip() == "DISABLED", out.strip())

    # --- Redis (plain, with requirepass and the ACL user; TLS only)
    r_port, r_pw = int(need("CE_REDIS_PORT")), need("CE_REDIS_PASSWORD")
    check("redis: CE_REDIS_URL names the port and password",
          need("CE_REDIS_URL") == "redis://:%s@127.0.0.1:%d/0" % (r_pw, r_port))
    acl = re.match(r"redis://([^:@]+):([^@]+)@127\.0\.0\.1:(\d+)/1$", need("CE_REDIS_ACL_URL"))
    check("redis: CE_REDIS_ACL_URL is user:password@127.0.0.1:port/1", bool(acl) and int(acl.group(3)) == r_port)
    out = redis_session(r_port, [["AUTH", r_pw], ["PING"], ["CONFIG", "GET", "save"], ["CONFIG", "GET", "appendonly"]])
    check("redis plain: AUTH password, PING -> PONG, nothing persisted",
          out == ["OK", "PONG", ["save", ""], ["appendonly", "no"]], repr(out))
    out = redis_session(r_port, [["AUTH", "wrong-" + r_pw]])
    check("redis plain: wrong password -> WRONGPASS", out[0].startswith("-WRONGPASS"), repr(out))
    out = redis_session(r_port, [["GET", "k"]])
    check("redis plain: no AUTH -> NOAUTH", out[0].startswith("-NOAUTH"), repr(out))
    if acl:
        out = redis_session(r_port, [["AUTH", acl.group(1), acl.group(2)], ["SELECT", "1"], ["ACL", "WHOAMI"], ["FLUSHALL"]])
        check("redis plain: ACL user authenticates, SELECT 1, no @dangerous commands",
              out[:3] == ["OK", "OK", acl.group(1)] and out[3].startswith("-NOPERM"), repr(out))
    r_tls = int(need("CE_REDIS_TLS_PORT"))
    check("redis tls: CE_REDIS_TLS_URL is rediss://:password@localhost:port/0",
          need("CE_REDIS_TLS_URL") == "rediss://:%s@localhost:%d/0" % (r_pw, r_tls))
    out = redis_session(r_tls, [["AUTH", r_pw], ["PING"]], tls_ca=need("CE_REDIS_CA_FILE"), host="localhost")
    check("redis tls: verified for localhost with CE_REDIS_CA_FILE, PING -> PONG", out == ["OK", "PONG"], repr(out))
    out = redis_session(r_tls, [["PING"]], tls_ca=need("CE_REDIS_CA_FILE"), host="127.0.0.1")
    check("redis tls: host name 127.0.0.1 fails verification", out[0].startswith("TLS:"), repr(out))
    if other_ca:
        out = redis_session(r_tls, [["PING"]], tls_ca=other_ca, host="localhost")
        check("redis tls: the other CA fails verification", out[0].startswith("TLS:"), repr(out))

    # --- listeners
    st = nb_connect(int(need("CE_BLACKHOLE_PORT")), 2.0)
    check("blackhole: non-blocking connect still pending after 2 s", st == "pending", st)
    st = nb_connect(int(need("CE_CLOSED_PORT")), 2.0)
    check("closed port: connection refused", st == os.strerror(111), st)
    port = int(need("CE_HOLD_PORT"))
    st = nb_connect(port, 2.0)
    data = recv_for(port, 1.5)
    check("hold: connects, sends nothing", st == "connected" and data == b"", "%s %r" % (st, data))
    data = recv_for(int(need("CE_PG_STALL_TLS_PORT")), 1.5, struct.pack("!ii", 8, 80877103))
    check("pg-stall-tls: SSLRequest -> 'S' and nothing more", data == b"S", repr(data))
    port = int(need("CE_PG_STALL_TLS_PORT"))
    rc, out, dt = psql("host=127.0.0.1 port=%d user=x dbname=x sslmode=require" % port, password="x",
                       extra_env={"PGCONNECT_TIMEOUT": "2"})
    check("pg-stall-tls: psql sslmode=require times out after ~2 s", rc != 0 and "timeout" in out and 1.8 < dt < 4,
          "%.2fs %s" % (dt, out.strip()))
    data = recv_for(int(need("CE_MYSQL_STALL_AUTH_PORT")), 1.0)
    check("mysql-stall-auth: v10 handshake, no CLIENT_SSL",
          len(data) > 4 and data[4] == 10 and b"mysql_native_password" in data, repr(data[:40]))
    rc, out, dt = mariadb(int(need("CE_MYSQL_STALL_AUTH_PORT")), "x", "y", None, ["--connect-timeout=2"])
    check("mysql-stall-auth: mariadb client stalls in auth, 2013 after ~2 s",
          mariadb_errno(out) == 2013 and 1.8 < dt < 4, "%.2fs %s" % (dt, out.strip()))
    data = recv_for(int(need("CE_DRIP_PG_PORT")), 2.5)
    check("drip-pg: 'E' + length 20000, then ~1 byte/s",
          data[:5] == b"E" + struct.pack("!i", 20000) and 2 <= len(data) - 5 <= 3, repr(data))
    data = recv_for(int(need("CE_DRIP_MYSQL_PORT")), 2.5)
    check("drip-mysql: ff ff 00 00, then ~1 byte/s",
          data[:4] == b"\xff\xff\x00\x00" and 2 <= len(data) - 4 <= 3, repr(data))

    # --- OAuth authorization-code flow (fake Google and Dropbox)
    for provider in oauth_providers():
        oauth_checks(provider)

    failed = RESULTS.count(False)
    print("%d checks, %d failed" % (len(RESULTS), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
