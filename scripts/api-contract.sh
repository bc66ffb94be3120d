#!/usr/bin/env bash
# API contract test: starts the built server on a free port with a throwaway store, and runs
# schemathesis against the OpenAPI document (Sources/ConnectorAPI/Resources/openapi.json, served at
# GET /api/v1/openapi.json). Exit 0 only when schemathesis reports no failure.
#
# Checks: not_a_server_error, status_code_conformance, content_type_conformance,
# response_schema_conformance, response_headers_conformance, plus one of our own
# (server_error_is_a_probe_verdict): a 5xx is acceptable only as the verdict of a credential test
# (`is_valid: false` and `probe`), and only on the operations that run one.
#
# Knobs (environment):
#   CONNECTOR_ENGINE_BIN         the binary (default .build/debug/connector-engine)
#   API_CONTRACT_MAX_EXAMPLES    schemathesis --max-examples per operation (default 50)
#   API_CONTRACT_TIME_LIMIT      seconds before schemathesis is stopped (default 240)
#   API_CONTRACT_SCHEMA          `served` or `source` to force where the document comes from
#                                (default: served when the running binary serves a non-empty one),
#                                or the path of a JSON file to test instead
#   API_CONTRACT_SEED            schemathesis --seed, to replay a run
#   API_CONTRACT_REPORTS         schemathesis --report formats to write (e.g. junit,har); implies KEEP
#   API_CONTRACT_KEEP=1          keep the work directory (server log, reports) for inspection
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${CONNECTOR_ENGINE_BIN:-.build/debug/connector-engine}"
MAX_EXAMPLES="${API_CONTRACT_MAX_EXAMPLES:-50}"
TIME_LIMIT="${API_CONTRACT_TIME_LIMIT:-240}"
SCHEMA_MODE="${API_CONTRACT_SCHEMA:-auto}"
DOC_SOURCE=Sources/ConnectorAPI/Resources/openapi.json

log() { echo "api-contract: $*"; }
die() { echo "api-contract: error: $*" >&2; exit 1; }

[[ -x "$BIN" ]] || die "no executable at $BIN (build first, or set CONNECTOR_ENGINE_BIN)"
command -v curl >/dev/null || die "curl is required"
command -v timeout >/dev/null || die "timeout (coreutils) is required"

if ! python3 -c 'import schemathesis' 2>/dev/null; then
  log "installing schemathesis 4"
  python3 -m pip install --quiet 'schemathesis==4.*'
fi
st_version="$(python3 -c 'import schemathesis; print(schemathesis.__version__)')"
[[ "$st_version" == 4.* ]] || die "schemathesis $st_version is installed; this script needs 4.x (python3 -m pip install 'schemathesis==4.*')"

work="$(mktemp -d "${TMPDIR:-/tmp}/api-contract.XXXXXX")"
data_dir="$(mktemp -d "$work/data.XXXXXX")"
server_pid=""
cleanup() {
  local status=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ "${API_CONTRACT_KEEP:-0}" == 1 ]]; then
    log "kept $work"
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# ---------------------------------------------------------------------------------------------
# The server: fresh SQLite store and generated key in the work directory, development egress
# policy, short probe deadlines (tests schemathesis triggers may aim at any host). Both OAuth
# backends have a client (a made-up one: no sign-in completes, and the consent screens are a
# closed loopback port), so issuing a cache key is a 200, not the 500 of an unconfigured backend.
port="$(free_port)"
base="http://127.0.0.1:$port"
random_text() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }
env -u CONNECTOR_ENGINE_KEYS -u DATABASE_URL -u REDIS_URL \
  GOOGLE_OAUTH2_KEY=contract-client GOOGLE_OAUTH2_SECRET="$(random_text)" \
  DROPBOX_OAUTH2_KEY=contract-app DROPBOX_OAUTH2_SECRET="$(random_text)" \
  "$BIN" serve --host 127.0.0.1 --port "$port" --data-dir "$data_dir" \
  --google-authorize-url http://127.0.0.1:9/auth --dropbox-authorize-url http://127.0.0.1:9/authorize \
  --default-timeout 2 --max-timeout 5 >"$work/server.out" 2>"$work/server.err" &
server_pid=$!

server_failed() {
  echo "--- server stdout" >&2; cat "$work/server.out" >&2 || true
  echo "--- server stderr (last 60 lines)" >&2; tail -n 60 "$work/server.err" >&2 || true
  die "$1"
}

