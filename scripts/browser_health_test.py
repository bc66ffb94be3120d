#!/usr/bin/python3
"""The health page (/ui/) in a real browser: headless Chromium (Debian's chromium and
chromium-driver) driven with selenium (Debian's python3-selenium, hence /usr/bin/python3) against
the built server and the PostgreSQL of scripts/services.sh.

    eval "$(scripts/services.sh env)"
    scripts/browser_health_test.py [--binary PATH] [--artifacts DIR]

What it does, all on 127.0.0.1:

  - starts `connector-engine serve` on a free port with a fresh SQLite store in a temporary
    folder and reads the admin token from the first-start lines;
  - GET /ui/ and /ui: one HTML document, no-store, CSP `default-src 'none'` with the inline
    script and style allowed by their SHA-256 (checked against the document), connect-src 'self',
    X-Frame-Options DENY, Referrer-Policy no-referrer;
  - through the API: PostgreSQL connectors that are valid, have a wrong password, point at a
    closed port, and one whose name holds HTML character references (it must show as typed); when the services offer a
    role whose password expires (CE_PG_EXPIRING_USER), one with that role too; the wrong-password
    one is tested once (POST connector/{id}/test/) so it has history;
  - in the browser at 1000x800: a refused token says so and keeps nothing; signing in lists the
    connectors (the tested one failing with its code, its stage bar red at auth, one history tick;
    the others unchecked); "Check all" runs a job whose progress bar fills line by line from the
    NDJSON stream up to its total; every row then shows its verdict (valid, auth_failed,
    connection_refused), failing stage bars have a red segment at the failing stage, the history
    strips hold the new checks, failing rows come first, nothing overflows the window;
  - warnings are highlighted: the expiring role's real warning when there is one, and a warning
    the test adds to one history answer (a fetch wrapper injected through CDP);
  - the token is nowhere in the DOM, the URL, the URLs requested, or localStorage; signing out
    removes it from sessionStorage and a reload stays signed out;
  - signed in again, the server stopped: Reload says the server could not be reached.

Screenshots (artifacts directory, default .build/test-artifacts/health/): signin-refused.png,
signed-in.png, job-done.png, warning.png (full page); the server's standard error is kept there as server.log.
One PASS / FAIL / SKIP line per step; exit status 0 only when every step passed. The server (by
its PID) and the browser (driver.quit) are always stopped. Waiting is on conditions
(WebDriverWait, the server's banner), never on a fixed delay.
"""

import base64
import hashlib
import json
import os
import re
import secrets
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # browser_support.py, beside this script
from browser_support import (  # noqa: E402 - found through the line above
    Api, By, Context, EngineServer, Report, capture_full_page, check, check_png, finish, fresh_artifacts, parse_args,
    quit_browser, require, server_answers, start_browser, stop_server, wait)

POSTGRES = "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"
REQUIRED_ENV = ("CE_PG_PORT", "CE_PG_DATABASE", "CE_PG_USER", "CE_PG_PASSWORD", "CE_CLOSED_PORT")
SCREENSHOTS = ("signin-refused.png", "signed-in.png", "job-done.png", "warning.png")
SESSION_KEY = "connector-engine.health-session"
# The API refuses < and > in names; character references are what an innerHTML would turn into
# other text (&amp; -> &, &lt;b&gt; -> <b>): shown as typed only when inserted as text.
MARKUP_NAME = 'Reports &amp; "Q3" &lt;b&gt;db&lt;/b&gt;'
INJECTED_WARNING = "The database user's password expires in 9 days; <i>set a new one</i> before then."

# Injected (CDP, before the page's own script; the page's CSP does not apply to it): every
# answer of GET connector/{window.__ceWarnFor}/health/ gets a warning on its newest check.
WARNING_INJECTION = """
(() => {
  const target = %s;
  const original = window.fetch.bind(window);
  window.fetch = async function (input, init) {
    const response = await original(input, init);
    const url = typeof input === "string" ? input : input.url;
    if (!url.includes("/connector/" + target + "/health/") || !response.ok) { return response; }
    const page = await response.clone().json();
    if (page.results && page.results.length) {
      page.results[0].warnings = [{code: "password_expires", detail: %s,
        expires_at: new Date(Date.now() + 9 * 86400000).toISOString()}];
    }
    return new Response(JSON.stringify(page), {status: response.status, headers: response.headers});
  };
})();
"""

