#!/usr/bin/env bash
# The store/API benchmarks of issue 3, on SQLite and on PostgreSQL: 1,000 stored connectors, then
# list latency (p50/p99), /healthz and retrieve throughput at concurrency 64, create throughput.
# Expects the services of scripts/services.sh to be running (bench.sh starts them).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CONNECTOR_ENGINE_BIN:-.build/release/connector-engine}
DURATION=${BENCH_SECONDS:-10}
# --read-cache-seconds of the server (0 measures every read going to the store).
READ_CACHE=${BENCH_READ_CACHE_SECONDS:-2}
work="$(mktemp -d "${TMPDIR:-/tmp}/ce-bench-api.XXXXXX")"
server_pid=""
pg_database=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  if [[ -n "$pg_database" ]]; then psql -q "$CE_STORE_PG_URL" -c "DROP DATABASE IF EXISTS $pg_database" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Prints wrk's requests/s, p50, p99 and non-2xx count on one line.
wrk_line() { # LABEL WRK-ARGS...
  local label="$1"; shift
  local out
  out="$(wrk --latency "$@")"
  local rps p50 p99 bad
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  bad="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
  printf '  %-34s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n' "$label" "$rps" "$p50" "$p99" "${bad:-0}"
  echo "$rps"  >"$work/last_rps"
}

run_backend() { # sqlite|postgres
  local backend="$1" port data out
  port="$(free_port)"
  data="$work/$backend"
  mkdir -p "$data"
  out="$data/serve.out"
  if [[ "$backend" == postgres ]]; then
    pg_database="bench_$RANDOM$RANDOM"
    psql -q "$CE_STORE_PG_URL" -c "CREATE DATABASE $pg_database" >/dev/null
    DATABASE_URL="${CE_STORE_PG_URL/\/postgres\?//$pg_database?}" CONNECTOR_ENGINE_KEYS= \
      "$BIN" serve --port "$port" --data-dir "$data" --read-cache-seconds "$READ_CACHE" >"$out" 2>"$data/serve.err" &
  else
    CONNECTOR_ENGINE_KEYS= "$BIN" serve --port "$port" --data-dir "$data" --read-cache-seconds "$READ_CACHE" \
      >"$out" 2>"$data/serve.err" &
  fi
  server_pid=$!
  for _ in $(seq 300); do grep -q '^Connector Engine is listening' "$out" 2>/dev/null && break; sleep 0.1; done
  grep -q '^Connector Engine is listening' "$out" || { cat "$data/serve.err" >&2; exit 1; }
  local token
  token="$(awk '/API token \(shown only now/ {getline; print $1}' "$out")"
  local base="http://127.0.0.1:$port"
  echo "== $backend store (--read-cache-seconds $READ_CACHE)"
  python3 scripts/bench/seed.py "$port" "$token" 1000 "$data/ids" | sed 's/^/  /'
  export TOKEN="$token" IDS_FILE="$data/ids"
  cat >"$work/list.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA
  wrk_line "list (1000 rows), c=1" -t1 -c1 -d"${DURATION}s" -s "$work/list.lua" "$base/api/v1/unstract/default/connector/"
  wrk_line "list page of 50, c=1" -t1 -c1 -d"${DURATION}s" -s "$work/list.lua" "$base/api/v1/unstract/default/connector/?page=1&page_size=50"
  wrk_line "/healthz, c=64" -t2 -c64 -d"${DURATION}s" "$base/healthz"
  local healthz; healthz="$(cat "$work/last_rps")"
  wrk_line "retrieve, c=64" -t2 -c64 -d"${DURATION}s" -s scripts/bench/retrieve.lua "$base"
  local retrieve; retrieve="$(cat "$work/last_rps")"
  printf '  retrieve / healthz = %.0f%%\n' "$(python3 -c "print(100*$retrieve/$healthz)")"
  wrk_line "create, c=64" -t2 -c64 -d"${DURATION}s" -s scripts/bench/create.lua "$base"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}

run_backend sqlite
run_backend postgres
