#!/usr/bin/python3
"""The OAuth sign-in in a real browser: headless Chromium (Debian's chromium and chromium-driver)
driven with selenium (Debian's python3-selenium, hence /usr/bin/python3 rather than whatever
`python3` is first on PATH) through the built server and the fake providers of
scripts/services.sh.

    eval "$(scripts/services.sh env)"
    scripts/browser_oauth_test.py [--binary PATH] [--artifacts DIR]

What it does, all on 127.0.0.1:

  - starts `connector-engine serve` on a free port with a fresh SQLite store in a temporary
    folder (the development key ring is generated there), --public-url pointing at itself, the
    fake Google and Dropbox as providers and their OAuth clients in GOOGLE_OAUTH2_KEY/SECRET and
    DROPBOX_OAUTH2_KEY/SECRET; reads the admin token from the first-start lines;
  - serves a small opener page from a thread (another port): a button that window.open()s the
    login URL as a popup, and a list of the `{type: "oauth-status"}` messages it receives;
  - Allow (google-oauth2): cache key -> opener -> popup at login/google-oauth2/?oauth-key= ->
    consent page -> #allow -> status page says success, the opener got the message, the popup
    closes itself -> POST connector/?oauth-key= (Drive) 201 with the tokens masked ->
    POST connector/{id}/test/ 200 is_valid;
  - Deny (dropbox-oauth2): the same to the consent page -> #deny -> status page says error,
    reason access_denied and why in words -> POST connector/?oauth-key= 408 oauth_timeout;
  - the status pages (as the browser has them and as the server sends them) contain neither the
    cache key, the provider's code or state, the admin token, the client secret nor a token.

Screenshots (artifacts directory, default .build/test-artifacts/oauth/): consent-google.png,
status-success.png, consent-dropbox.png, status-denied.png; the server's standard error is kept
there as server.log. One PASS / FAIL / SKIP line per step; exit status 0 only when every step
passed. The server (by its PID), the opener page's server and the browser (driver.quit) are
always stopped. Waiting is on conditions (WebDriverWait, the server's banner), never on a fixed
delay.
"""

import argparse
import base64
import http.server
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    sys.exit("browser_oauth_test: selenium is missing: run scripts/deps.sh as root (Debian's python3-selenium; "
             "run this script with /usr/bin/python3)")

