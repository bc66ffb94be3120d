"""What the headless-Chromium tests (scripts/browser_oauth_test.py, scripts/browser_health_test.py)
share: the step runner (check, CheckFailed, Report, Flow), `connector-engine serve` on a fresh
store (EngineServer), the urllib API client, Chromium's start-up, waits, screenshots, secrets in
text, and the pieces of their main(): options, prerequisites, artifacts, teardown, the final line.

Not a test itself: imported by those scripts, which run as /usr/bin/python3 scripts/browser_*.py
(Debian's python3-selenium), so that this module is found beside them on sys.path.
"""

import argparse
import base64
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

# The name of the test that imports this (browser_oauth_test, browser_health_test): what its
# messages start with.
PROG = Path(sys.argv[0]).stem

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By  # noqa: F401 - for the tests: from browser_support import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    sys.exit("%s: selenium is missing: run scripts/deps.sh as root (Debian's python3-selenium; "
             "run this script with /usr/bin/python3)" % PROG)

REPO = Path(__file__).resolve().parent.parent
POLL = 0.05  # seconds between WebDriverWait checks
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------------------ the steps

class CheckFailed(Exception):
    """A check of this test did not hold."""


def check(condition, what):
    """Raises CheckFailed(what) unless condition holds (not `assert`: python -O drops those)."""
    if not condition:
        raise CheckFailed(what)


def first_line(error):
    text = str(error).strip() or type(error).__name__
    return "%s: %s" % (type(error).__name__, text.splitlines()[0])


class Report:
    """One line per step; a step after a failed one in the same flow is skipped."""

    def __init__(self):
        self.failed = 0
        self.passed = 0

    def line(self, verdict, name, detail=""):
        if verdict == "PASS":
            self.passed += 1
        else:
            self.failed += 1
        print("%s  %s%s" % (verdict, name, ("  -- " + detail) if detail else ""), flush=True)

    def flow(self, name):
        return Flow(self, name)


class Flow:
    """Steps in order; once one fails, the rest of the flow is skipped."""

    def __init__(self, report, name):
        self.report, self.name, self.broken = report, name, False

    def step(self, title, action):
        """Runs action(); its return value (a string) is the PASS line's detail."""
        name = "%s: %s" % (self.name, title)
        if self.broken:
            self.report.line("SKIP", name, "an earlier step of this flow failed")
            return False
        try:
            detail = action()
        except CheckFailed as failure:
            self.report.line("FAIL", name, str(failure))
        except TimeoutException as failure:
            self.report.line("FAIL", name, "timed out waiting: %s" % (failure.msg or "condition not met"))
        except Exception as failure:  # noqa: BLE001 - any error fails the step, with its type
            self.report.line("FAIL", name, first_line(failure))
        else:
            self.report.line("PASS", name, detail or "")
            return True
        self.broken = True
        return False


