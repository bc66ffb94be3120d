"""BigQuery in the fake Google (fake_google.py): jobs.insert of a query job, as the BigQuery
probe sends it (a dry run of `SELECT 1`; a job that is not a dry run is DONE at once). Only
project ce-project exists; the errors are BigQuery's (with "status").
"""

import base64
import json
import secrets
import time
import urllib.parse

from fake_google_base import AUTH, PROJECT, google_error, route

INSERT_SCOPES = {AUTH + "bigquery", AUTH + "cloud-platform"}


def jobs_insert(h, match, _query, body):
    """POST /bigquery/v2/projects/{project}/jobs {"configuration": {"query": {...}, "dryRun"}}."""
    info = h.api_auth("bigquery", None, with_status=True)
    if info is None:
        return
    if not info["scopes"] & INSERT_SCOPES:
        return h.send_json(403, google_error(
            403, "Request had insufficient authentication scopes.", "insufficientPermissions",
            "PERMISSION_DENIED", item_message="Insufficient Permission"))

    def bad(msg, reason="invalid"):
        h.send_json(400, google_error(400, msg, reason, "INVALID_ARGUMENT"))

    try:
        req = json.loads(body.decode("utf-8")) if body.strip() else {}
    except (UnicodeDecodeError, ValueError):
        return bad("Invalid JSON payload received. Unexpected token.")
    if not isinstance(req, dict):
        return bad("Invalid JSON payload received. Expected an object.")
    project = urllib.parse.unquote(match.group(1))
    if project != PROJECT:
        return h.send_json(404, google_error(404, "Not found: Project %s" % project, "notFound",
                                             "NOT_FOUND"))
    if not h.has_access(info):
        msg = ("Access Denied: Project %s: User does not have bigquery.jobs.create permission "
               "in project %s." % (project, project))
        return h.send_json(403, google_error(403, msg, "accessDenied", "PERMISSION_DENIED"))
    cfg = req.get("configuration")
    cfg = cfg if isinstance(cfg, dict) else {}
    q = cfg.get("query") if isinstance(cfg.get("query"), dict) else {}
    sql = q.get("query")
    if not isinstance(sql, str) or not sql.strip():
        return bad("Required parameter is missing", "required")
    h.send_json(200, job(h.st.base_url, project, info["principal"], sql, bool(cfg.get("dryRun")),
                         q.get("useLegacySql", True) is not False))


def job(base_url, project, email, sql, dry, legacy):
    """The job resource jobs.insert answers: done, one INTEGER column, nothing billed."""
    now_ms = str(int(time.time() * 1000))
    schema = {"fields": [{"name": "f0_", "type": "INTEGER", "mode": "NULLABLE"}]}
    ref = {"projectId": project, "location": "US"}
    if not dry:
        ref = {"projectId": project, "jobId": "job_" + secrets.token_urlsafe(21), "location": "US"}
    query_stats = {"totalBytesProcessed": "0", "totalBytesBilled": "0", "cacheHit": False,
                   "statementType": "SELECT", "schema": schema,
                   "totalBytesProcessedAccuracy": "PRECISE"}
    stats = {"creationTime": now_ms, "totalBytesProcessed": "0", "query": query_stats}
    if not dry:
        stats.update({"startTime": now_ms, "endTime": now_ms})
    out = {
        "kind": "bigquery#job",
        "etag": base64.b64encode(secrets.token_bytes(16)).decode(),
        "user_email": email,
        "configuration": {"query": {"query": sql, "priority": "INTERACTIVE",
                                    "useLegacySql": legacy},
                          "dryRun": dry, "jobType": "QUERY"},
        "jobReference": ref,
        "statistics": stats,
        "status": {"state": "DONE"},
        "principal_subject": ("serviceAccount:" if email.endswith(".gserviceaccount.com")
                              else "user:") + email,
    }
    if not dry:
        out["id"] = "%s:US.%s" % (project, ref["jobId"])
        out["selfLink"] = "%s/bigquery/v2/projects/%s/jobs/%s?location=US" % (
            base_url, project, ref["jobId"])
    return out


ROUTES = [
    route("POST", r"/bigquery/v2/projects/([^/]+)/jobs", jobs_insert),
]