REPO = Path(__file__).resolve().parent.parent
DRIVE = "gdrive|3ac4b966-9136-4261-944a-bdbfc51cd21c"
DROPBOX = "dropbox|db6bf4a6-f892-4d25-8652-2bf251946134"
MASK = "********"
REQUIRED_ENV = (
    "CE_GOOGLE_AUTHORIZE_URL", "CE_GOOGLE_TOKEN_URL", "CE_GOOGLE_API_URL", "CE_GOOGLE_OAUTH_CLIENT_ID",
    "CE_GOOGLE_OAUTH_CLIENT_SECRET", "CE_DROPBOX_URL", "CE_DROPBOX_AUTHORIZE_URL", "CE_DROPBOX_APP_KEY",
    "CE_DROPBOX_APP_SECRET",
)
# How the fakes' tokens start (scripts/fake_google.py: access "ya29.", refresh "1//0"; Dropbox's
# short-lived access tokens "sl.").
TOKEN_PREFIXES = ("ya29.", "1//0", "sl.")
SCREENSHOTS = ("consent-google.png", "status-success.png", "consent-dropbox.png", "status-denied.png")
POLL = 0.05  # seconds between WebDriverWait checks
# Injected into every document of the popup before its own scripts (CDP, so the status page's CSP
# does not apply to it): window.close() is recorded on <html data-close-requested> and performed
# only once the test releases it, so the screenshot of a success page never races its closing.
HOLD_CLOSE = """
(() => {
  const close = window.close.bind(window);
  let released = false;
  window.close = () => {
    document.documentElement.dataset.closeRequested = "true";
    if (released) { close(); }
  };
  window.__releaseClose = () => {
    released = true;
    if (document.documentElement.dataset.closeRequested) { close(); }
  };
})();
"""


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
    """`connector-engine serve` on a fresh store; stopped by its PID."""

    def __init__(self, binary, work, log_path):
        self.binary, self.work, self.log_path = binary, work, log_path
        self.proc = None
        self.lines = queue.Queue()
        self.port = None
        self.base = None
        self.token = None
        self.organization = None

    def start(self, timeout):
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        e = os.environ
        command = [
            str(self.binary), "serve", "--host", "127.0.0.1", "--port", str(self.port),
            "--data-dir", str(self.work / "data"), "--public-url", self.base,
            "--google-authorize-url", e["CE_GOOGLE_AUTHORIZE_URL"], "--google-token-url", e["CE_GOOGLE_TOKEN_URL"],
            "--google-drive-url", e["CE_GOOGLE_API_URL"],
            "--dropbox-url", e["CE_DROPBOX_URL"], "--dropbox-authorize-url", e["CE_DROPBOX_AUTHORIZE_URL"],
        ]
        # A throwaway store: SQLite in the work folder, key ring generated there (development).
        environment = {k: v for k, v in e.items() if k not in ("CONNECTOR_ENGINE_KEYS", "DATABASE_URL", "REDIS_URL")}
        environment.update(
            GOOGLE_OAUTH2_KEY=e["CE_GOOGLE_OAUTH_CLIENT_ID"], GOOGLE_OAUTH2_SECRET=e["CE_GOOGLE_OAUTH_CLIENT_SECRET"],
            DROPBOX_OAUTH2_KEY=e["CE_DROPBOX_APP_KEY"], DROPBOX_OAUTH2_SECRET=e["CE_DROPBOX_APP_SECRET"])
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
    """The server's JSON API and pages over urllib (redirects not followed)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            return None

    def __init__(self, base, token):
        self.base, self.token = base, token
        self.opener = urllib.request.build_opener(Api.NoRedirect)

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
        status, _, text = self.call(method, path, body)
        try:
            return status, json.loads(text)
        except ValueError:
            return status, {"_text": text[:200]}


def error_code(answer):
    errors = answer.get("errors") if isinstance(answer, dict) else None
    return errors[0].get("code") if isinstance(errors, list) and errors and isinstance(errors[0], dict) else None


# ------------------------------------------------------------------------- the opener page

OPENER_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Opener - OAuth browser test</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:24px} code{word-break:break-all}</style>
</head><body>
<h1>Connect an account</h1>
<p>Login URL: <code id="login-url"></code></p>
<button id="open" type="button">Sign in (popup)</button>
<h2>Messages from the popup</h2>
<ul id="messages"></ul>
<script>
const login = new URLSearchParams(location.search).get("login") || "";
document.getElementById("login-url").textContent = login;
document.getElementById("open").addEventListener("click", function () {
  const popup = window.open(login, "_blank", "popup,width=640,height=760");
  document.body.dataset.opened = popup ? login : "blocked";
});
window.addEventListener("message", function (event) {
  const data = event.data;
  if (!data || typeof data !== "object" || data.type !== "oauth-status") { return; }
  const item = document.createElement("li");
  item.className = "oauth-status";
  item.dataset.status = String(data.status);
  item.dataset.reason = data.reason == null ? "" : String(data.reason);
  item.dataset.origin = event.origin;
  item.textContent = event.origin + " " + JSON.stringify(data);
  document.getElementById("messages").append(item);
});
</script></body></html>
"""


class OpenerHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        if urllib.parse.urlsplit(self.path).path != "/":
            self.send_error(404)
            return
        data = OPENER_HTML.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


# ----------------------------------------------------------------------------- the browser

