"""Scaffolding shared by the loopback test servers in this folder (fake_google.py,
fake_dropbox.py, fake_snowflake.py, s3_server.py): the common command line, stderr logging,
atomic 0600 JSON files, the ready line, stop on signal or --max-seconds, and for the
ThreadingHTTPServer fakes the request handler plumbing, request counters and the whole
listen / set up / serve / stop cycle (run_fake).

Standard library only. The scripts import it from their own folder (see their sys.path line),
so they work when run as `python3 scripts/<name>.py` from any directory.
"""

import argparse
import collections
import copy
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Start of the process for the ready line's "(N s after start)": the servers import this module
# after their own imports, where they used to take their start time.
START = time.monotonic()


def make_log(name):
    """A log(msg) function that writes `NAME: msg` to stderr."""
    def log(msg):
        print("%s: %s" % (name, msg), file=sys.stderr, flush=True)
    return log


def arg_parser(doc, dir_help):
    """A parser with the options every server takes: --host, --port, --dir, --max-seconds.

    doc is the script's __doc__ (its first paragraph is the description); dir_help says what
    is written into --dir. Callers add their own options, then parse.
    """
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True, help="TCP port (0 = pick a free one)")
    p.add_argument("--dir", required=True, help="existing directory; " + dir_help)
    p.add_argument("--max-seconds", type=float, default=4 * 3600,
                   help="exit by itself after this long (default 4 hours)")
    return p


def write_json_0600(path, data):
    """Write data as indented JSON to path, mode 0600, atomically (temp file, then rename)."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def print_ready(name, url, **fields):
    """Print `NAME: ready URL k=v ... pid=N (T s after start)` to stdout (None values left out).

    services.sh waits for this line in the server's log.
    """
    extra = "".join(" %s=%s" % (k, v) for k, v in fields.items() if v is not None)
    print("%s: ready %s%s pid=%d (%.2f s after start)"
          % (name, url, extra, os.getpid(), time.monotonic() - START), flush=True)


class StopRequest:
    """Installs SIGTERM/SIGINT/SIGHUP handlers that ask the server to stop."""

    def __init__(self):
        self._event = threading.Event()
        self.reason = "?"
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, _frame):
        self.reason = signal.Signals(signum).name
        self._event.set()

    def is_set(self):
        return self._event.is_set()

    def wait(self, max_seconds):
        """Block until a signal arrives or max_seconds pass; returns why, for the log."""
        if not self._event.wait(max_seconds):
            self.reason = "max-seconds reached"
        return self.reason


class Stats:
    """Thread-safe request counters for GET /_stats: {endpoint: {"requests": N, ...}}.

    template gives the endpoints and their zeroed counters, e.g.
    {"login": {"requests": 0, "outcomes": {}}, "other": {"requests": 0}}.
    """

    def __init__(self, template):
        self._template = template
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self._data = copy.deepcopy(self._template)

    def count(self, endpoint, outcome=None, **counters):
        """One request to endpoint; outcome (if any) counted under "outcomes", and each
        counters=N added to that counter (e.g. tokens_issued=1)."""
        with self._lock:
            e = self._data[endpoint]
            e["requests"] += 1
            for k, n in counters.items():
                e[k] += n
            if outcome is not None:
                e["outcomes"][outcome] = e["outcomes"].get(outcome, 0) + 1

    def snapshot(self):
        """A deep copy of the counters, safe to serialise outside the lock."""
        with self._lock:
            return json.loads(json.dumps(self._data))


class BodyTooLarge(ValueError):
    """A request body over FakeHandler.max_body (a 413 where a fake tells it apart)."""


class FakeHandler(BaseHTTPRequestHandler):
    """Request handler base: HTTP/1.1 keep-alive, request lines logged without query strings
    (so never credentials passed as parameters), `self.st` for the server's state, and
    read_body() for Content-Length or chunked bodies up to max_body bytes."""

    protocol_version = "HTTP/1.1"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this
    max_body = 1 << 20
    log_size = False  # also log the response size

    @property
    def st(self):
        return self.server.state

    def log_message(self, fmt, *args):
        sys.stderr.write("%s - - [%s] %s\n" % (self.address_string(), self.log_date_time_string(),
                                               fmt % args))

    def log_request(self, code="-", size="-"):
        # path and command are unset when the request line itself was bad
        path = (getattr(self, "path", None) or "").split("?", 1)[0]
        line = '"%s %s" %s' % (getattr(self, "command", None) or "-", path, code)
        self.log_message("%s", line + (" %s" % size if self.log_size else ""))

    def read_body(self):
        """The request body; raises ValueError when it is badly framed, BodyTooLarge (a
        ValueError) when it is too large."""
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
                if total > self.max_body:
                    raise BodyTooLarge("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        n = int(self.headers.get("Content-Length") or 0)
        if n > self.max_body:
            raise BodyTooLarge("Content-Length over the limit")
        if n < 0:
            raise ValueError("bad Content-Length")
        return self.rfile.read(n) if n else b""


class FakeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


# What a fake's setup function is given: the bound address, its base URL and the absolute --dir.
Listening = collections.namedtuple("Listening", "host port base_url out_dir")


def credentials_setup(make_state, filename):
    """A run_fake setup for a fake with one credentials file: state = make_state(), and
    state.credentials(base_url) written as --dir/filename (0600)."""
    def setup(at):
        state = make_state()
        write_json_0600(os.path.join(at.out_dir, filename), state.credentials(at.base_url))
        return state, {}
    return setup


def run_fake(name, args, handler, setup):
    """main() of a ThreadingHTTPServer fake; returns the exit status.

    Checks --dir, listens on --host/--port, calls setup(Listening) -> (state, ready_fields)
    (state becomes server.state; ready_fields go into the ready line before dir=), then
    serves on a thread until a signal or --max-seconds. A failure before the ready line
    is logged and gives 1.
    """
    log = make_log(name)
    if not os.path.isdir(args.dir):
        log("error: --dir %s is not a directory" % args.dir)
        return 1
    out_dir = os.path.abspath(args.dir)
    try:
        server = FakeHTTPServer((args.host, args.port), handler)
    except OSError as e:
        log("error: cannot listen on %s:%d: %s" % (args.host, args.port, e))
        return 1
    host, port = server.server_address[:2]
    base_url = "http://%s:%d" % (host, port)
    try:
        state, ready_fields = setup(Listening(host, port, base_url, out_dir))
    except Exception as e:  # noqa: BLE001 - report any setup failure and exit 1
        log("error: setup failed: %s: %s" % (type(e).__name__, e))
        server.server_close()
        return 1
    server.state = state

    stop = StopRequest()
    thread = threading.Thread(target=server.serve_forever, name=name.replace("_", "-"),
                              daemon=True)
    thread.start()
    print_ready(name, base_url, **ready_fields, dir=out_dir)

    log("stopping (%s)" % stop.wait(args.max_seconds))
    server.shutdown()
    thread.join(10)
    server.server_close()
    return 0
