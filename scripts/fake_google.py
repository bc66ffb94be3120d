#!/usr/bin/env python3
"""Loopback stand-in for Google's OAuth endpoints (token, authorization-code consent,
revocation), GCS JSON API, BigQuery and Drive about that checks credentials the way the real
services do. It answers what the engine's probes, sign-in, tests and benchmarks ask, no more:
one module per API on a common base (fake_google_base.py: accounts, tokens, counters, routing;
fake_google_oauth.py, fake_google_storage.py, fake_google_bigquery.py, fake_google_drive.py).

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
                                           (client_id and client_secret in the form)
  GET  /o/oauth2/v2/auth                   authorization-code consent page (see below)
  POST /o/oauth2/v2/auth/decision          the page's form: request_id, decision=allow|deny
  POST /revoke                             form token=...: revokes a flow grant
  GET  /storage/v1/b/{bucket}[?fields=...] GCS buckets.get
  GET  /storage/v1/b?project=P[&fields=...] GCS buckets.list
  POST /bigquery/v2/projects/{p}/jobs      BigQuery jobs.insert (query jobs, dryRun or not)
  GET  /drive/v3/about?fields=user         Drive about.get (for the refresh-token user and the
                                           flow's user)
  GET  /_stats                             token requests per service account / OAuth client;
                                           "oauth_flow": the flow's counters (authorize,
                                           decision, token by grant type, revoke, and per flow
                                           by its `state`)
  POST /_tokens/expire[?principal=EMAIL]   expire issued access tokens (all, or one principal's;
                                           the flow's are oauth-user@example.com's)
  POST /_oauth/rotate                      test hook, form or query [enabled=true|false]
                                           [refresh_token=...]: refresh-token rotation on or off
                                           (toggled without `enabled`) for every flow grant, or
                                           for one grant; answers {"rotate_refresh_tokens": B}

`fields` takes comma-separated paths (`name`, `items/name`, `user`). Another method on a known
path answers 405, an unknown path 404.

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
grant_type=authorization_code (code, redirect_uri, client_id and client_secret in the form,
code_verifier) answers {"access_token", "expires_in", "refresh_token" (offline only),
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
A bucket other than ce-probe and a BigQuery project other than ce-project are 404 for every
authenticated caller, listing the buckets of another project 403; the noaccess account gets 403
on the existing ones. Tokens carry their scopes: GCS wants a
devstorage or cloud-platform scope, BigQuery bigquery or cloud-platform, else 403.

Access tokens live 3599 s. Requests are logged to stderr (method, path, status; never bodies,
query strings, tokens or codes). It serves until SIGTERM/SIGINT/SIGHUP or --max-seconds.
"""

import os
import secrets
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))  # the modules next to us
import fake_common  # noqa: E402
import fake_google_base as base  # noqa: E402
import fake_google_bigquery  # noqa: E402
import fake_google_drive  # noqa: E402
import fake_google_oauth  # noqa: E402
import fake_google_storage  # noqa: E402

ACCOUNTS = {  # file stem -> (account name, may access bucket / project, key enabled)
    "ok": ("ce-ok", True, True),
    "noaccess": ("ce-noaccess", False, True),
    "revoked": ("ce-revoked", False, False),
}


class Handler(base.Handler):
    routes = (base.ROUTES + fake_google_oauth.ROUTES + fake_google_storage.ROUTES
              + fake_google_bigquery.ROUTES + fake_google_drive.ROUTES)


def parse_args():
    p = fake_common.arg_parser(__doc__, "the key files (0600) are written there")
    p.add_argument("--bench-accounts", type=int, default=0, metavar="N",
                   help="also create N service accounts with the rights of `ok`, key files "
                        "bench-0.json .. bench-{N-1}.json (default 0)")
    p.add_argument("--oauth-access-seconds", type=int, default=base.FLOW_ACCESS_SECONDS,
                   metavar="N", help="lifetime of the access tokens of the authorization-code "
                                     "flow (default %d)" % base.FLOW_ACCESS_SECONDS)
    args = p.parse_args()
    if args.bench_accounts < 0:
        p.error("--bench-accounts must be 0 or more")
    if args.oauth_access_seconds < 1:
        p.error("--oauth-access-seconds must be 1 or more")
    return args


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
        email = "%s@%s.iam.gserviceaccount.com" % (name, base.PROJECT)
        accounts[email] = {"keys": {kid: (key.public_key(), enabled)}, "access": access}
        # Field order and values as in a key file downloaded from the Cloud console; the URLs
        # that would lead to Google point here instead (only token_uri is ever used).
        files[stem] = {
            "type": "service_account",
            "project_id": base.PROJECT,
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


def setup_for(bench_accounts, flow_access_seconds=base.FLOW_ACCESS_SECONDS):
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
            "project": base.PROJECT,
            "bucket": base.BUCKET,
            "service_accounts": {stem: {"file": os.path.join(out_dir, stem + ".json"),
                                        "client_email": d["client_email"]}
                                 for stem, d in files.items()},
            "oauth": dict(oauth, file=os.path.join(out_dir, "oauth_client.json"),
                          user_email=base.USER_EMAIL, scope=base.USER_SCOPE),
            "oauth_flow": dict(fake_google_oauth.flow_urls(base_url),
                               access_seconds=flow_access_seconds),
        })
        return base.State(base_url, accounts, oauth, flow_access_seconds), {"token_url": token_url}
    return setup


def main():
    args = parse_args()
    return fake_common.run_fake("fake_google", args, Handler,
                                setup_for(args.bench_accounts, args.oauth_access_seconds))


if __name__ == "__main__":
    sys.exit(main())