def start_browser(chromium, chromedriver, work):
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for argument in (
        "--headless=new", "--window-size=1000,800", "--disable-dev-shm-usage", "--no-first-run",
        "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-extensions", "--user-data-dir=%s" % (work / "chromium-profile"),
        # Loopback only: no name but 127.0.0.1 resolves (the test uses that literal throughout).
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(argument)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses to start its sandbox as root
    # The network log shows the redirects a popup goes through (login, consent, callback, status).
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    service = Service(executable_path=str(chromedriver), log_path=str(work / "chromedriver.log"))
    return webdriver.Chrome(service=service, options=options)


def wait(driver, seconds, condition, message):
    return WebDriverWait(driver, seconds, poll_frequency=POLL).until(condition, message)


def document_requests(driver):
    """URLs of the documents the browser requested since the last call, in order (the network
    log, all windows)."""
    urls = []
    for entry in driver.get_log("performance"):
        try:
            message = json.loads(entry["message"])["message"]
        except (KeyError, ValueError):
            continue
        params = message.get("params", {})
        if message.get("method") == "Network.requestWillBeSent" and params.get("type") == "Document":
            urls.append(params["request"]["url"])
    return urls


def query_of(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True))


def secrets_in(text, secrets):
    """Names of the secrets (name -> value) found in text, plus any fake provider token prefix."""
    found = [name for name, value in secrets.items() if value and value in text]
    found += ["a token starting %r" % p for p in TOKEN_PREFIXES if p in text]
    return found


def save_png(driver, path, full_page=False):
    """Screenshot of the current window (the viewport, or with full_page the whole page, so
    that a consent page's buttons are in the picture) into path."""
    if full_page:
        size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
        path.write_bytes(base64.b64decode(shot["data"]))
    else:
        check(driver.save_screenshot(str(path)), "the browser took no screenshot for %s" % path)
    with open(path, "rb") as f:
        header = f.read(8)
    check(header == b"\x89PNG\r\n\x1a\n", "%s is not a PNG" % path)
    return "%s (%d bytes)" % (path, path.stat().st_size)