# ------------------------------------------------------------------------------- the page

# What the page shows, read in one go: the view, each row, the job progress, the messages.
READ_PAGE = """
const warningRow = (tr) => document.querySelector('#connectors tr.warning-row[data-for="' + CSS.escape(tr.dataset.id) + '"]');
const rows = Array.from(document.querySelectorAll("#connectors tbody tr[data-id]")).map((tr) => ({
  id: tr.dataset.id, state: tr.dataset.state, code: tr.dataset.code, warnings: Number(tr.dataset.warnings || 0),
  warned: tr.classList.contains("has-warning"),
  name: tr.querySelector(".name") ? tr.querySelector(".name").textContent : null,
  badge: tr.querySelector(".badge") ? tr.querySelector(".badge").textContent : null,
  checked: tr.querySelector("time") ? tr.querySelector("time").textContent : null,
  checkedTitle: tr.querySelector("time") ? tr.querySelector("time").title : null,
  segments: Array.from(tr.querySelectorAll(".stage-bar .segment[data-stage]")).map((s) => ({
    stage: s.dataset.stage, ok: s.dataset.ok, failed: s.classList.contains("failed"),
    width: s.getBoundingClientRect().width, color: getComputedStyle(s).backgroundColor})),
  ticks: Array.from(tr.querySelectorAll(".history .tick[data-valid]")).map((t) => ({valid: t.dataset.valid, title: t.title})),
  warningTexts: warningRow(tr) ? Array.from(warningRow(tr).querySelectorAll(".warning")).map((w) => w.textContent) : [],
  warningBelow: !!warningRow(tr) && tr.nextElementSibling === warningRow(tr),
  elements: tr.querySelectorAll("img, b, i, script").length + (warningRow(tr) ? warningRow(tr).querySelectorAll("img, b, i, script").length : 0),
}));
const progress = document.getElementById("job-progress");
return {
  view: document.body.dataset.view,
  loading: document.getElementById("dashboard").dataset.loading,
  signinShown: !document.getElementById("signin-panel").hidden && document.getElementById("signin").offsetParent !== null,
  dashboardShown: !document.getElementById("dashboard").hidden,
  signinError: document.getElementById("signin-error").hidden ? "" : document.getElementById("signin-error").textContent,
  message: document.getElementById("message").hidden ? "" : document.getElementById("message").textContent,
  rows: rows,
  progress: {status: progress.dataset.status, done: Number(progress.dataset.done), total: Number(progress.dataset.total),
             fill: progress.querySelector(".fill").getBoundingClientRect().width, width: progress.getBoundingClientRect().width},
  jobStatus: document.getElementById("job-status").textContent,
  title: document.title,
  overflowX: document.documentElement.scrollWidth - document.documentElement.clientWidth,
};
"""

# Where the token could end up in the browser: the document, form values, URLs, storage.
READ_TRACES = """
const values = Array.from(document.querySelectorAll("input, textarea")).map((e) => e.value);
const local = {}; for (let i = 0; i < localStorage.length; i++) { const k = localStorage.key(i); local[k] = localStorage.getItem(k); }
const session = {}; for (let i = 0; i < sessionStorage.length; i++) { const k = sessionStorage.key(i); session[k] = sessionStorage.getItem(k); }
return {
  html: document.documentElement.outerHTML, text: document.body.innerText, values: values, url: location.href,
  resources: performance.getEntriesByType("resource").map((e) => e.name).concat(performance.getEntriesByType("navigation").map((e) => e.name)),
  local: JSON.stringify(local), session: session,
};
"""


class Page:
    def __init__(self, ctx):
        self.ctx = ctx

    def read(self):
        return self.ctx.driver.execute_script(READ_PAGE)

    def traces(self):
        return self.ctx.driver.execute_script(READ_TRACES)