deadline=$((SECONDS + 30))
until grep -q '^Connector Engine is listening' "$work/server.out" 2>/dev/null; do
  kill -0 "$server_pid" 2>/dev/null || server_failed "the server exited during start-up"
  ((SECONDS < deadline)) || server_failed "the server did not start within 30 s"
  sleep 0.2
done
# The banner is written just before the listener binds: wait for the port to answer too.
until curl -sf -o /dev/null "$base/healthz"; do
  kill -0 "$server_pid" 2>/dev/null || server_failed "the server exited during start-up"
  ((SECONDS < deadline)) || server_failed "GET /healthz did not answer within 30 s"
  sleep 0.2
done
token="$(awk '/^API token \(shown only now/ { if ((getline line) > 0) { sub(/^  /, "", line); print line }; exit }' "$work/server.out")"
[[ -n "$token" ]] || server_failed "no API token in the server's banner"
log "server pid $server_pid on $base"

# ---------------------------------------------------------------------------------------------
# Data for the operations on one resource: connector A (retrieve, replace, patch, test, health), connector
# B used by workflow W (delete connector: 409 until W is deleted, then 204). Both point at a
# closed local port, so their tests fail fast with connection_refused (a 500 verdict). Health job J
# checks connector A (status, stream, cancel).
tenant="$base/api/v1/unstract/default"
closed_port="$(free_port)"
api() { # METHOD PATH [BODY]: prints the response body; fails on a non-2xx status
  local method=$1 path=$2 body=${3:-}
  curl -sS --fail-with-body -X "$method" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    ${body:+--data "$body"} "$tenant/$path"
}
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
connector_body() {
  printf '{"connector_id": "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", "connector_name": "%s", "connector_metadata": {"host": "127.0.0.1", "port": "%s", "database": "contract", "user": "contract", "password": "contract-secret"}}' "$1" "$closed_port"
}
connector_a="$(api POST connector/ "$(connector_body contract-a)" | json_field id)" || die "could not create connector A"
connector_b="$(api POST connector/ "$(connector_body contract-b)" | json_field id)" || die "could not create connector B"
workflow_w="$(api POST workflow/ "{\"workflow_name\": \"contract-w\", \"source_connector\": \"$connector_b\"}" | json_field id)" \
  || die "could not create workflow W"
job_j="$(api POST health_checks/ "{\"connector_ids\": [\"$connector_a\"]}" | json_field job_id)" || die "could not start health job J"
log "connector A $connector_a, connector B $connector_b, workflow W $workflow_w, health job J $job_j"

# ---------------------------------------------------------------------------------------------
# The document: the one the server serves, unless that is missing or empty (a binary built before
# the document was written); then the source file itself.
copy_source_document() {
  python3 -c 'import json, sys; json.load(open(sys.argv[1], encoding="utf-8"))' "$DOC_SOURCE" \
    || die "$DOC_SOURCE is not JSON"
  cp "$DOC_SOURCE" "$1"
}
served_is_usable() {
  curl -sf -o "$work/served.json" "$base/api/v1/openapi.json" || return 1
  python3 - "$work/served.json" <<'EOF'
import json, sys
document = json.load(open(sys.argv[1], encoding="utf-8"))
sys.exit(0 if "/api/v1/unstract/{org_id}/connector/" in document.get("paths", {}) else 1)
EOF
}
case "$SCHEMA_MODE" in
  served) served_is_usable || die "the server does not serve a usable document"; schema="$base/api/v1/openapi.json" ;;
  source) copy_source_document "$work/openapi.json"; schema="$work/openapi.json" ;;
  auto)
    if served_is_usable; then
      schema="$base/api/v1/openapi.json"
    else
      log "the binary does not serve the document yet; using $DOC_SOURCE"
      copy_source_document "$work/openapi.json"
      schema="$work/openapi.json"
    fi
    ;;
  *)
    [[ -f "$SCHEMA_MODE" ]] || die "API_CONTRACT_SCHEMA must be auto, served, source or a JSON file"
    cp "$SCHEMA_MODE" "$work/openapi.json"
    schema="$work/openapi.json"
    ;;
esac
if [[ "$schema" == http* ]] && copy_source_document "$work/source.json" 2>/dev/null \
  && ! python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' "$work/served.json" "$work/source.json"; then
  log "note: the served document differs from $DOC_SOURCE (binary older than the source?); testing the served one"
fi
log "schema: $schema"

# ---------------------------------------------------------------------------------------------
# schemathesis configuration: fixed org_id, real ids most of the time for the operations on one
# resource, 500 allowed (as a probe verdict only, see the hook) where a credential test runs.
cat >"$work/schemathesis.toml" <<EOF
[cache]
enabled = false