class SignIn:
    """One sign-in through the popup: state shared by the steps of a flow."""

    def __init__(self, ctx, backend, authorize_env, client_env):
        self.ctx, self.backend = ctx, backend
        self.authorize_url = os.environ[authorize_env]
        self.client_id = os.environ[client_env]
        self.key = None
        self.popup = None
        self.status_url = None
        self.status_source = None
        self.callback = None

    @property
    def login_path(self):
        return "/api/v1/oauth/login/%s/?%s" % (self.backend, urllib.parse.urlencode({"oauth-key": self.key}))

    def cache_key(self):
        status, answer = self.ctx.api.json("GET", "/api/v1/oauth/cache-key/%s" % self.backend)
        check(status == 200, "GET cache-key/%s: %d %s" % (self.backend, status, answer))
        self.key = answer.get("cache_key")
        check(isinstance(self.key, str) and len(self.key) >= 16, "no cache_key in %s" % answer)
        return "200, key of %d characters" % len(self.key)

    def open_popup(self):
        driver, ctx = self.ctx.driver, self.ctx
        login_url = ctx.server.base + self.login_path
        for stray in set(driver.window_handles) - {ctx.opener_handle}:  # a failed flow's popup
            driver.switch_to.window(stray)
            driver.close()
        driver.switch_to.window(ctx.opener_handle)
        driver.get(ctx.opener_base + "/?" + urllib.parse.urlencode({"login": login_url}))
        check(driver.find_element(By.ID, "login-url").text == login_url, "the opener page does not show the login URL")
        before = set(driver.window_handles)
        driver.find_element(By.ID, "open").click()
        opened = driver.find_element(By.TAG_NAME, "body").get_attribute("data-opened")
        check(opened != "blocked", "window.open() returned null (popup blocked?)")
        check(opened == login_url, "the opener opened %r, not the login URL" % opened)
        wait(driver, 10, lambda d: len(set(d.window_handles) - before) == 1, "a popup window to open")
        (self.popup,) = set(driver.window_handles) - before
        driver.switch_to.window(self.popup)
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOLD_CLOSE})
        wait(driver, 20, lambda d: d.find_elements(By.ID, "allow") and d.find_elements(By.ID, "deny"),
             "the consent page (buttons #allow and #deny) in the popup")
        consent = driver.current_url
        check(consent.startswith(self.authorize_url + "?"), "the popup is at %s, not the consent page %s"
              % (consent.split("?")[0], self.authorize_url))
        # (The popup's own network log starts when the driver first switches to it, after the
        # login redirect: the consent request's parameters show that the server sent it there.)
        q = query_of(consent)
        callback = ctx.server.base + "/api/v1/oauth/complete/%s/" % self.backend
        check(q.get("client_id") == self.client_id, "consent request client_id %r" % q.get("client_id"))
        check(q.get("redirect_uri") == callback, "consent request redirect_uri %r, expected %r" % (q.get("redirect_uri"), callback))
        check(q.get("response_type") == "code", "consent request response_type %r" % q.get("response_type"))
        check(q.get("code_challenge_method") == "S256" and len(q.get("code_challenge", "")) == 43,
              "consent request without a PKCE S256 challenge")
        check(len(q.get("state", "")) >= 16, "consent request without a state")
        check(self.key not in consent, "the cache key reached the provider's URL")
        shown = driver.find_element(By.ID, "client-id").text
        check(shown == self.client_id, "the consent page names client %r" % shown)
        return "popup at the consent page %s (client_id, redirect_uri, state, PKCE S256 as expected)" % self.authorize_url

    def screenshot_consent(self, name):
        return save_png(self.ctx.driver, self.ctx.artifacts / name, full_page=True)

    def decide(self, button, screenshot):
        """Clicks #allow or #deny; waits for the server's status page in the popup; screenshots
        it (a successful one asks to close itself, which HOLD_CLOSE defers until the test allows)."""
        driver = self.ctx.driver
        driver.switch_to.window(self.popup)
        driver.find_element(By.ID, button).click()
        wait(driver, 30, lambda d: d.find_elements(By.CSS_SELECTOR, "#oauth-status[data-status]"),
             "the server's status page (#oauth-status) in the popup")
        saved = save_png(driver, self.ctx.artifacts / screenshot)
        self.status_url = driver.current_url
        self.status_source = driver.page_source
        element = driver.find_element(By.ID, "oauth-status")
        self.status = element.get_attribute("data-status")
        self.reason = element.get_attribute("data-reason")
        self.sentence = element.find_element(By.TAG_NAME, "p").text
        requests = document_requests(driver)
        callbacks = [u for u in requests if u.startswith(self.ctx.server.base + "/api/v1/oauth/complete/%s/?" % self.backend)]
        check(len(callbacks) == 1, "the popup went %d times through complete/%s/ (expected once)" % (len(callbacks), self.backend))
        self.callback = query_of(callbacks[0])
        check(self.status_url.startswith(self.ctx.server.base + "/api/v1/oauth/status/?"),
              "the popup ended on %s, not the server's status page" % self.status_url.split("?")[0])
        return saved

    def no_secrets_on_status_page(self):
        ctx = self.ctx
        secrets = {
            "the cache key": self.key, "the provider's code": self.callback.get("code"),
            "the OAuth state": self.callback.get("state"), "the admin token": ctx.server.token,
            "the Google client secret": os.environ["CE_GOOGLE_OAUTH_CLIENT_SECRET"],
            "the Dropbox app secret": os.environ["CE_DROPBOX_APP_SECRET"],
        }
        check(not secrets_in(self.status_url, secrets), "the status page URL holds %s" % secrets_in(self.status_url, secrets))
        check(not secrets_in(self.status_source, secrets), "the status page (DOM) holds %s" % secrets_in(self.status_source, secrets))
        # The same page as the server sends it (raw HTML and headers).
        status, headers, text = ctx.api.call("GET", self.status_url[len(ctx.server.base):], bearer=False)
        check(status == 200, "GET status page: %d" % status)
        check(not secrets_in(text, secrets), "the status page (HTML) holds %s" % secrets_in(text, secrets))
        check("no-store" in (headers.get("Cache-Control") or ""), "the status page may be cached: %r" % headers.get("Cache-Control"))
        check("script-src 'sha256-" in (headers.get("Content-Security-Policy") or ""), "no script hash in the status page's CSP")
        return "URL, DOM and HTML free of key, code, state, tokens and client secrets"

    def opener_message(self, status, reason):
        driver, ctx = self.ctx.driver, self.ctx
        driver.switch_to.window(ctx.opener_handle)
        wait(driver, 10, lambda d: d.find_elements(By.CSS_SELECTOR, "#messages li.oauth-status"),
             "an oauth-status message at the opener")
        items = driver.find_elements(By.CSS_SELECTOR, "#messages li.oauth-status")
        check(len(items) == 1, "the opener got %d oauth-status messages" % len(items))
        got = (items[0].get_attribute("data-status"), items[0].get_attribute("data-reason"), items[0].get_attribute("data-origin"))
        check(got == (status, reason, ctx.server.base), "the opener got status %r, reason %r from %r; expected %r, %r from %r"
              % (got + (status, reason, ctx.server.base)))
        return "postMessage {status: %s, reason: %s} from %s" % (status, reason or "null", ctx.server.base)