class HealthContext(Context):
    def __init__(self, args, artifacts, work):
        super().__init__(args, artifacts, work)
        self.page = None
        # name -> {"id", "expect" (code after the job), "stage" (failing stage), "warning" (real warning expected)}
        self.connectors = {}
        self.tested = None  # the name of the connector tested before the page opened
        self.injection = None


# ---------------------------------------------------------------------------------- steps

def by_id(page_state):
    return {row["id"]: row for row in page_state["rows"]}


def page_headers(ctx):
    details = []
    for path in ("/ui/", "/ui"):
        status, headers, text = ctx.api.call("GET", path, bearer=False)
        check(status == 200, "GET %s: %d" % (path, status))
        check((headers.get("Content-Type") or "").startswith("text/html"), "GET %s: Content-Type %r" % (path, headers.get("Content-Type")))
        csp = headers.get("Content-Security-Policy") or ""
        directives = {part.strip().split(" ", 1)[0]: part.strip() for part in csp.split(";") if part.strip()}
        check(directives.get("default-src") == "default-src 'none'", "CSP without default-src 'none': %r" % csp)
        check(directives.get("connect-src") == "connect-src 'self'", "CSP without connect-src 'self': %r" % csp)
        check("unsafe-inline" not in csp and "unsafe-eval" not in csp, "CSP allows unsafe-inline or unsafe-eval: %r" % csp)
        scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
        styles = re.findall(r"<style>(.*?)</style>", text, re.S)
        check(len(scripts) == 1 and len(styles) == 1, "%d inline scripts and %d styles, expected one each" % (len(scripts), len(styles)))
        check("<script src" not in text and "<link" not in text and "http://" not in text and "https://" not in text,
              "the page loads or names an external resource")
        for kind, body in (("script-src", scripts[0]), ("style-src", styles[0])):
            digest = "'sha256-%s'" % base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            check(directives.get(kind) == "%s %s" % (kind, digest), "CSP %s is %r, the inline %s hashes to %s"
                  % (kind, directives.get(kind), kind.split("-")[0], digest))
        for name, expected in (("Cache-Control", "no-store"), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer")):
            check(headers.get(name) == expected, "GET %s: %s is %r, expected %r" % (path, name, headers.get(name), expected))
        check(ctx.server.token not in text, "the page holds the token")
        details.append(path)
    return "%s: 200 text/html, CSP default-src 'none' with the script and style hashes, connect-src 'self', no-store, DENY, no-referrer" \
        % " and ".join(details)


def create_connectors(ctx):
    e = os.environ
    base = {"host": "127.0.0.1", "port": e["CE_PG_PORT"], "database": e["CE_PG_DATABASE"], "user": e["CE_PG_USER"]}
    plans = [
        ("orders-db", dict(base, password=e["CE_PG_PASSWORD"]), "ok", None, False),
        ("billing-db", dict(base, password="not-the-password"), "auth_failed", "auth", False),
        ("legacy-db", dict(base, port=e["CE_CLOSED_PORT"], password=e["CE_PG_PASSWORD"]), "connection_refused", "connect", False),
        (MARKUP_NAME, dict(base, port=e["CE_CLOSED_PORT"], password="x"), "connection_refused", "connect", False),
    ]
    if e.get("CE_PG_EXPIRING_USER"):
        plans.append(("expiring-db", dict(base, user=e["CE_PG_EXPIRING_USER"], password=e["CE_PG_PASSWORD"]), "ok", None, True))
    for name, metadata, expect, stage, warning in plans:
        status, answer = ctx.api.json("POST", "connector/", {
            "connector_id": POSTGRES, "connector_name": name, "connector_metadata": metadata})
        check(status == 201, "POST connector/ %r: %d %s" % (name, status, answer))
        check(answer.get("last_health") is None, "a new connector has last_health %r" % answer.get("last_health"))
        ctx.connectors[name] = {"id": answer["id"], "expect": expect, "stage": stage, "warning": warning}
    return "201 x %d: %s" % (len(plans), ", ".join(repr(name) for name, *_ in plans))


def test_one(ctx):
    ctx.tested = "billing-db"
    connector = ctx.connectors[ctx.tested]
    status, answer = ctx.api.json("POST", "connector/%s/test/" % connector["id"])
    check(status == 403, "POST connector/{id}/test/: %d %s (expected 403)" % (status, answer))
    probe = answer.get("probe") or {}
    check(probe.get("code") == "auth_failed" and probe.get("stage") == "auth", "probe %s" % probe)
    status, history = ctx.api.json("GET", "connector/%s/health/?page_size=20" % connector["id"])
    check(status == 200 and history.get("count") == 1, "GET connector/{id}/health/: %d %s" % (status, history))
    return "billing-db: 403 auth_failed at auth; one check in its history"


def open_page(ctx):
    driver = ctx.driver
    driver.get(ctx.server.base + "/ui/")
    wait(driver, 10, lambda d: d.find_elements(By.ID, "signin"), "the sign-in form (#signin)")
    state = ctx.page.read()
    check(state["signinShown"], "the sign-in form is not shown")
    check(not state["dashboardShown"], "the dashboard is shown before signing in")
    check(driver.find_element(By.ID, "signin-org").get_attribute("value") == "default", "the organization field is not 'default'")
    check(driver.find_element(By.ID, "signin-token").get_attribute("type") == "password", "the token field is not a password input")
    return "%r: sign-in form, organization 'default', token as a password field" % state["title"]


def type_credentials(ctx, organization, token):
    driver = ctx.driver
    org = driver.find_element(By.ID, "signin-org")
    org.clear()
    org.send_keys(organization)
    field = driver.find_element(By.ID, "signin-token")
    field.clear()
    field.send_keys(token)
    driver.find_element(By.ID, "signin-submit").click()


def refused_token(ctx):
    driver = ctx.driver
    wrong = "ce_" + secrets.token_urlsafe(24)  # a token of the right form that the server never issued
    type_credentials(ctx, ctx.server.organization, wrong)
    wait(driver, 10, lambda d: ctx.page.read()["signinError"], "an error under the sign-in form")
    state = ctx.page.read()
    check("The token was refused" in state["signinError"], "the error says %r" % state["signinError"])
    check(not state["dashboardShown"], "the dashboard opened with a refused token")
    traces = ctx.page.traces()
    check(not traces["session"], "sessionStorage holds %s after a refused token" % sorted(traces["session"]))
    check(driver.find_element(By.ID, "signin-token").get_attribute("value") == "", "the refused token stays in the field")
    return "%r; nothing stored" % state["signinError"]


def sign_in(ctx):
    driver = ctx.driver
    type_credentials(ctx, ctx.server.organization, ctx.server.token)
    count = len(ctx.connectors)
    wait(driver, 20, lambda d: (lambda s: s["dashboardShown"] and s["loading"] == "false" and len(s["rows"]) == count)(ctx.page.read()),
         "the dashboard with %d rows, histories loaded" % count)
    state = ctx.page.read()
    check(state["view"] == "signed-in" and not state["signinShown"], "still on the sign-in form")
    check(not state["message"], "an error is shown: %r" % state["message"])
    check(driver.find_element(By.ID, "account-org").text == ctx.server.organization, "the header does not name the organization")
    return "%d rows" % count


def rows_before_job(ctx):
    state = ctx.page.read()
    rows = by_id(state)
    lines = []
    for name, connector in ctx.connectors.items():
        row = rows.get(connector["id"])
        check(row, "no row for %r" % name)
        check(row["name"] == name, "the row of %r shows the name %r" % (name, row["name"]))
        if name == ctx.tested:
            check(row["state"] == "failing" and row["code"] == "auth_failed" and row["badge"] == "auth_failed",
                  "%r: state %r code %r badge %r, expected failing auth_failed" % (name, row["state"], row["code"], row["badge"]))
            check(row["checked"] and ("ago" in row["checked"] or row["checked"] == "just now"), "%r checked %r" % (name, row["checked"]))
            check(re.match(r"\d{4}-\d\d-\d\dT", row["checkedTitle"] or ""), "%r: checked time title %r is not ISO" % (name, row["checkedTitle"]))
            failed = [s["stage"] for s in row["segments"] if s["failed"]]
            check(failed == ["auth"], "%r: failing segments %r, expected ['auth']" % (name, failed))
            check(len(row["ticks"]) == 1 and row["ticks"][0]["valid"] == "false", "%r: history ticks %r" % (name, row["ticks"]))
        else:
            check(row["state"] == "unchecked" and row["badge"] == "unchecked", "%r: state %r badge %r, expected unchecked"
                  % (name, row["state"], row["badge"]))
            check(not row["ticks"] and not row["segments"], "%r (never checked) has ticks or segments" % name)
        lines.append("%s=%s" % ("markup" if name == MARKUP_NAME else name, row["badge"]))
    check(state["rows"][0]["id"] == ctx.connectors[ctx.tested]["id"], "the failing row is not first")
    return ", ".join(lines) + "; failing first; %s checked %r" % (ctx.tested, rows[ctx.connectors[ctx.tested]["id"]]["checked"])


def markup_as_text(ctx):
    row = by_id(ctx.page.read())[ctx.connectors[MARKUP_NAME]["id"]]
    check(row["name"] == MARKUP_NAME, "the name shows as %r" % row["name"])
    check(row["elements"] == 0, "the row holds %d img/b/i/script elements" % row["elements"])
    return "%r shown exactly as typed, character references not decoded" % row["name"]


def token_nowhere(ctx):
    traces = ctx.page.traces()
    token = ctx.server.token
    places = [("the DOM", traces["html"]), ("the page text", traces["text"]), ("a form field", "\n".join(traces["values"])),
              ("the URL", traces["url"]), ("a requested URL", "\n".join(traces["resources"])), ("localStorage", traces["local"])]
    found = [where for where, text in places if token in text]
    check(not found, "the token is in %s" % ", ".join(found))
    check(traces["local"] == "{}", "localStorage is not empty: %s" % traces["local"][:200])
    check(any(token in value for value in traces["session"].values()), "the token is not in sessionStorage while signed in")
    check(token not in driver_title(ctx), "the token is in the title")
    return "not in the DOM, page text, form fields, URL, %d requested URLs or localStorage; only in sessionStorage" % len(traces["resources"])


def driver_title(ctx):
    return ctx.driver.title or ""


def screenshot(ctx, name):
    """A full-page screenshot (beyond the 1000x800 viewport when the page is longer)."""
    path = ctx.artifacts / name
    size = capture_full_page(ctx.driver, path, window_wide=True)
    check_png(path)
    return "%s (%dx%d, %d bytes)" % (path, size["width"], size["height"], path.stat().st_size)


def run_job(ctx):
    driver = ctx.driver
    # Every value data-done takes (each record's old value; the observer may get several
    # records at once when lines arrive together): the bar must go through each count.
    driver.execute_script("""
      window.__progress = [];
      const bar = document.getElementById("job-progress");
      new MutationObserver((records) => { for (const r of records) { window.__progress.push(Number(r.oldValue)); } })
        .observe(bar, {attributes: true, attributeOldValue: true, attributeFilter: ["data-done"]});
    """)
    button = driver.find_element(By.ID, "run-job")
    check(button.text.strip() == "Check all", "the job button says %r" % button.text)
    button.click()
    total = len(ctx.connectors)
    wait(driver, 90, lambda d: (lambda p: p["status"] in ("done", "failed"))(ctx.page.read()["progress"]),
         "the job's progress bar to finish")
    state = ctx.page.read()
    progress = state["progress"]
    check(progress["status"] == "done", "the job ended %r: %r, message %r" % (progress["status"], state["jobStatus"], state["message"]))
    check(progress["done"] == progress["total"] == total, "progress %d/%d, expected %d/%d" % (progress["done"], progress["total"], total, total))
    # (The fill's width eases over 0.2 s.)
    wait(driver, 5, lambda d: (lambda p: abs(p["fill"] - p["width"]) <= 3)(ctx.page.read()["progress"]), "the bar to be drawn full")
    seen = driver.execute_script("return window.__progress;") + [progress["done"]]
    steps = [value for i, value in enumerate(seen) if i == 0 or value != seen[i - 1]]
    check(steps == list(range(0, total + 1)), "data-done went %r, expected 0 -> 1 -> ... -> %d" % (steps, total))
    return "data-done %s as the stream's lines arrived; %r" % (" -> ".join(str(s) for s in steps), state["jobStatus"])


def rows_after_job(ctx):
    driver = ctx.driver
    total = len(ctx.connectors)
    # After the stream ends the page reloads the list and the histories.
    wait(driver, 30, lambda d: (lambda s: s["loading"] == "false" and len(s["rows"]) == total
                                and all(r["ticks"] for r in s["rows"]))(ctx.page.read()),
         "the reloaded list with history ticks on every row")
    state = ctx.page.read()
    rows = by_id(state)
    lines = []
    for name, connector in ctx.connectors.items():
        row = rows[connector["id"]]
        short = "markup" if name == MARKUP_NAME else name
        if connector["expect"] == "ok":
            check(row["state"] == "valid" and row["badge"] == "valid", "%r: %r/%r, expected valid" % (name, row["state"], row["badge"]))
            check(not any(s["failed"] for s in row["segments"]), "%r (valid) has a red segment" % name)
            check(len(row["segments"]) >= 3, "%r: only stages %r" % (name, [s["stage"] for s in row["segments"]]))
            check(all(t["valid"] == "true" for t in row["ticks"]), "%r: ticks %r" % (name, row["ticks"]))
        else:
            check(row["state"] == "failing" and row["code"] == connector["expect"] and row["badge"] == connector["expect"],
                  "%r: %r/%r/%r, expected failing %s" % (name, row["state"], row["code"], row["badge"], connector["expect"]))
            failed = [s for s in row["segments"] if s["failed"]]
            check([s["stage"] for s in failed] == [connector["stage"]], "%r: failing segments %r, expected [%r]"
                  % (name, [s["stage"] for s in failed], connector["stage"]))
            check(failed[0]["width"] >= 3, "%r: the red segment is %.1f px wide" % (name, failed[0]["width"]))
            red = [int(c) for c in re.findall(r"\d+", failed[0]["color"])[:3]]
            check(red[0] > 150 and red[1] < 90 and red[2] < 90, "%r: the failing segment is %s, not red" % (name, failed[0]["color"]))
            check(all(t["valid"] == "false" for t in row["ticks"]), "%r: ticks %r" % (name, row["ticks"]))
        expected_ticks = 2 if name == ctx.tested else 1
        check(len(row["ticks"]) == expected_ticks, "%r: %d history ticks, expected %d" % (name, len(row["ticks"]), expected_ticks))
        check(all(re.search(r"\d", t["title"]) for t in row["ticks"]), "%r: tick titles %r" % (name, [t["title"] for t in row["ticks"]]))
        lines.append("%s=%s [%s] %d tick%s" % (short, row["badge"], ",".join(
            s["stage"] + ("!" if s["failed"] else "") for s in row["segments"]), len(row["ticks"]), "" if len(row["ticks"]) == 1 else "s"))
    ranks = [0 if r["state"] == "failing" else 1 if r["warned"] else 2 for r in state["rows"]]
    check(ranks == sorted(ranks), "rows not failing first: %r" % [r["state"] for r in state["rows"]])
    check(state["overflowX"] <= 0, "the page is %d px wider than the 1000 px window" % state["overflowX"])
    check(not state["message"], "an error is shown: %r" % state["message"])
    return "; ".join(lines) + "; failing first; no horizontal overflow"


def real_warning(ctx):
    expiring = [name for name, c in ctx.connectors.items() if c["warning"]]
    if not expiring:
        return "no CE_PG_EXPIRING_USER in the environment: only the injected warning below"
    row = by_id(ctx.page.read())[ctx.connectors[expiring[0]]["id"]]
    check(row["warnings"] >= 1 and row["warned"], "%r has no warning highlighted (data-warnings %r)" % (expiring[0], row["warnings"]))
    check(row["warningBelow"], "%r: the warning is not in the row below it" % expiring[0])
    check(row["warningTexts"] and "expires" in row["warningTexts"][0], "%r warning text %r" % (expiring[0], row["warningTexts"]))
    return "%s: %r" % (expiring[0], row["warningTexts"][0])


def injected_warning(ctx):
    driver = ctx.driver
    target = ctx.connectors["orders-db"]["id"]
    source = WARNING_INJECTION % (json.dumps(target), json.dumps(INJECTED_WARNING))
    ctx.injection = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})["identifier"]
    driver.refresh()
    total = len(ctx.connectors)
    wait(driver, 20, lambda d: (lambda s: s["dashboardShown"] and s["loading"] == "false" and len(s["rows"]) == total
                                and all(r["ticks"] for r in s["rows"]))(ctx.page.read()),
         "the dashboard again after a reload (the session kept in sessionStorage)")
    state = ctx.page.read()
    row = by_id(state)[target]
    check(row["warned"] and row["warnings"] == 1, "orders-db: data-warnings %r, has-warning %r" % (row["warnings"], row["warned"]))
    check(row["warningTexts"] and INJECTED_WARNING in row["warningTexts"][0], "the warning reads %r" % row["warningTexts"])
    check(row["warningBelow"], "the warning is not in the row below orders-db")
    check(row["elements"] == 0, "the warning's markup became elements")
    check(row["state"] == "valid", "orders-db is %r" % row["state"])
    ranks = [0 if r["state"] == "failing" else 1 if r["warned"] else 2 for r in state["rows"]]
    check(ranks == sorted(ranks), "rows not failing, then warned, then the rest: %r" % ranks)
    marker = driver.execute_script(
        "const td = document.querySelector('#connectors tr[data-id=\"' + arguments[0] + '\"] td');"
        "return getComputedStyle(td).borderLeftColor;", target)
    rgb = [int(c) for c in re.findall(r"\d+", marker)[:3]]
    check(rgb[0] > 150 and 80 < rgb[1] < 180 and rgb[2] < 60, "the row marker is %s, not amber" % marker)
    return "reload kept the session; orders-db valid with an amber marker and %r" % row["warningTexts"][0]


