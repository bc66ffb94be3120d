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

import http.server
import json
import os
import sys
import tempfile
import threading
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # browser_support.py, beside this script
from browser_support import (  # noqa: E402 - found through the line above
    Api, By, Context, EngineServer, Report, capture_full_page, check, check_png, finish, fresh_artifacts, parse_args,
    quit_browser, require, secrets_in, server_answers, start_browser, stop_server, wait)

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


def error_code(answer):
    """The code of the first error of an API answer, or None."""
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


def save_png(driver, path, full_page=False):
    """Screenshot of the current window (the viewport, or with full_page the whole page, so
    that a consent page's buttons are in the picture) into path."""
    if full_page:
        capture_full_page(driver, path)
    else:
        check(driver.save_screenshot(str(path)), "the browser took no screenshot for %s" % path)
    check_png(path)
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

    def create_with_key(self, connector_id, name):
        """POST connector/?oauth-key= with this sign-in's key: (status, answer)."""
        path = "/api/v1/unstract/%s/connector/?%s" % (self.ctx.server.organization, urllib.parse.urlencode({"oauth-key": self.key}))
        return self.ctx.api.json("POST", path, {
            "connector_id": connector_id, "connector_name": name, "connector_metadata": {"connectorName": name}})

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

        def leaks(text):
            return secrets_in(text, secrets, TOKEN_PREFIXES)
        check(not leaks(self.status_url), "the status page URL holds %s" % leaks(self.status_url))
        check(not leaks(self.status_source), "the status page (DOM) holds %s" % leaks(self.status_source))
        # The same page as the server sends it (raw HTML and headers).
        status, headers, text = ctx.api.call("GET", self.status_url[len(ctx.server.base):], bearer=False)
        check(status == 200, "GET status page: %d" % status)
        check(not leaks(text), "the status page (HTML) holds %s" % leaks(text))
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


class OAuthContext(Context):
    def __init__(self, args, artifacts, work):
        super().__init__(args, artifacts, work)
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
        status, answer = s.create_with_key(DRIVE, "browser-drive")
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
        status, answer = s.create_with_key(DROPBOX, "browser-dropbox")
        check(status == 408, "POST connector/?oauth-key=: %d %s (expected 408)" % (status, answer))
        check(error_code(answer) == "oauth_timeout", "error code %r, expected oauth_timeout" % error_code(answer))
        return "408 oauth_timeout"
    flow.step("POST connector/?oauth-key= (Dropbox) with the denied key -> 408", create_times_out)


# ------------------------------------------------------------------------------------ main

def main():
    args = parse_args(__doc__, "oauth")
    require(args, REQUIRED_ENV)
    artifacts = fresh_artifacts(args.artifacts, SCREENSHOTS)
    e = os.environ
    server_options = dict(
        public_url=True,
        extra_args=[
            "--google-authorize-url", e["CE_GOOGLE_AUTHORIZE_URL"], "--google-token-url", e["CE_GOOGLE_TOKEN_URL"],
            "--google-drive-url", e["CE_GOOGLE_API_URL"],
            "--dropbox-url", e["CE_DROPBOX_URL"], "--dropbox-authorize-url", e["CE_DROPBOX_AUTHORIZE_URL"],
        ],
        extra_env=dict(
            GOOGLE_OAUTH2_KEY=e["CE_GOOGLE_OAUTH_CLIENT_ID"], GOOGLE_OAUTH2_SECRET=e["CE_GOOGLE_OAUTH_CLIENT_SECRET"],
            DROPBOX_OAUTH2_KEY=e["CE_DROPBOX_APP_KEY"], DROPBOX_OAUTH2_SECRET=e["CE_DROPBOX_APP_SECRET"]),
    )

    report = Report()
    opener = None
    with tempfile.TemporaryDirectory(prefix="ce-browser-oauth.") as work_dir:
        ctx = OAuthContext(args, artifacts, Path(work_dir))
        ctx.server = EngineServer(Path(args.binary).resolve(), ctx.work, artifacts / "server.log", **server_options)
        try:
            setup = report.flow("setup")
            setup.step("start connector-engine serve (fresh SQLite store, fake Google and Dropbox)",
                       lambda: ctx.server.start(args.start_timeout))

            def healthy():
                ctx.api = Api(ctx.server.base, ctx.server.token, follow_redirects=False)
                return server_answers(ctx.api)
            setup.step("server answers", healthy)

            def serve_opener():
                nonlocal opener
                opener = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OpenerHandler)
                threading.Thread(target=opener.serve_forever, name="opener-page", daemon=True).start()
                ctx.opener_base = "http://127.0.0.1:%d" % opener.server_address[1]
                return ctx.opener_base
            setup.step("serve the opener page", serve_opener)

            def browser():
                # The network log shows the redirects a popup goes through (login, consent, callback, status).
                ctx.driver = start_browser(args.chromium, args.chromedriver, ctx.work, {"performance": "ALL"})
                ctx.opener_handle = ctx.driver.current_window_handle
                return "Chromium %s, headless" % ctx.driver.capabilities.get("browserVersion")
            setup.step("start headless Chromium", browser)

            if not setup.broken:
                allow_flow(ctx, report)
                deny_flow(ctx, report)
        finally:
            # Each its own flow: a failure of one never skips the others.
            quit_browser(report, ctx.driver)
            if opener is not None:
                opener.shutdown()
                opener.server_close()
            stop_server(report, ctx.server)

    return finish(report, artifacts, SCREENSHOTS, "browser OAuth test")


if __name__ == "__main__":
    sys.exit(main())