class Context:
    def __init__(self, args, artifacts, work):
        self.args, self.artifacts, self.work = args, artifacts, work
        self.server = None
        self.api = None
        self.driver = None
        self.opener_base = None
        self.opener_handle = None


# ---------------------------------------------------------------------------------- flows

def allow_flow(ctx, report):
    flow = report.flow("google-oauth2 Allow")
    s = SignIn(ctx, "google-oauth2", "CE_GOOGLE_AUTHORIZE_URL", "CE_GOOGLE_OAUTH_CLIENT_ID")
    connector = {}
    flow.step("GET oauth/cache-key/google-oauth2 (bearer)", s.cache_key)
    flow.step("opener button opens the popup at login/google-oauth2/?oauth-key= -> consent page", s.open_popup)
    flow.step("screenshot of the consent page", lambda: s.screenshot_consent("consent-google.png"))
    flow.step("click #allow -> server's status page; screenshot", lambda: s.decide("allow", "status-success.png"))

    def success_page():
        check(s.status == "success", "data-status %r (reason %r), expected 'success'" % (s.status, s.reason))
        check(s.reason == "", "data-reason %r on success" % s.reason)
        check(s.sentence.strip(), "no sentence on the success page")
        return "data-status=success: %r" % s.sentence
    flow.step("status page says success", success_page)
    flow.step("status page leaks nothing", s.no_secrets_on_status_page)
    flow.step("opener received the success message", lambda: s.opener_message("success", ""))

    def popup_closed():
        driver = ctx.driver
        driver.switch_to.window(s.popup)
        wait(driver, 10, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("data-close-requested") == "true",
             "the status page to call window.close()")
        driver.execute_script("setTimeout(() => window.__releaseClose(), 0);")
        driver.switch_to.window(ctx.opener_handle)
        wait(driver, 10, lambda d: s.popup not in d.window_handles, "the popup to close")
        return "the page called window.close(); the popup closed"
    flow.step("popup closed itself", popup_closed)

    def create():
        path = "/api/v1/unstract/%s/connector/?%s" % (ctx.server.organization, urllib.parse.urlencode({"oauth-key": s.key}))
        status, answer = ctx.api.json("POST", path, {
            "connector_id": DRIVE, "connector_name": "browser-drive",
            "connector_metadata": {"connectorName": "browser-drive"}})
        check(status == 201, "POST connector/?oauth-key=: %d %s" % (status, answer))
        metadata = answer.get("connector_metadata") or {}
        check(metadata.get("access_token") == MASK, "access_token is %r, not masked" % metadata.get("access_token"))
        check(metadata.get("refresh_token") == MASK, "refresh_token is %r, not masked" % metadata.get("refresh_token"))
        connector["id"] = answer.get("id")
        check(connector["id"], "no id in %s" % answer)
        return "201 id %s, access_token and refresh_token %s" % (connector["id"], MASK)
    flow.step("POST connector/?oauth-key= (Google Drive) -> 201, tokens masked", create)

    def test_connector():
        status, answer = ctx.api.json("POST", "/api/v1/unstract/%s/connector/%s/test/" % (ctx.server.organization, connector["id"]))
        check(status == 200, "POST connector/%s/test/: %d %s" % (connector["id"], status, answer))
        check(answer.get("is_valid") is True, "is_valid %r: %s" % (answer.get("is_valid"), answer))
        return "200 is_valid true"
    flow.step("POST connector/{id}/test/ -> 200 is_valid", test_connector)