[parameters]
"path.org_id" = "default"

[dictionaries.connector_a]
values = ["$connector_a"]

[dictionaries.connector_b]
values = ["$connector_b"]

[dictionaries.workflow_w]
values = ["$workflow_w"]

[dictionaries.job_j]
values = ["$job_j"]

[[operations]]
include-operation-id = ["retrieveConnector", "replaceConnector", "updateConnector", "testConnector", "connectorHealth"]
parameters = { "path.id" = { dictionary = "connector_a", probability = 0.8 } }

[[operations]]
include-operation-id = ["healthJob", "streamHealthJob", "cancelHealthJob"]
parameters = { "path.job_id" = { dictionary = "job_j", probability = 0.8 } }

[[operations]]
include-operation-id = "deleteConnector"
parameters = { "path.id" = { dictionary = "connector_b", probability = 0.5 } }

[[operations]]
include-operation-id = ["retrieveWorkflow", "deleteWorkflow"]
parameters = { "path.id" = { dictionary = "workflow_w", probability = 0.5 } }

[[operations]]
include-operation-id = ["testConnectorCredentials", "testConnector", "createConnector", "replaceConnector", "updateConnector"]
checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "500"]
EOF

cat >"$work/contract_hooks.py" <<'EOF'
import schemathesis


@schemathesis.check
def server_error_is_a_probe_verdict(ctx, response, case):
    """A 5xx answer is acceptable only as a failed credential test: `is_valid: false` and `probe`."""
    if response.status_code < 500:
        return None
    try:
        body = response.json()
    except Exception:
        body = None
    if not (isinstance(body, dict) and body.get("is_valid") is False and isinstance(body.get("probe"), dict)):
        raise AssertionError(f"{response.status_code} that is not a probe verdict: {response.text[:400]}")
    return None
EOF

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,server_error_is_a_probe_verdict
args=(
  run "$schema"
  --url "$base"
  --header "Authorization: Bearer $token"
  --checks "$checks"
  --max-examples "$MAX_EXAMPLES"
  --workers 2
  --request-timeout 15
  --generation-database none
  --suppress-health-check all
  --no-color
)
if [[ -n "${API_CONTRACT_REPORTS:-}" ]]; then
  args+=(--report "$API_CONTRACT_REPORTS" --report-dir "$work/report")
  API_CONTRACT_KEEP=1
fi
[[ -n "${API_CONTRACT_SEED:-}" ]] && args+=(--seed "$API_CONTRACT_SEED")

log "schemathesis $st_version: $checks; at most $MAX_EXAMPLES examples per operation, ${TIME_LIMIT} s"
started=$SECONDS
set +e
# Run from the work directory: schemathesis and hypothesis keep state in the current directory.
(cd "$work" && SCHEMATHESIS_HOOKS="$work/contract_hooks.py" timeout --signal=INT --kill-after=15 "$TIME_LIMIT" \
  python3 -m schemathesis.cli --config-file "$work/schemathesis.toml" "${args[@]}") 2>&1 | tee "$work/schemathesis.log" | sed "s|$token|<token>|g"
st_status=${PIPESTATUS[0]}
set -e
log "schemathesis finished in $((SECONDS - started)) s with status $st_status"

if ! kill -0 "$server_pid" 2>/dev/null; then
  server_status=0
  wait "$server_pid" 2>/dev/null || server_status=$?
  server_pid=""
  # A graceful stop (status 0) means someone sent SIGINT or SIGTERM, e.g. Ctrl-C.
  [[ "$server_status" == 0 ]] && die "the server was stopped during the contract test (interrupted?)"
  # The Swift runtime's backtrace: its headline and the first frames of the crashed thread.
  crash="$(awk '/^\*\*\* |Fatal error/ { print } / crashed:$/ { show = 16 } show > 0 { print; show-- }' "$work/server.err" || true)"
  if [[ -n "$crash" ]]; then
    printf -- '--- server stderr: the crash\n%s\n' "$crash" >&2
  else
    echo "--- server stderr (last 40 lines)" >&2
    tail -n 40 "$work/server.err" >&2 || true
  fi
  die "the server died (exit status $server_status) during the contract test; the requests that preceded it are listed above under 'Server Unavailable'"
fi
case "$st_status" in
  0) log "no failures" ;;
  124 | 130 | 137) die "schemathesis did not finish within ${TIME_LIMIT} s" ;;
  *) die "schemathesis reported failures (status $st_status)" ;;
esac