def sign_out(ctx):
    driver = ctx.driver
    if ctx.injection:
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": ctx.injection})
    driver.find_element(By.ID, "sign-out").click()
    wait(driver, 10, lambda d: ctx.page.read()["signinShown"], "the sign-in form after signing out")
    state = ctx.page.read()
    check(not state["rows"] and not state["dashboardShown"], "rows or the dashboard still shown after signing out")
    traces = ctx.page.traces()
    check(not any(ctx.server.token in v for v in traces["session"].values()), "the token is still in sessionStorage")
    check(SESSION_KEY not in traces["session"], "sessionStorage still has %s" % SESSION_KEY)
    check(ctx.server.token not in traces["html"] and ctx.server.token not in traces["local"], "the token is in the DOM or localStorage")
    driver.refresh()
    wait(driver, 10, lambda d: d.find_elements(By.ID, "signin") and ctx.page.read()["signinShown"], "the sign-in form after a reload")
    check(not ctx.page.read()["dashboardShown"], "a reload after signing out shows the dashboard")
    return "sessionStorage empty (%d keys), sign-in form shown, a reload stays signed out" % len(traces["session"])


def server_gone(ctx):
    """Signed in again, the server stopped, Reload: the page says it cannot reach the server."""
    driver = ctx.driver
    type_credentials(ctx, ctx.server.organization, ctx.server.token)
    wait(driver, 20, lambda d: (lambda s: s["dashboardShown"] and s["loading"] == "false" and s["rows"])(ctx.page.read()),
         "the dashboard after signing in again")
    status = ctx.server.stop()
    check(status == 0, "the server's exit status after SIGTERM was %s" % status)
    driver.find_element(By.ID, "reload").click()
    wait(driver, 15, lambda d: ctx.page.read()["message"], "an error message after Reload")
    state = ctx.page.read()
    check("could not be reached" in state["message"], "the message says %r" % state["message"])
    check(state["dashboardShown"] and state["rows"], "the rows went away on a network error")
    return "server stopped (exit 0), Reload -> %r; the rows stay" % state["message"]