def deny_flow(ctx, report):
    flow = report.flow("dropbox-oauth2 Deny")
    s = SignIn(ctx, "dropbox-oauth2", "CE_DROPBOX_AUTHORIZE_URL", "CE_DROPBOX_APP_KEY")
    flow.step("GET oauth/cache-key/dropbox-oauth2 (bearer)", s.cache_key)
    flow.step("opener button opens the popup at login/dropbox-oauth2/?oauth-key= -> consent page", s.open_popup)
    flow.step("screenshot of the consent page", lambda: s.screenshot_consent("consent-dropbox.png"))
    flow.step("click #deny -> server's status page; screenshot", lambda: s.decide("deny", "status-denied.png"))

    def denied_page():
        check(s.status == "error", "data-status %r, expected 'error'" % s.status)
        check(s.reason == "access_denied", "data-reason %r, expected 'access_denied'" % s.reason)
        words = s.sentence.strip()
        check(words and words != s.reason and " " in words and words.endswith("."),
              "no sentence saying why, only %r" % words)
        check(s.callback.get("error") == "access_denied" and "code" not in s.callback,
              "the provider's redirect was %r, not error=access_denied" % sorted(s.callback))
        return "data-status=error data-reason=access_denied: %r" % words
    flow.step("status page says why (access_denied)", denied_page)
    flow.step("status page leaks nothing", s.no_secrets_on_status_page)
    flow.step("opener received the error message", lambda: s.opener_message("error", "access_denied"))

    def popup_stays():
        check(s.popup in ctx.driver.window_handles, "the popup closed itself after an error")
        ctx.driver.switch_to.window(s.popup)
        asked = ctx.driver.find_element(By.TAG_NAME, "html").get_attribute("data-close-requested")
        check(asked is None, "the error page called window.close()")
        ctx.driver.close()
        ctx.driver.switch_to.window(ctx.opener_handle)
        return "still open after the message (closed by the test)"
    flow.step("popup stays open on an error", popup_stays)

    def create_times_out():
        path = "/api/v1/unstract/%s/connector/?%s" % (ctx.server.organization, urllib.parse.urlencode({"oauth-key": s.key}))
        status, answer = ctx.api.json("POST", path, {
            "connector_id": DROPBOX, "connector_name": "browser-dropbox",
            "connector_metadata": {"connectorName": "browser-dropbox"}})
        check(status == 408, "POST connector/?oauth-key=: %d %s (expected 408)" % (status, answer))
        check(error_code(answer) == "oauth_timeout", "error code %r, expected oauth_timeout" % error_code(answer))
        return "408 oauth_timeout"
    flow.step("POST connector/?oauth-key= (Dropbox) with the denied key -> 408", create_times_out)


