#!/usr/bin/env python3
"""Loopback S3 endpoint (moto server, in-process) that verifies SigV4 signatures and IAM policies.

    python3 scripts/s3_server.py --port PORT --dir DIR [--host 127.0.0.1] [--max-seconds N]
                                 [--tls-port PORT --tls-cert FILE --tls-key FILE]

Starts moto's WSGI app on HOST:PORT with IAM authentication off, creates through boto3 against
that same server:

  - bucket `ce-probe` (us-east-1) holding one small object, `probe.txt`;
  - IAM user `probe-ok` with an access key and an inline policy allowing s3:ListBucket and
    s3:ListAllMyBuckets (see POLICY for why its Resource is `arn:aws:s3:::*`, and why it also
    names moto's s3:HeadBucket);
  - IAM user `probe-denied` with an access key and no policy at all;

then switches authentication on (moto.settings.INITIAL_NO_AUTH_ACTION_COUNT = 0), checks that it
is really on (probe-ok may list the bucket, probe-denied gets AccessDenied), writes
DIR/credentials.json (mode 0600, written atomically) and only then prints the line

    s3_server: ready http://HOST:PORT ...

With --tls-port, the same app (same buckets, users and authentication) is also served over HTTPS
on HOST:TLS_PORT by a second werkzeug server thread, with the certificate chain --tls-cert and
its key --tls-key (services.sh passes the run's server certificate, issued for DNS `localhost`
only, so clients connect to https://localhost:TLS_PORT and verify against the run's CA). That
listener is up before the ready line, which then names it (tls=https://localhost:TLS_PORT), as
does credentials.json ("tls_port", "tls_endpoint").

It serves until SIGTERM/SIGINT/SIGHUP or --max-seconds. Exit status 1 when setup fails.

A small WSGI front (FrontDoor) answers moto's own control API (/moto-api/..., e.g. POST
/moto-api/reset-auth, which would switch authentication off again) with 404 unless
--allow-moto-api is given, and turns requests moto cannot authenticate (anonymous, presigned,
SigV2, malformed SigV4) into S3-style XML errors instead of moto's HTML 500. Request lines are
logged to stderr (werkzeug).
"""

import json
import os
import re
import secrets
import ssl
import sys
import threading
import time
from xml.sax.saxutils import escape as xml_escape

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))  # fake_common.py is next to us
import fake_common  # noqa: E402

REGION = "us-east-1"
BUCKET = "ce-probe"
OBJECT_KEY = "probe.txt"
OBJECT_BODY = b"connector-engine probe object\n"
OK_USER = "probe-ok"
DENIED_USER = "probe-denied"

# moto checks the IAM policy *before* it looks the bucket up, so with s3:ListBucket limited to
# arn:aws:s3:::ce-probe a probe of a missing bucket gets 403 AccessDenied, where real S3 answers
# 404 NoSuchBucket. ListBucket on every bucket keeps the NoSuchBucket case testable; the
# "authenticated but not allowed" case is covered by probe-denied.
# AWS authorizes HeadBucket with s3:ListBucket; moto checks an action it calls s3:HeadBucket
# (not a real IAM action), so it is listed too, to give probe-ok what ListBucket gives on AWS.
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "ListBuckets", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:HeadBucket"],
         "Resource": "arn:aws:s3:::*"},
        {"Sid": "ListAllMyBuckets", "Effect": "Allow", "Action": "s3:ListAllMyBuckets",
         "Resource": "*"},
    ],
}


log = fake_common.make_log("s3_server")


def parse_args():
    p = fake_common.arg_parser(__doc__, "credentials.json (0600) is written there")
    p.add_argument("--allow-moto-api", action="store_true",
                   help="do not block moto's /moto-api/ control endpoints")
    p.add_argument("--tls-port", type=int,
                   help="also serve HTTPS on this port (0 = pick a free one); needs --tls-cert "
                        "and --tls-key")
    p.add_argument("--tls-cert", help="PEM certificate (chain) for the HTTPS listener")
    p.add_argument("--tls-key", help="PEM private key for the HTTPS listener")
    args = p.parse_args()
    if (args.tls_port is None) != (args.tls_cert is None) or \
            (args.tls_port is None) != (args.tls_key is None):
        p.error("--tls-port, --tls-cert and --tls-key go together")
    return args


SIGV4_HEADER = re.compile(
    r"AWS4-HMAC-SHA256 Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request,\s*"
    r"SignedHeaders=[^,\s]+,\s*Signature=[^,\s]+$")


def s3_error(start_response, status, code, message):
    request_id = secrets.token_hex(8).upper()
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '<RequestId>%s</RequestId><HostId>%s</HostId></Error>'
            % (code, xml_escape(message), request_id, secrets.token_urlsafe(32))).encode()
    start_response(status, [("Content-Type", "application/xml"),
                            ("Content-Length", str(len(body))),
                            ("x-amz-request-id", request_id)])
    return [body]