# ------------------------------------------------------------------------------ the server

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EngineServer:
    """`connector-engine serve` on a fresh SQLite store; stopped by its PID.

    public_url: pass --public-url pointing at the server itself; extra_args: more options after
    those; extra_env: more environment variables for the server."""

    def __init__(self, binary, work, log_path, public_url=False, extra_args=(), extra_env=None):
        self.binary, self.work, self.log_path = binary, work, log_path
        self.public_url, self.extra_args, self.extra_env = public_url, list(extra_args), dict(extra_env or {})
        self.proc = None
        self.lines = queue.Queue()
        self.port = None
        self.base = None
        self.token = None
        self.organization = None

    def start(self, timeout):
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        command = [str(self.binary), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                   "--data-dir", str(self.work / "data")]
        if self.public_url:
            command += ["--public-url", self.base]
        command += self.extra_args
        # A throwaway store: SQLite in the work folder, key ring generated there (development).
        environment = {k: v for k, v in os.environ.items() if k not in ("CONNECTOR_ENGINE_KEYS", "DATABASE_URL", "REDIS_URL")}
        environment.update(self.extra_env)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, env=environment,
                text=True, encoding="utf-8", errors="replace")
        threading.Thread(target=self._read_stdout, name="engine-stdout", daemon=True).start()
        # The first-start lines come first, then the banner, written once the listener is bound.
        deadline = time.monotonic() + timeout
        token_next = False
        while True:
            remaining = deadline - time.monotonic()
            check(remaining > 0, "no 'Connector Engine is listening' banner within %d s (log: %s)"
                  % (timeout, self.log_path))
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise CheckFailed("the server exited during start-up (status %s; log: %s)" % (self.proc.wait(), self.log_path))
            if token_next:
                self.token, token_next = line.strip(), False
            elif line.startswith("API token"):
                token_next = True
            elif line.startswith("First start: created organization '"):
                self.organization = line.split("'")[1]
            elif line.startswith("Connector Engine is listening on "):
                check(line.split()[-1] == self.base, "listening on %s, not %s" % (line.split()[-1], self.base))
                break
        check(self.token, "no API token in the first-start lines (was the store not empty?)")
        check(self.organization, "no organization in the first-start lines")
        return "pid %d on %s, organization %s" % (self.proc.pid, self.base, self.organization)

    def _read_stdout(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def stop(self):
        """SIGTERM to our PID; SIGKILL if it has not exited 15 s later. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return "killed after 15 s"
        return self.proc.returncode


class Api:
    """The server's JSON API and pages over urllib.

    prefix: put before the paths given to json() (not to call()); follow_redirects=False: a 3xx
    is an answer of its own, not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            return None

    def __init__(self, base, token, prefix="", follow_redirects=True):
        self.base, self.token, self.prefix = base, token, prefix
        self.opener = urllib.request.build_opener(*(() if follow_redirects else (Api.NoRedirect,)))

    def call(self, method, path, body=None, bearer=True):
        """(status, headers, text) of method base+path."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if bearer:
            request.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.headers, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode("utf-8", "replace")

    def json(self, method, path, body=None):
        """(status, decoded JSON) of method base+prefix+path; undecodable text as {"_text": ...}."""
        status, _, text = self.call(method, self.prefix + path, body)
        try:
            return status, json.loads(text)
        except ValueError:
            return status, {"_text": text[:200]}


def server_answers(api):
    """The step "server answers": GET /healthz (no token) is 200."""
    status, _, _ = api.call("GET", "/healthz", bearer=False)
    check(status == 200, "GET /healthz: %d" % status)
    return "GET /healthz 200"


# ----------------------------------------------------------------------------- the browser

def start_browser(chromium, chromedriver, work, logging_prefs):
    """Headless Chromium at 1000x800 with a profile in work, loopback only, and the logs of
    logging_prefs (goog:loggingPrefs, e.g. {"performance": "ALL"} or {"browser": "ALL"})."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for argument in (
        "--headless=new", "--window-size=1000,800", "--disable-dev-shm-usage", "--no-first-run",
        "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-extensions", "--user-data-dir=%s" % (work / "chromium-profile"),
        # Loopback only: no name but 127.0.0.1 resolves (the tests use that literal throughout).
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(argument)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses to start its sandbox as root
    options.set_capability("goog:loggingPrefs", logging_prefs)
    service = Service(executable_path=str(chromedriver), log_path=str(work / "chromedriver.log"))
    return webdriver.Chrome(service=service, options=options)


def wait(driver, seconds, condition, message):
    return WebDriverWait(driver, seconds, poll_frequency=POLL).until(condition, message)


def capture_full_page(driver, path, window_wide=False):
    """A screenshot of the whole page (beyond the viewport when the page is longer) into path;
    returns its size {"width", "height"}. window_wide: at least as wide as the window."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    if window_wide:
        # Captured beyond the viewport the page is laid out without a scrollbar, as wide as the
        # window: clip to that width, not to the content width measured beside the scrollbar.
        size["width"] = max(size["width"], driver.execute_script("return window.innerWidth;"))
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))
    return size


def check_png(path):
    with open(path, "rb") as f:
        header = f.read(8)
    check(header == PNG_SIGNATURE, "%s is not a PNG" % path)


def secrets_in(text, secrets, prefixes=()):
    """Names of the secrets (name -> value) found in text, plus any of the token prefixes."""
    found = [name for name, value in secrets.items() if value and value in text]
    found += ["a token starting %r" % p for p in prefixes if p in text]
    return found


# ---------------------------------------------------------------------------- main's parts

class Context:
    """What the steps of a test share; each test adds its own."""

    def __init__(self, args, artifacts, work):
        self.args, self.artifacts, self.work = args, artifacts, work
        self.server = None
        self.api = None
        self.driver = None


def parse_args(doc, artifacts_name):
    """The options both tests take; artifacts default to .build/test-artifacts/<artifacts_name>/."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.environ.get("CONNECTOR_ENGINE_BIN", str(REPO / ".build/debug/connector-engine")),
                        help="the connector-engine binary (default: $CONNECTOR_ENGINE_BIN or .build/debug/connector-engine)")
    parser.add_argument("--artifacts", default=str(REPO / ".build/test-artifacts" / artifacts_name),
                        help="where the screenshots and the server log go (default: .build/test-artifacts/%s/)" % artifacts_name)
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="the browser (default: /usr/bin/chromium)")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver", help="its driver (default: /usr/bin/chromedriver)")
    parser.add_argument("--start-timeout", type=int, default=60, help="seconds the server may take to start (default 60)")
    return parser.parse_args()


def require(args, required_env):
    """Exits (with a message saying what to do) unless the environment and the programs are there."""
    missing = [name for name in required_env if not os.environ.get(name)]
    if missing:
        sys.exit('%s: %s not set; run: eval "$(scripts/services.sh env)"' % (PROG, ", ".join(missing)))
    for what, path in (("server binary", args.binary), ("chromium", args.chromium), ("chromedriver", args.chromedriver)):
        if not os.access(path, os.X_OK):
            sys.exit("%s: no executable %s at %s%s" % (
                PROG, what, path, "" if what == "server binary" else " (run scripts/deps.sh as root)"))


def fresh_artifacts(directory, screenshots):
    """The artifacts directory, made, without last run's screenshots and server log."""
    artifacts = Path(directory).resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    for name in tuple(screenshots) + ("server.log",):
        (artifacts / name).unlink(missing_ok=True)  # never show last run's pictures
    return artifacts


def quit_browser(report, driver):
    """The teardown step "browser quit" (its own flow), when a browser was started."""
    if driver is not None:
        report.flow("teardown").step("browser quit", lambda: driver.quit() or "driver.quit()")


def stop_server(report, server):
    """The teardown step "server stopped" (its own flow), when the server was started."""
    def stopped():
        status = server.stop()
        check(status == 0, "the server's exit status after SIGTERM was %s (log: %s)" % (status, server.log_path))
        return "pid %d exited 0 after SIGTERM" % server.proc.pid
    if server.proc is not None:
        report.flow("teardown").step("server stopped", stopped)


def finish(report, artifacts, screenshots, title):
    """Prints the screenshots taken and the final line; returns the exit status."""
    shots = [name for name in screenshots if (artifacts / name).exists()]
    print("screenshots: %s (%s)" % (artifacts, ", ".join(shots) or "none"))
    verdict = "PASS" if report.failed == 0 else "FAIL"
    print("%s  %s: %d passed, %d failed or skipped" % (verdict, title, report.passed, report.failed))
    return 0 if report.failed == 0 else 1