# ------------------------------------------------------------------------------------ main

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.environ.get("CONNECTOR_ENGINE_BIN", str(REPO / ".build/debug/connector-engine")),
                        help="the connector-engine binary (default: $CONNECTOR_ENGINE_BIN or .build/debug/connector-engine)")
    parser.add_argument("--artifacts", default=str(REPO / ".build/test-artifacts/oauth"),
                        help="where the screenshots and the server log go (default: .build/test-artifacts/oauth/)")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="the browser (default: /usr/bin/chromium)")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver", help="its driver (default: /usr/bin/chromedriver)")
    parser.add_argument("--start-timeout", type=int, default=60, help="seconds the server may take to start (default 60)")
    args = parser.parse_args()

    missing = [name for name in REQUIRED_ENV if not os.environ.get(name)]
    if missing:
        sys.exit('browser_oauth_test: %s not set; run: eval "$(scripts/services.sh env)"' % ", ".join(missing))
    for what, path in (("server binary", args.binary), ("chromium", args.chromium), ("chromedriver", args.chromedriver)):
        if not os.access(path, os.X_OK):
            sys.exit("browser_oauth_test: no executable %s at %s%s" % (
                what, path, "" if what == "server binary" else " (run scripts/deps.sh as root)"))

    artifacts = Path(args.artifacts).resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    for name in SCREENSHOTS + ("server.log",):
        (artifacts / name).unlink(missing_ok=True)  # never show last run's pictures

    report = Report()
    opener = None
    with tempfile.TemporaryDirectory(prefix="ce-browser-oauth.") as work_dir:
        ctx = Context(args, artifacts, Path(work_dir))
        ctx.server = EngineServer(Path(args.binary).resolve(), ctx.work, artifacts / "server.log")
        try:
            setup = report.flow("setup")
            setup.step("start connector-engine serve (fresh SQLite store, fake Google and Dropbox)",
                       lambda: ctx.server.start(args.start_timeout))

            def healthy():
                ctx.api = Api(ctx.server.base, ctx.server.token)
                status, _, _ = ctx.api.call("GET", "/healthz", bearer=False)
                check(status == 200, "GET /healthz: %d" % status)
                return "GET /healthz 200"
            setup.step("server answers", healthy)

            def serve_opener():
                nonlocal opener
                opener = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OpenerHandler)
                threading.Thread(target=opener.serve_forever, name="opener-page", daemon=True).start()
                ctx.opener_base = "http://127.0.0.1:%d" % opener.server_address[1]
                return ctx.opener_base
            setup.step("serve the opener page", serve_opener)

            def browser():
                ctx.driver = start_browser(args.chromium, args.chromedriver, ctx.work)
                ctx.opener_handle = ctx.driver.current_window_handle
                return "Chromium %s, headless" % ctx.driver.capabilities.get("browserVersion")
            setup.step("start headless Chromium", browser)

            if not setup.broken:
                allow_flow(ctx, report)
                deny_flow(ctx, report)
        finally:
            # Each its own flow: a failure of one never skips the others.
            if ctx.driver is not None:
                report.flow("teardown").step("browser quit", lambda: ctx.driver.quit() or "driver.quit()")
            if opener is not None:
                opener.shutdown()
                opener.server_close()

            def stop_server():
                status = ctx.server.stop()
                check(status == 0, "the server's exit status after SIGTERM was %s (log: %s)" % (status, ctx.server.log_path))
                return "pid %d exited 0 after SIGTERM" % ctx.server.proc.pid
            if ctx.server.proc is not None:
                report.flow("teardown").step("server stopped", stop_server)

    shots = [name for name in SCREENSHOTS if (artifacts / name).exists()]
    print("screenshots: %s (%s)" % (artifacts, ", ".join(shots) or "none"))
    verdict = "PASS" if report.failed == 0 else "FAIL"
    print("%s  browser OAuth test: %d passed, %d failed or skipped" % (verdict, report.passed, report.failed))
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