class FrontDoor:
    """WSGI middleware in front of moto.

    - /moto-api/... answers 404 (unless allow_moto_api): POST /moto-api/reset-auth would switch
      authentication off, POST /moto-api/reset would drop every user and bucket.
    - Requests moto cannot authenticate get the answer real S3 gives instead of moto's HTML 500
      (moto only handles header-based SigV4 and raises KeyError/IndexError on anything else):
        no Authorization, no query auth           -> 403 AccessDenied
        query-string auth (presigned URL)         -> 501 NotImplemented (moto cannot verify it)
        Authorization: AWS <key>:<sig> (SigV2)    -> 400 InvalidRequest
        any other non-AWS4-HMAC-SHA256 scheme     -> 400 InvalidArgument
        malformed AWS4-HMAC-SHA256 header         -> 400 AuthorizationHeaderMalformed
        SigV4 header but no X-Amz-Date            -> 403 AccessDenied
        once s3_only is set (after setup): a credential scope service other than s3
        (moto would route the request to that service's API) -> 400 AuthorizationHeaderMalformed
      Everything else (well-formed SigV4) is left to moto, which checks the key, the signature
      and the IAM policy.
    """

    def __init__(self, app, allow_moto_api):
        self.app = app
        self.allow_moto_api = allow_moto_api
        self.s3_only = False  # set after setup: the IAM API is needed only for that

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/moto-api" or path.startswith("/moto-api/"):
            if self.allow_moto_api:
                return self.app(environ, start_response)
            body = b"moto-api is disabled on this server (scripts/s3_server.py)\n"
            start_response("404 Not Found", [("Content-Type", "text/plain"),
                                             ("Content-Length", str(len(body)))])
            return [body]
        auth = environ.get("HTTP_AUTHORIZATION")
        if auth is None:
            query = environ.get("QUERY_STRING", "")
            if re.search(r"(^|&)(X-Amz-Signature|X-Amz-Credential|Signature|AWSAccessKeyId)=",
                         query):
                return s3_error(start_response, "501 Not Implemented", "NotImplemented",
                                "Query-string (presigned URL) authentication is not supported "
                                "by this test server (moto cannot verify it).")
            return s3_error(start_response, "403 Forbidden", "AccessDenied", "Access Denied")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            if auth.startswith("AWS "):
                return s3_error(start_response, "400 Bad Request", "InvalidRequest",
                                "The authorization mechanism you have provided is not "
                                "supported. Please use AWS4-HMAC-SHA256.")
            return s3_error(start_response, "400 Bad Request", "InvalidArgument",
                            "Unsupported Authorization Type")
        m = SIGV4_HEADER.match(auth)
        if not m:
            return s3_error(start_response, "400 Bad Request", "AuthorizationHeaderMalformed",
                            "The authorization header is malformed.")
        if self.s3_only and m.group(1) != "s3":
            return s3_error(start_response, "400 Bad Request", "AuthorizationHeaderMalformed",
                            'The authorization header is malformed; incorrect service "%s". '
                            'This endpoint belongs to "s3".' % m.group(1))
        if "HTTP_X_AMZ_DATE" not in environ:
            return s3_error(start_response, "403 Forbidden", "AccessDenied",
                            "AWS authentication requires a valid Date or x-amz-date header")
        return self.app(environ, start_response)


class DeferredHandshakeContext(ssl.SSLContext):
    """Server context whose sockets do the TLS handshake on first read, not in accept().

    werkzeug wraps the listening socket, so with the default (do_handshake_on_connect=True) the
    handshake of every new connection runs in the accept loop: one client that connects and never
    sends a ClientHello would stall the whole HTTPS listener. Deferred, the handshake runs in the
    connection's own handler thread, and a failed one is logged there ("SSL error occurred").
    """

    def wrap_socket(self, sock, *args, **kwargs):
        kwargs["do_handshake_on_connect"] = False
        return super().wrap_socket(sock, *args, **kwargs)


def setup(endpoint):
    """Create bucket, object, users, keys and policy through the (still unauthenticated) server."""
    import boto3
    from botocore.config import Config

    cfg = Config(region_name=REGION, retries={"max_attempts": 1}, connect_timeout=5,
                 read_timeout=30, s3={"addressing_style": "path"})
    session = boto3.session.Session(aws_access_key_id="setup", aws_secret_access_key="setup",
                                    region_name=REGION)
    s3 = session.client("s3", endpoint_url=endpoint, config=cfg)
    iam = session.client("iam", endpoint_url=endpoint, config=cfg)

    s3.create_bucket(Bucket=BUCKET)  # us-east-1: no LocationConstraint
    s3.put_object(Bucket=BUCKET, Key=OBJECT_KEY, Body=OBJECT_BODY, ContentType="text/plain")

    creds = {}
    for user in (OK_USER, DENIED_USER):
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        creds[user] = {"user": user, "access_key_id": key["AccessKeyId"],
                       "secret_access_key": key["SecretAccessKey"]}
    iam.put_user_policy(UserName=OK_USER, PolicyName="ce-probe-list",
                        PolicyDocument=json.dumps(POLICY))
    return creds