def console_clean(ctx):
    entries = ctx.driver.get_log("browser")
    severe = [e["message"] for e in entries if e.get("level") == "SEVERE"
              and "favicon.ico" not in e["message"] and "status of 401" not in e["message"]]
    violations = [m for m in severe if "Content Security Policy" in m or "Refused" in m]
    check(not violations, "CSP violations: %s" % violations[:3])
    check(not severe, "console errors: %s" % severe[:3])
    return "no CSP violations, no errors (besides the refused token's 401 and the favicon)"


# ------------------------------------------------------------------------------------ main

def main():
    args = parse_args(__doc__, "health")
    require(args, REQUIRED_ENV)
    artifacts = fresh_artifacts(args.artifacts, SCREENSHOTS)

    report = Report()
    with tempfile.TemporaryDirectory(prefix="ce-browser-health.") as work_dir:
        ctx = HealthContext(args, artifacts, Path(work_dir))
        ctx.server = EngineServer(Path(args.binary).resolve(), ctx.work, artifacts / "server.log")
        try:
            setup = report.flow("setup")
            setup.step("start connector-engine serve (fresh SQLite store)", lambda: ctx.server.start(args.start_timeout))

            def healthy():
                ctx.api = Api(ctx.server.base, ctx.server.token, prefix="/api/v1/unstract/%s/" % ctx.server.organization)
                return server_answers(ctx.api)
            setup.step("server answers", healthy)
            setup.step("GET /ui/ and /ui: the page and its headers", lambda: page_headers(ctx))
            setup.step("create the connectors through the API", lambda: create_connectors(ctx))
            setup.step("POST connector/{id}/test/ (wrong password) so it has history", lambda: test_one(ctx))

            def browser():
                ctx.driver = start_browser(args.chromium, args.chromedriver, ctx.work, {"browser": "ALL"})
                ctx.page = Page(ctx)
                return "Chromium %s, headless, 1000x800" % ctx.driver.capabilities.get("browserVersion")
            setup.step("start headless Chromium", browser)

            if not setup.broken:
                flow = report.flow("health page")
                flow.step("open /ui/: the sign-in form", lambda: open_page(ctx))
                flow.step("a wrong token is refused and nothing is kept", lambda: refused_token(ctx))
                flow.step("screenshot signin-refused.png", lambda: screenshot(ctx, "signin-refused.png"))
                flow.step("sign in (organization and token typed)", lambda: sign_in(ctx))
                flow.step("rows before the job: the tested one failing, the others unchecked", lambda: rows_before_job(ctx))
                flow.step("a name with character references shows as typed", lambda: markup_as_text(ctx))
                flow.step("screenshot signed-in.png", lambda: screenshot(ctx, "signed-in.png"))
                flow.step("the token is nowhere but sessionStorage (signed in)", lambda: token_nowhere(ctx))
                flow.step("click 'Check all': the progress bar fills from the stream to the total", lambda: run_job(ctx))
                flow.step("rows after the job: verdicts, red failing stages, history ticks", lambda: rows_after_job(ctx))
                flow.step("a real expiry warning is highlighted", lambda: real_warning(ctx))
                flow.step("screenshot job-done.png", lambda: screenshot(ctx, "job-done.png"))
                flow.step("the token is nowhere but sessionStorage (after the job)", lambda: token_nowhere(ctx))
                flow.step("a warning in the history answer is highlighted (injected by the test)", lambda: injected_warning(ctx))
                flow.step("screenshot warning.png", lambda: screenshot(ctx, "warning.png"))
                flow.step("no CSP violation or error in the console", lambda: console_clean(ctx))
                flow.step("sign out: the token leaves sessionStorage", lambda: sign_out(ctx))
                flow.step("network error: the server stopped under a signed-in page", lambda: server_gone(ctx))
        finally:
            quit_browser(report, ctx.driver)
            stop_server(report, ctx.server)

    return finish(report, artifacts, SCREENSHOTS, "browser health page test")


if __name__ == "__main__":
    sys.exit(main())
