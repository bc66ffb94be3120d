import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The health page at `/ui/` (DESIGN §3): HTML and plain JavaScript served by the server; the
/// user types a token, kept in session storage, and the page calls the API with it.
extension ConnectorRoutes {
    func registerHealthPage(on router: Router<APIRequestContext>) {
        // Rendered (and its hashes computed) once, when the routes are registered.
        let page = HealthPage.rendered
        // The router treats a trailing slash as optional: this serves `/ui` and `/ui/`.
        router.get("ui") { _, _ in page.response() }
    }
}

/// One HTML document with its style and script inline, allowed by hash in its
/// `Content-Security-Policy`; it talks to the API of its own origin only. The token the user
/// types lives in `sessionStorage` and in the `Authorization` header of the page's requests,
/// never in a URL, `localStorage` or the document. Everything the API returns is inserted as
/// text (`textContent`, `dataset`), never as markup.
struct HealthPage: Sendable {
    let body: ByteBuffer
    let contentSecurityPolicy: String

    static let rendered = HealthPage()

    init() {
        let styleHash = Self.hash(Self.style)
        let scriptHash = Self.hash(Self.script)
        body = ByteBuffer(string: Self.document(style: Self.style, script: Self.script))
        contentSecurityPolicy = [
            "default-src 'none'", "script-src '\(scriptHash)'", "style-src '\(styleHash)'", "connect-src 'self'",
            "img-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
        ].joined(separator: "; ")
    }