def self_check(endpoint, creds):
    """With auth on: probe-ok lists the bucket, probe-denied and a wrong secret are refused."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    cfg = Config(region_name=REGION, retries={"max_attempts": 1}, connect_timeout=5,
                 read_timeout=30, s3={"addressing_style": "path"})

    def client(key_id, secret):
        return boto3.session.Session(aws_access_key_id=key_id, aws_secret_access_key=secret,
                                     region_name=REGION).client("s3", endpoint_url=endpoint,
                                                                config=cfg)

    ok, denied = creds[OK_USER], creds[DENIED_USER]
    r = client(ok["access_key_id"], ok["secret_access_key"]).list_objects_v2(
        Bucket=BUCKET, MaxKeys=1)
    if [o["Key"] for o in r.get("Contents", [])] != [OBJECT_KEY]:
        raise RuntimeError("self-check: probe-ok listed %r" % r.get("Contents"))
    for label, key_id, secret, want in (
            ("probe-denied", denied["access_key_id"], denied["secret_access_key"], "AccessDenied"),
            ("wrong secret", ok["access_key_id"], ok["secret_access_key"] + "x",
             "SignatureDoesNotMatch")):
        try:
            client(key_id, secret).list_objects_v2(Bucket=BUCKET, MaxKeys=1)
        except ClientError as e:
            got = e.response.get("Error", {}).get("Code")
            if got != want:
                raise RuntimeError("self-check: %s got %s, expected %s" % (label, got, want))
        else:
            raise RuntimeError("self-check: %s was allowed; authentication is not on" % label)


def main():
    args = parse_args()
    if not os.path.isdir(args.dir):
        log("error: --dir %s is not a directory" % args.dir)
        return 1
    creds_path = os.path.join(os.path.abspath(args.dir), "credentials.json")

    # Authentication off while we set up; moto reads this at import, and again (as
    # moto.settings.INITIAL_NO_AUTH_ACTION_COUNT) on every request.
    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "inf"
    from werkzeug.serving import make_server
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    front = FrontDoor(DomainDispatcherApplication(create_backend_app), args.allow_moto_api)
    try:
        server = make_server(args.host, args.port, front, threaded=True)
    except OSError as e:
        log("error: cannot listen on %s:%d: %s" % (args.host, args.port, e))
        return 1
    host, port = server.server_address[:2]
    endpoint = "http://%s:%d" % (host, port)
    tls_server = None
    tls_port = tls_endpoint = None
    if args.tls_port is not None:
        try:
            ctx = DeferredHandshakeContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as e:
            log("error: cannot load --tls-cert %s / --tls-key %s: %s"
                % (args.tls_cert, args.tls_key, e))
            server.server_close()
            return 1
        try:
            tls_server = make_server(args.host, args.tls_port, front, threaded=True,
                                     ssl_context=ctx)
        except OSError as e:
            log("error: cannot listen on %s:%d: %s" % (args.host, args.tls_port, e))
            server.server_close()
            return 1
        tls_port = tls_server.server_address[1]
        # The certificate names DNS:localhost only, so this is the name clients must use.
        tls_endpoint = "https://localhost:%d" % tls_port
    t_import = time.monotonic() - fake_common.START

    stop = fake_common.StopRequest()

    thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    thread.start()
    tls_thread = None
    if tls_server is not None:
        tls_thread = threading.Thread(target=tls_server.serve_forever, name="moto-server-tls",
                                      daemon=True)
        tls_thread.start()

    def shutdown():
        server.shutdown()
        if tls_server is not None:
            tls_server.shutdown()

    log("listening on %s%s (moto imported in %.2f s); setting up"
        % (endpoint, " and %s:%d (TLS)" % (host, tls_port) if tls_server else "", t_import))

    try:
        settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
        creds = setup(endpoint)
        # Authentication on from here: every request is checked (access key, SigV4, IAM).
        front.s3_only = True
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        ActionAuthenticatorMixin.request_count = 0
        self_check(endpoint, creds)
        fake_common.write_json_0600(creds_path, {
            "endpoint": endpoint,
            "host": host,
            "port": port,
            "region": REGION,
            "bucket": BUCKET,
            "object_key": OBJECT_KEY,
            "ok": creds[OK_USER],
            "denied": creds[DENIED_USER],
            "tls_port": tls_port,
            "tls_endpoint": tls_endpoint,
        })
    except Exception as e:  # noqa: BLE001 - report any setup failure and exit 1
        log("error: setup failed: %s: %s" % (type(e).__name__, e))
        shutdown()
        return 1
    if stop.is_set():
        shutdown()
        return 0

    fake_common.print_ready("s3_server", endpoint, tls=tls_endpoint, region=REGION,
                            bucket=BUCKET, credentials=creds_path)

    log("stopping (%s)" % stop.wait(args.max_seconds))
    shutdown()
    thread.join(10)
    if tls_thread is not None:
        tls_thread.join(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