    func response() -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                HTTPField.Name("Content-Security-Policy")!: contentSecurityPolicy,
                HTTPField.Name("Referrer-Policy")!: "no-referrer", HTTPField.Name("X-Frame-Options")!: "DENY",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            ],
            body: ResponseBody(byteBuffer: body))
    }

    /// The CSP source of an inline element's exact text.
    static func hash(_ text: String) -> String {
        "sha256-" + Data(SHA256.hash(data: Data(text.utf8))).base64EncodedString()
    }

    static func document(style: String, script: String) -> String {
        #"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Connector health · Connector Engine</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <style>\#(style)</style></head>
        <body data-view="signed-out">
        <header class="top">
          <h1>Connector health</h1>
          <div id="account" class="account" hidden>
            <span>Organization <strong id="account-org"></strong></span>
            <button id="sign-out" type="button" class="secondary">Sign out</button>
          </div>
        </header>
        <main>
          <section id="signin-panel" class="panel" aria-labelledby="signin-title">
            <h2 id="signin-title">Sign in</h2>
            <p class="muted">Type an API token of this server. It is kept in this tab's session storage only and sent in the
            <code>Authorization</code> header; closing the tab or signing out forgets it.</p>
            <form id="signin" novalidate>
              <label for="signin-org">Organization id</label>
              <input id="signin-org" name="org" type="text" value="default" required autocomplete="off" spellcheck="false">
              <label for="signin-token">API token</label>
              <input id="signin-token" name="token" type="password" required autocomplete="off" spellcheck="false">
              <button id="signin-submit" type="submit">Sign in</button>
              <p id="signin-error" class="error" role="alert" hidden></p>
            </form>
          </section>
          <section id="dashboard" hidden aria-labelledby="dashboard-title">
            <h2 id="dashboard-title" class="visually-hidden">Connectors</h2>
            <div class="toolbar">
              <button id="run-job" type="button">Check all</button>
              <button id="reload" type="button" class="secondary">Reload</button>
              <div class="job">
                <div id="job-progress" class="progress" role="progressbar" aria-label="Health check job progress"
                  aria-valuemin="0" aria-valuemax="0" aria-valuenow="0" data-done="0" data-total="0" data-status="idle">
                  <div class="fill"></div>
                </div>
                <span id="job-status" class="job-status" aria-live="polite">No check running.</span>
              </div>
            </div>
            <p id="message" class="error" role="alert" hidden></p>
            <p id="summary" class="summary" aria-live="polite"></p>
            <table id="connectors">
              <caption class="visually-hidden">Connectors, failing first, with the last check's stage timings and the last 20 checks</caption>
              <colgroup><col class="c-name"><col class="c-type"><col class="c-state"><col class="c-checked"><col class="c-stages"><col class="c-history"></colgroup>
              <thead><tr><th scope="col">Connector</th><th scope="col">Type</th><th scope="col">State</th><th scope="col">Checked</th>
                <th scope="col">Last check by stage</th><th scope="col">History (oldest left)</th></tr></thead>
              <tbody></tbody>
            </table>
            <p id="empty" class="empty" hidden>No connectors in this organization yet. Create one with
            <code>POST connector/</code>, then check it here.</p>
            <div id="legend" class="legend" aria-label="Stage colours">
              <span class="legend-title">Stages:</span>
              <span class="key"><span class="swatch" data-stage="validate"></span>validate</span>
              <span class="key"><span class="swatch" data-stage="resolve"></span>resolve</span>
              <span class="key"><span class="swatch" data-stage="connect"></span>connect</span>
              <span class="key"><span class="swatch" data-stage="tls"></span>tls</span>
              <span class="key"><span class="swatch" data-stage="auth"></span>auth</span>
              <span class="key"><span class="swatch" data-stage="query"></span>query</span>
              <span class="key"><span class="swatch" data-stage="request"></span>request</span>
              <span class="key"><span class="swatch failed"></span>failed stage</span>
              <span class="key"><span class="swatch tick-valid"></span>valid check</span>
              <span class="key"><span class="swatch tick-failing"></span>failed check</span>
              <span class="key"><span class="swatch warn"></span>warning</span>
            </div>
          </section>
        </main>
        <script>\#(script)</script></body></html>
        """#
    }

    static let style = #"""
        :root { --bg: #f4f5f7; --panel: #fff; --text: #1d2330; --muted: #4f5a6d; --line: #dde1e8; --accent: #1f5fbf;
          --ok: #1d7a3e; --ok-bg: #e3f3e8; --bad: #c8271b; --bad-text: #8d1a11; --bad-bg: #fdeceb; --warn: #c77700;
          --warn-text: #5f3a00; --warn-bg: #fff5d9; --idle-bg: #eceef2; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--text); }
        .top { display: flex; align-items: center; justify-content: space-between; gap: 16px; padding: 12px 20px; background: #1d2330; color: #fff; }
        .top h1 { font-size: 18px; margin: 0; font-weight: 600; }
        .account { display: flex; align-items: center; gap: 12px; font-size: 13px; }
        .account[hidden] { display: none; }
        .account strong { font-weight: 600; }
        main { padding: 16px 20px 28px; max-width: 1280px; margin: 0 auto; }
        h2 { font-size: 17px; margin: 0 0 8px; }
        code { background: #eef0f4; padding: 0 4px; border-radius: 4px; font-size: 12.5px; }
        .muted { color: var(--muted); }
        .panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 20px 24px; max-width: 440px; margin: 40px auto; }
        form { display: grid; gap: 6px; }
        label { font-weight: 600; margin-top: 8px; }
        input { font: inherit; padding: 7px 9px; border: 1px solid #b8bfcc; border-radius: 6px; color: var(--text); background: #fff; }
        input:focus, button:focus-visible { outline: 3px solid #8db4f0; outline-offset: 1px; }
        button { font: inherit; font-weight: 600; padding: 7px 14px; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
        button.secondary { background: #fff; color: var(--accent); }
        .top button.secondary { border-color: #fff; }
        button:disabled { opacity: .55; cursor: default; }
        form button { margin-top: 14px; justify-self: start; }
        .error { color: var(--bad-text); background: var(--bad-bg); border: 1px solid #f3b8b2; border-radius: 6px; padding: 8px 12px; margin: 10px 0 0; }
        .error[hidden], .empty[hidden], section[hidden] { display: none; }
        .toolbar { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; margin-bottom: 6px; }
        .job { display: flex; align-items: center; gap: 10px; flex: 1 1 280px; min-width: 0; }
        .progress { position: relative; flex: 1 1 200px; max-width: 360px; height: 14px; border-radius: 7px; background: var(--idle-bg); border: 1px solid var(--line); overflow: hidden; }
        .progress .fill { height: 100%; width: 0; background: var(--accent); transition: width .2s ease-out; }
        .progress[data-status="done"] .fill { background: var(--ok); }
        .progress[data-status="failed"] .fill { background: var(--bad); }
        .job-status { color: var(--muted); font-size: 13px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; min-width: 0; }
        .summary { margin: 8px 0; color: var(--muted); }
        table { width: 100%; border-collapse: collapse; table-layout: fixed; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; }
        col.c-name { width: 23%; } col.c-type { width: 10%; } col.c-state { width: 18%; } col.c-checked { width: 10%; }
        col.c-stages { width: 19%; } col.c-history { width: 20%; }
        th { text-align: left; font-size: 12px; font-weight: 600; color: var(--muted); padding: 8px 10px; border-bottom: 1px solid var(--line); background: #f9fafb; }
        td { padding: 9px 10px; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
        tbody tr:last-child td { border-bottom: 0; }
        tbody tr td:first-child { border-left: 4px solid transparent; }
        tbody tr[data-state="failing"] td:first-child { border-left-color: var(--bad); }
        tbody tr.has-warning td:first-child, tbody tr.warning-row td:first-child { border-left-color: var(--warn); }
        tbody tr.has-warning, tbody tr.warning-row { background: #fffbef; }
        tbody tr.has-warning td { border-bottom-color: transparent; }
        tbody tr.warning-row td { padding-top: 0; }
        .name { font-weight: 600; }
        .detail { color: var(--bad-text); font-size: 12.5px; margin-top: 2px; }
        .warnings { list-style: none; margin: 0; padding: 0; }
        .warning { color: var(--warn-text); background: var(--warn-bg); border: 1px solid #f1d18a; border-radius: 4px; font-size: 13px; padding: 3px 8px; margin-top: 3px; }
        .warning .expires { color: var(--warn-text); font-weight: 600; }
        .warning::before { content: "\26A0\FE0E  "; font-weight: 700; }
        .type { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 12.5px; }
        .badge { display: inline-block; max-width: 100%; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; overflow-wrap: anywhere; vertical-align: middle; }
        .badge.valid { background: var(--ok-bg); color: #14532d; }
        .badge.failing { background: var(--bad-bg); color: var(--bad-text); }
        .badge.unchecked { background: var(--idle-bg); color: #3d4554; }
        .stage-note { color: var(--muted); font-size: 12px; margin-top: 2px; }
        time, .when { color: var(--text); font-size: 13px; }
        .none { color: var(--muted); font-size: 12.5px; }
        .stage-bar { display: flex; height: 14px; border-radius: 3px; overflow: hidden; background: var(--idle-bg); margin-top: 2px; }
        .segment { flex: 1 0 0; min-width: 3px; border-right: 1px solid #fff; }
        .segment:last-child { border-right: 0; }
        .segment[data-stage="validate"], .swatch[data-stage="validate"] { background: #9aa3b3; }
        .segment[data-stage="resolve"], .swatch[data-stage="resolve"] { background: #8fb6ea; }
        .segment[data-stage="connect"], .swatch[data-stage="connect"] { background: #3f7fd6; }
        .segment[data-stage="tls"], .swatch[data-stage="tls"] { background: #7a68d0; }
        .segment[data-stage="auth"], .swatch[data-stage="auth"] { background: #2b9a9a; }
        .segment[data-stage="query"], .swatch[data-stage="query"] { background: #2f6d4a; }
        .segment[data-stage="request"], .swatch[data-stage="request"] { background: #5a8f2f; }
        .segment.failed, .swatch.failed { background: var(--bad); }
        .bar-total { color: var(--muted); font-size: 12px; margin-top: 3px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
        .history { display: flex; gap: 2px; align-items: center; flex-wrap: nowrap; min-height: 16px; margin-top: 1px; overflow: hidden; }
        .tick, .slot { flex: 0 0 auto; width: 6px; height: 16px; border-radius: 2px; background: var(--ok); }
        .slot { background: #e4e7ec; }
        .tick[data-valid="false"] { background: var(--bad); }
        .history-note { color: var(--muted); font-size: 12px; margin-top: 3px; }
        .legend { display: flex; flex-wrap: wrap; gap: 6px 14px; margin-top: 12px; font-size: 12.5px; color: var(--muted); align-items: center; }
        .legend-title { font-weight: 600; }
        .key { display: inline-flex; align-items: center; gap: 5px; }
        .swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; }
        .swatch.tick-valid { background: var(--ok); } .swatch.tick-failing { background: var(--bad); }
        .swatch.warn { background: var(--warn-bg); border: 2px solid var(--warn); }
        .empty { background: var(--panel); border: 1px dashed #b8bfcc; border-radius: 8px; padding: 18px; text-align: center; color: var(--muted); }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
        """#

    static let script = #"""
        "use strict";
        (function () {
          const SESSION_KEY = "connector-engine.health-session";
          const STAGES = ["validate", "resolve", "connect", "tls", "auth", "query", "request"];
          const HISTORY_SIZE = 20;
          const HISTORY_FETCHES_AT_ONCE = 4;
          const byId = function (id) { return document.getElementById(id); };

          // session: {org, token} while signed in; rows: connector id -> {connector, last, history}.
          const state = { session: null, rows: new Map(), generation: 0, job: null };

          class ApiError extends Error {
            constructor(kind, status, message) { super(message); this.kind = kind; this.status = status; }
          }

          // ------------------------------------------------------------------ session storage
          function readSession() {
            try {
              const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
              if (saved && typeof saved.org === "string" && saved.org && typeof saved.token === "string" && saved.token) {
                return { org: saved.org, token: saved.token };
              }
            } catch (e) { /* unreadable: signed out */ }
            return null;
          }
          function saveSession(session) { sessionStorage.setItem(SESSION_KEY, JSON.stringify(session)); }
          function forgetSession() { try { sessionStorage.removeItem(SESSION_KEY); } catch (e) { /* nothing kept */ } }

          // ------------------------------------------------------------------------- the API
          function apiBase(session) { return "/api/v1/unstract/" + encodeURIComponent(session.org) + "/"; }

          async function api(path, options, session) {
            options = options || {};
            session = session || state.session;
            if (!session) { throw new ApiError("signed-out", 0, "Not signed in."); }
            const init = {
              method: options.method || "GET", cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer",
              headers: { "Authorization": "Bearer " + session.token, "Accept": options.accept || "application/json" },
              signal: options.signal,
            };
            if (options.body !== undefined) {
              init.headers["Content-Type"] = "application/json";
              init.body = JSON.stringify(options.body);
            }
            let response;
            try {
              response = await fetch(apiBase(session) + path, init);
            } catch (error) {
              if (error && error.name === "AbortError") { throw error; }
              throw new ApiError("network", 0, "The server could not be reached (network error). Check that it is running, then reload.");
            }
            if (!response.ok) { throw await refusal(response, session); }
            return response;
          }

          async function refusal(response, session) {
            if (response.status === 401) {
              return new ApiError("unauthorized", 401, "The token was refused (401): it is unknown, revoked or mistyped. Check it and sign in again.");
            }
            if (response.status === 404 && session) {
              return new ApiError("not-found", 404, "Not found (404): this token is not a member of organization \u201C" + session.org + "\u201D, or the item is gone.");
            }
            let detail = "";
            try {
              const body = await response.json();
              if (body && Array.isArray(body.errors) && body.errors[0] && typeof body.errors[0].detail === "string") {
                detail = body.errors[0].detail;
              }
            } catch (e) { /* not JSON */ }
            return new ApiError("http", response.status, "The server answered " + response.status + (detail ? ": " + detail : "."));
          }

          async function json(path, options, session) {
            const response = await api(path, options, session);
            try { return await response.json(); } catch (e) { throw new ApiError("http", response.status, "The server sent an answer that is not JSON."); }
          }

          // --------------------------------------------------------------------- formatting
          function typeOf(catalogId) { return String(catalogId || "").split("|")[0] || "unknown"; }

          function ago(iso) {
            const at = Date.parse(iso);
            if (isNaN(at)) { return "unknown"; }
            const seconds = Math.max(0, Math.round((Date.now() - at) / 1000));
            if (seconds < 10) { return "just now"; }
            if (seconds < 60) { return seconds + " s ago"; }
            const minutes = Math.round(seconds / 60);
            if (minutes < 60) { return minutes + " min ago"; }
            const hours = Math.round(minutes / 60);
            if (hours < 48) { return hours + " h ago"; }
            return Math.round(hours / 24) + " days ago";
          }

          function localTime(iso, withSeconds) {
            const at = new Date(iso);
            if (isNaN(at.getTime())) { return String(iso); }
            return at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: withSeconds ? "medium" : "short" });
          }

          function duration(ms) {
            if (typeof ms !== "number" || !isFinite(ms)) { return "?"; }
            if (ms < 1) { return ms.toFixed(2) + " ms"; }
            if (ms < 10) { return ms.toFixed(1) + " ms"; }
            if (ms < 1000) { return Math.round(ms) + " ms"; }
            return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
          }

          function element(tag, className, text) {
            const node = document.createElement(tag);
            if (className) { node.className = className; }
            if (text !== undefined && text !== null) { node.textContent = String(text); }
            return node;
          }

          // ------------------------------------------------------------------------ the rows
          // The verdict a row shows: the newest full check when known, else the connector's last_health.
          function verdictOf(row) {
            if (row.last) { return row.last; }
            const health = row.connector.last_health;
            return health && typeof health === "object" ? health : null;
          }

          function stateOf(row) {
            const verdict = verdictOf(row);
            if (!verdict) { return "unchecked"; }
            return verdict.is_valid === true ? "valid" : "failing";
          }

          function warningsOf(row) {
            return row.last && Array.isArray(row.last.warnings) ? row.last.warnings.filter(function (w) { return w && typeof w === "object"; }) : [];
          }

          function rank(row) {
            const s = stateOf(row);
            if (s === "failing") { return 0; }
            if (warningsOf(row).length) { return 1; }
            return s === "unchecked" ? 2 : 3;
          }

          function compareRows(a, b) {
            return rank(a) - rank(b) || String(a.connector.connector_name).localeCompare(String(b.connector.connector_name));
          }

          function renderRow(row) {
            const connector = row.connector;
            const verdict = verdictOf(row);
            const rowState = stateOf(row);
            const warnings = warningsOf(row);
            const tr = document.createElement("tr");
            tr.dataset.id = String(connector.id);
            tr.dataset.state = rowState;
            tr.dataset.code = verdict ? String(verdict.code || "") : "";
            tr.dataset.warnings = String(warnings.length);
            if (warnings.length) { tr.classList.add("has-warning"); }

            const nameCell = element("td");
            nameCell.append(element("div", "name", connector.connector_name));
            if (rowState === "failing" && verdict.detail) { nameCell.append(element("div", "detail", verdict.detail)); }
            tr.append(nameCell);

            const typeCell = element("td");
            const type = element("span", "type", typeOf(connector.connector_id));
            type.title = String(connector.connector_id || "");
            typeCell.append(type);
            tr.append(typeCell);

            const stateCell = element("td");
            const badgeText = rowState === "valid" ? "valid" : rowState === "failing" ? (verdict.code || "failing") : "unchecked";
            const badge = element("span", "badge " + rowState, badgeText);
            badge.title = badgeText;
            stateCell.append(badge);
            if (rowState === "failing" && verdict.stage) { stateCell.append(element("div", "stage-note", "at stage " + verdict.stage)); }
            tr.append(stateCell);

            const checkedCell = element("td");
            if (verdict && verdict.checked_at) {
              const time = element("time", "when", ago(verdict.checked_at));
              time.dateTime = String(verdict.checked_at);
              time.title = String(verdict.checked_at);
              checkedCell.append(time);
            } else {
              checkedCell.append(element("span", "none", "never"));
            }
            tr.append(checkedCell);

            const stagesCell = element("td");
            stagesCell.append(stageBar(row.last));
            tr.append(stagesCell);

            const historyCell = element("td");
            historyCell.append(historyStrip(row));
            tr.append(historyCell);
            if (!warnings.length) { return [tr]; }

            // The warnings span the row below, under the same amber marker.
            const warningRow = element("tr", "warning-row");
            warningRow.dataset.for = String(connector.id);
            const cell = element("td");
            cell.colSpan = 6;
            const list = element("ul", "warnings");
            list.setAttribute("aria-label", "Warnings for " + String(connector.connector_name));
            for (const warning of warnings) {
              const item = element("li", "warning", warning.detail || warning.code || "Warning");
              item.dataset.code = String(warning.code || "");
              if (warning.expires_at) {
                item.append(" ");
                const expires = element("time", "expires", "Expires " + localTime(warning.expires_at) + ".");
                expires.dateTime = String(warning.expires_at);
                item.append(expires);
              }
              list.append(item);
            }
            cell.append(list);
            warningRow.append(cell);
            return [tr, warningRow];
          }

          function stageBar(check) {
            const stages = check && check.stages && typeof check.stages === "object" ? check.stages : null;
            const names = stages ? Object.keys(stages).sort(function (a, b) {
              const ia = STAGES.indexOf(a), ib = STAGES.indexOf(b);
              return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
            }) : [];
            const wrap = element("div", "stage-wrap");
            if (!names.length) {
              wrap.append(element("span", "none", check ? "no stage timings" : "\u2014"));
              return wrap;
            }
            const bar = element("div", "stage-bar");
            bar.setAttribute("role", "img");
            const words = [];
            // Flex grow factors summing to less than 1 would leave the bar part empty: scale to 1000.
            let sum = 0;
            for (const name of names) { const ms = stages[name] && stages[name].ms; sum += typeof ms === "number" && ms > 0 ? ms : 0; }
            for (const name of names) {
              const timing = stages[name] || {};
              const ms = typeof timing.ms === "number" && timing.ms >= 0 ? timing.ms : 0;
              const failed = timing.ok === false;
              const segment = element("span", "segment" + (failed ? " failed" : ""));
              segment.dataset.stage = name;
              segment.dataset.ms = String(ms);
              segment.dataset.ok = failed ? "false" : "true";
              segment.style.flexGrow = String(Math.max(sum > 0 ? (1000 * ms) / sum : 1, 0.001));
              const word = name + " " + duration(ms) + (failed ? " (failed)" : "");
              segment.title = word;
              words.push(word);
              bar.append(segment);
            }
            bar.setAttribute("aria-label", "Stage timings: " + words.join(", "));
            bar.title = words.join(" \u00B7 ");
            wrap.append(bar);
            const total = typeof check.elapsed_ms === "number" ? check.elapsed_ms : null;
            wrap.append(element("div", "bar-total", (total === null ? "" : duration(total) + ", ") + names.length + (names.length === 1 ? " stage" : " stages")));
            return wrap;
          }

          function historyStrip(row) {
            const wrap = element("div", "history-wrap");
            const strip = element("div", "history");
            strip.setAttribute("role", "img");
            const checks = (row.history || []).slice(0, HISTORY_SIZE).reverse();
            let valid = 0;
            // Empty places first, so the newest check is always at the right end.
            for (let i = checks.length; i < HISTORY_SIZE; i += 1) { strip.append(element("span", "slot")); }
            for (const check of checks) {
              const ok = check.is_valid === true;
              if (ok) { valid += 1; }
              const tick = element("span", "tick");
              tick.dataset.valid = ok ? "true" : "false";
              tick.dataset.code = String(check.code || "");
              tick.title = localTime(check.checked_at, true) + " \u00B7 " + (ok ? "valid" : String(check.code || "failing"));
              strip.append(tick);
            }
            strip.setAttribute("aria-label", checks.length
              ? "Last " + checks.length + " checks, oldest first: " + valid + " valid, " + (checks.length - valid) + " failing"
              : "No checks recorded");
            wrap.append(strip);
            if (row.historyError) {
              wrap.append(element("div", "history-note", row.historyError));
            } else if (row.history === null) {
              wrap.append(element("div", "history-note", "loading\u2026"));
            } else if (!checks.length) {
              wrap.append(element("div", "history-note", "no checks yet"));
            }
            return wrap;
          }

          function renderTable() {
            const body = document.querySelector("#connectors tbody");
            const rows = Array.from(state.rows.values()).sort(compareRows);
            const nodes = [];
            for (const row of rows) { nodes.push.apply(nodes, renderRow(row)); }
            body.replaceChildren.apply(body, nodes);
            byId("connectors").hidden = rows.length === 0;
            byId("empty").hidden = rows.length !== 0;
            renderSummary();
          }

          function renderOne(row) {
            const id = CSS.escape(String(row.connector.id));
            const body = document.querySelector("#connectors tbody");
            const old = body.querySelector('tr[data-id="' + id + '"]');
            const oldWarnings = body.querySelector('tr.warning-row[data-for="' + id + '"]');
            const fresh = renderRow(row);
            if (old) { old.replaceWith.apply(old, fresh); } else { body.append.apply(body, fresh); }
            if (oldWarnings) { oldWarnings.remove(); }
            byId("connectors").hidden = false;
            byId("empty").hidden = true;
            renderSummary();
          }

          function renderSummary() {
            const counts = { valid: 0, failing: 0, unchecked: 0 };
            let warned = 0;
            for (const row of state.rows.values()) {
              counts[stateOf(row)] += 1;
              if (warningsOf(row).length) { warned += 1; }
            }
            const total = state.rows.size;
            byId("summary").textContent = total === 0 ? "" :
              total + (total === 1 ? " connector: " : " connectors: ") + counts.failing + " failing, " + counts.valid + " valid, " +
              counts.unchecked + " never checked" + (warned ? ", " + warned + " with warnings" : "") + ".";
          }

          function refreshTimes() {
            for (const time of document.querySelectorAll("#connectors time.when[datetime]")) {
              time.textContent = ago(time.getAttribute("datetime"));
            }
          }

          // ----------------------------------------------------------------------- loading
          function showMessage(text) {
            const message = byId("message");
            message.textContent = text || "";
            message.hidden = !text;
          }

          function handleError(error) {
            if (error && error.name === "AbortError") { return; }
            if (error && error.kind === "unauthorized") { signOut(error.message); return; }
            showMessage(error && error.message ? error.message : "Something went wrong.");
          }

          async function loadAll() {
            const generation = ++state.generation;
            byId("reload").disabled = true;
            byId("dashboard").dataset.loading = "true";
            try {
              const connectors = await json("connector/");
              if (generation !== state.generation) { return; }
              if (!Array.isArray(connectors)) { throw new ApiError("http", 200, "The connector list is not a list."); }
              const rows = new Map();
              for (const connector of connectors) {
                if (!connector || typeof connector !== "object" || !connector.id) { continue; }
                const before = state.rows.get(connector.id);
                rows.set(connector.id, { connector: connector, last: before ? before.last : null, history: before ? before.history : null, historyError: null });
              }
              state.rows = rows;
              showMessage("");
              renderTable();
              await loadHistories(generation, Array.from(rows.values()));
            } catch (error) {
              handleError(error);
            } finally {
              if (generation === state.generation) {
                byId("reload").disabled = false;
                byId("dashboard").dataset.loading = "false";
              }
            }
          }

          async function loadHistories(generation, rows) {
            const queue = rows.slice();
            async function worker() {
              while (queue.length) {
                const row = queue.shift();
                try {
                  const page = await json("connector/" + encodeURIComponent(row.connector.id) + "/health/?page_size=" + HISTORY_SIZE);
                  if (generation !== state.generation) { return; }
                  row.history = Array.isArray(page.results) ? page.results : [];
                  row.last = row.history.length ? row.history[0] : null;
                  row.historyError = null;
                } catch (error) {
                  if (error && error.kind === "unauthorized") { throw error; }
                  if (generation !== state.generation) { return; }
                  row.history = row.history || [];
                  row.historyError = error.kind === "not-found" ? "deleted since the list was loaded" : "history not loaded: " + error.message;
                }
                if (state.rows.get(row.connector.id) === row) { renderOne(row); }
              }
            }
            const workers = [];
            for (let i = 0; i < HISTORY_FETCHES_AT_ONCE; i += 1) { workers.push(worker()); }
            await Promise.all(workers);
            if (generation === state.generation) { renderTable(); }
          }

          // --------------------------------------------------------------------- the job
          function setProgress(status, done, total, text) {
            const bar = byId("job-progress");
            bar.dataset.status = status;
            bar.dataset.done = String(done);
            bar.dataset.total = String(total);
            bar.setAttribute("aria-valuemax", String(total));
            bar.setAttribute("aria-valuenow", String(done));
            bar.querySelector(".fill").style.width = (total > 0 ? Math.min(100, (100 * done) / total) : (status === "done" ? 100 : 0)) + "%";
            byId("job-status").textContent = text || (total > 0 ? done + " of " + total + " checked" : "");
          }

          async function readLines(response, onLine) {
            const reader = response.body.getReader();
            const decoder = new TextDecoder();
            let buffered = "";
            for (;;) {
              const chunk = await reader.read();
              if (chunk.done) { break; }
              buffered += decoder.decode(chunk.value, { stream: true });
              let newline;
              while ((newline = buffered.indexOf("\n")) >= 0) {
                const line = buffered.slice(0, newline).trim();
                buffered = buffered.slice(newline + 1);
                if (line) { onLine(line); }
              }
            }
            buffered += decoder.decode();
            if (buffered.trim()) { onLine(buffered.trim()); }
          }

          function applyResult(job, result) {
            if (!result || typeof result !== "object" || !result.id || job.seen.has(result.id)) { return; }
            job.seen.add(result.id);
            let row = state.rows.get(result.id);
            if (!row) {
              row = { connector: { id: result.id, connector_name: result.connector_name, connector_id: result.connector_id, last_health: null }, last: null, history: [], historyError: null };
              state.rows.set(result.id, row);
            }
            const check = {
              checked_at: new Date().toISOString(), is_valid: result.is_valid === true, code: result.code, status: result.status,
              stage: result.stage, attr: result.attr, detail: result.detail, stages: result.stages, elapsed_ms: result.elapsed_ms,
              warnings: Array.isArray(result.warnings) ? result.warnings : [],
            };
            row.last = check;
            row.history = [check].concat(row.history || []).slice(0, HISTORY_SIZE);
            renderOne(row);
            setProgress("running", job.seen.size, job.total);
          }

          function delay(ms, signal) {
            return new Promise(function (resolve, reject) {
              const timer = setTimeout(resolve, ms);
              if (signal) { signal.addEventListener("abort", function () { clearTimeout(timer); reject(new DOMException("aborted", "AbortError")); }); }
            });
          }

          async function runJob() {
            if (state.job || !state.session) { return; }
            const controller = new AbortController();
            const job = { id: null, total: 0, seen: new Set(), controller: controller };
            state.job = job;
            byId("run-job").disabled = true;
            showMessage("");
            setProgress("running", 0, 0, "Starting a check of every connector\u2026");
            let finished = false;
            try {
              const started = await json("health_checks/", { method: "POST", body: {}, signal: controller.signal });
              job.id = String(started.job_id);
              job.total = Number(started.total) || 0;
              setProgress("running", 0, job.total, job.total ? undefined : "No connectors to check.");
              const path = "health_checks/" + encodeURIComponent(job.id);
              let interrupted = false;
              if (job.total > 0) {
                try {
                  const stream = await api(path + "/stream", { accept: "application/x-ndjson", signal: controller.signal });
                  await readLines(stream, function (line) {
                    let result;
                    try { result = JSON.parse(line); } catch (e) { return; }
                    applyResult(job, result);
                  });
                } catch (error) {
                  if (error && (error.name === "AbortError" || error.kind === "unauthorized")) { throw error; }
                  interrupted = true;
                }
              }
              // The job's own account: results the stream may have missed, and its final counts.
              let status = await json(path + "/", { signal: controller.signal });
              while (status.status === "running") {
                if (interrupted) { setProgress("running", job.seen.size, job.total, "Stream interrupted; following the job\u2026"); }
                for (const result of status.results || []) { applyResult(job, result); }
                await delay(1000, controller.signal);
                status = await json(path + "/", { signal: controller.signal });
              }
              for (const result of status.results || []) { applyResult(job, result); }
              const counts = status.counts && typeof status.counts === "object" ? status.counts : {};
              const failing = Object.keys(counts).filter(function (code) { return code !== "ok"; })
                .map(function (code) { return code + " " + counts[code]; });
              const done = Number(status.done) || job.seen.size;
              const total = Number(status.total) || job.total;
              setProgress(status.status === "done" ? "done" : "failed", done, total,
                (status.status === "done" ? "Done: " : "Job " + status.status + ": ") + (Number(status.valid) || 0) + " of " + total + " valid" +
                (failing.length ? "; " + failing.join(", ") : ""));
              finished = true;
            } catch (error) {
              if (!(error && error.name === "AbortError")) {
                setProgress("failed", job.seen.size, job.total, "The check did not finish.");
                handleError(error);
              }
            } finally {
              if (state.job === job) { state.job = null; }
              byId("run-job").disabled = !state.session;
            }
            if (finished && state.session) { await loadAll(); }
          }

          // ---------------------------------------------------------------- signing in and out
          function showSignedIn() {
            document.body.dataset.view = "signed-in";
            byId("signin-panel").hidden = true;
            byId("dashboard").hidden = false;
            byId("account").hidden = false;
            byId("account-org").textContent = state.session.org;
            byId("run-job").disabled = false;
          }

          function signOut(reason) {
            if (state.job) { state.job.controller.abort(); state.job = null; }
            state.generation += 1;
            state.session = null;
            state.rows = new Map();
            forgetSession();
            document.querySelector("#connectors tbody").replaceChildren();
            byId("dashboard").dataset.loading = "false";
            byId("summary").textContent = "";
            showMessage("");
            setProgress("idle", 0, 0, "No check running.");
            document.body.dataset.view = "signed-out";
            byId("dashboard").hidden = true;
            byId("account").hidden = true;
            byId("account-org").textContent = "";
            byId("signin-panel").hidden = false;
            byId("signin-token").value = "";
            const error = byId("signin-error");
            error.textContent = reason || "";
            error.hidden = !reason;
            byId("signin-token").focus();
          }

          async function signIn(event) {
            event.preventDefault();
            const org = byId("signin-org").value.trim();
            const tokenInput = byId("signin-token");
            const token = tokenInput.value.trim();
            const error = byId("signin-error");
            if (!org || !token) {
              error.textContent = !org ? "Type the organization id." : "Type an API token.";
              error.hidden = false;
              (org ? tokenInput : byId("signin-org")).focus();
              return;
            }
            const submit = byId("signin-submit");
            submit.disabled = true;
            error.hidden = true;
            const session = { org: org, token: token };
            try {
              // The token is kept only once the server accepts it for this organization.
              await api("connector/?page_size=1", {}, session);
              saveSession(session);
              state.session = session;
              tokenInput.value = "";
              showSignedIn();
              await loadAll();
            } catch (failure) {
              tokenInput.value = "";
              error.textContent = failure && failure.message ? failure.message : "Signing in failed.";
              error.hidden = false;
              tokenInput.focus();
            } finally {
              submit.disabled = false;
            }
          }

          byId("signin").addEventListener("submit", signIn);
          byId("sign-out").addEventListener("click", function () { signOut(""); });
          byId("reload").addEventListener("click", function () { showMessage(""); loadAll(); });
          byId("run-job").addEventListener("click", runJob);
          setInterval(refreshTimes, 30000);

          state.session = readSession();
          if (state.session) {
            byId("signin-org").value = state.session.org;
            showSignedIn();
            loadAll();
          } else {
            byId("signin-token").focus();
          }
        })();
        """#
}
