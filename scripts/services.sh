#!/usr/bin/env bash
# Local database services for Connector Engine tests, without Docker.
#
#   scripts/services.sh start    start everything in a fresh temp dir (loopback only)
#   scripts/services.sh stop     stop what `start` started (by recorded PID), remove the temp dir
#   scripts/services.sh restart  stop, then start
#   scripts/services.sh env      print `export CE_...=...` lines: eval "$(scripts/services.sh env)"
#   scripts/services.sh status   show what is running (exit 0 = all up, 1 = some down, 3 = not started)
#   scripts/services.sh list     print each service with the port variables `env` gives it
#                                (`postgres CE_PG_PORT CE_PG_PLAIN_PORT`; needs nothing running)
# For docker-compose.test.yml (scripts/check_compose.py checks it against `list`):
#   scripts/services.sh certs DIR          the CA and server certificate `start` makes, in DIR/tls
#                                          and DIR/private (kept while valid for another day)
#   scripts/services.sh setup-sql postgres|mariadb   print the accounts SQL `start` runs, with the
#                                          passwords from CE_PG_PASSWORD, CE_PG_NOCONNECT_PASSWORD,
#                                          CE_PG_STORE_PASSWORD / CE_MARIADB_PASSWORD,
#                                          CE_MARIADB_LOCKED_PASSWORD
#
# What `start` brings up, each on a free 127.0.0.1 port chosen at start:
#   - PostgreSQL 15, TLS on (cert for DNS:localhost only, from a CA generated for the run),
#     scram-sha-256, max_connections=2000; run as the `postgres` OS user via setpriv.
#   - PostgreSQL 15 without TLS (max_connections=50, shared_buffers=16MB).
#   - MariaDB with TLS (same CA / certificate), max_connections=2000, back_log=2000.
#   - MariaDB without TLS (--skip-ssl), max_connections=100.
#   - scripts/test_listeners.py: hold, pg-stall-tls, pg-script, mysql-stall-auth, drip-pg,
#     drip-mysql, flood-headers and blackhole endpoints, plus a closed port.
#   - scripts/s3_server.py: S3 (moto server, plain HTTP, path-style) that verifies SigV4
#     signatures and IAM policies. Bucket ce-probe (us-east-1) with one object; IAM user
#     probe-ok (s3:ListBucket, s3:ListAllMyBuckets), IAM user probe-denied (no policy).
#     Access keys are random per run (CE_S3_KEY/SECRET, CE_S3_DENIED_KEY/SECRET). The same
#     server also answers HTTPS on CE_S3_TLS_PORT (certificate for DNS:localhost only, from the
#     run's CA: https://localhost:$CE_S3_TLS_PORT).
#   - scripts/fake_google.py: Google OAuth token endpoint (JWT bearer, refresh-token and
#     authorization-code grants), GCS JSON API bucket get/list, BigQuery jobs.insert,
#     Drive about (one module per API: scripts/fake_google_*.py); checks assertions, tokens and
#     rights like the real services. Service accounts (key files written per run): ok (bucket
#     ce-probe, project ce-project), noaccess (valid, no rights), revoked (disabled key),
#     bench-0 .. bench-9 (like ok, for benchmarks; CE_GOOGLE_BENCH_DIR); an OAuth client with a
#     valid and a revoked refresh token.
#     Token requests per account: GET $CE_GOOGLE_API_URL/_stats.
#   - scripts/fake_dropbox.py: Dropbox API v2 users/get_current_account and the OAuth
#     refresh-token and authorization-code grants (/oauth2/token), with the real error shapes.
#     One app (key/secret), a valid, an expired and a no-scope (no account_info.read) access
#     token, a valid and a revoked refresh token, all random per run. Counts: GET
#     $CE_DROPBOX_URL/_stats.
#   - Both fakes are also an OAuth authorization-code provider (scripts/fake_oauth.py) for the
#     same client / app: a consent page at CE_GOOGLE_AUTHORIZE_URL / CE_DROPBOX_AUTHORIZE_URL
#     (buttons with ids allow and deny; redirect_uri must be http(s) on a loopback host), codes
#     single-use for 60 s with PKCE S256, refresh, revocation at CE_GOOGLE_REVOKE_URL /
#     CE_DROPBOX_REVOKE_URL; Google's consenting user is CE_GOOGLE_OAUTH_FLOW_USER. Test hooks on
#     each: POST /_oauth/rotate [enabled=true|false] [refresh_token=...] (refresh-token rotation),
#     POST /_oauth/expire_codes (Dropbox only); /_tokens/expire also expires the flow's access
#     tokens and /_stats has the flow's counters under "oauth_flow".
#   - scripts/fake_snowflake.py: Snowflake driver login (POST /session/v1/login-request) with
#     password and key-pair (SNOWFLAKE_JWT) authentication and the real response codes. Account
#     CE_TEST; users PROBE_PW (password), PROBE_KEY (RSA key pair, plus an unregistered second
#     key for the fingerprint-mismatch case), PROBE_LOCKED (locked); all random per run.
#     Counts: GET $CE_SNOWFLAKE_URL/_stats.
#   - Redis 7 (redis-server), two processes, no persistence (save '', appendonly no), each with
#     its own redis.conf in the run dir: plain (requirepass, plus the ACL user `cache`) and TLS
#     only (port 0, tls-port; certificate for DNS:localhost from the run's CA, no client
#     certificates). Both take the same password, random per run.
#
# Accounts (both servers of a kind get the same ones; passwords are random per run):
#   PG:      role probe (CONNECT on db probe; USAGE on probe_schema, none on sealed_schema),
#            role probe_noconnect (no CONNECT on probe), db sealed (no CONNECT for PUBLIC).
#   MariaDB: 'probe'@'%' (ALL on probe.*, plus SELECT on `probe\_%`.* so that the missing
#            database probe_missing gives 1049, not 1044), db sealed (no grant),
#            'probe_locked'@'%' (ACCOUNT LOCK). No anonymous users; root only via the socket.
#   Redis:   the default user (requirepass CE_REDIS_PASSWORD); ACL user cache (all keys and
#            channels, every command but @dangerous), its password in CE_REDIS_ACL_URL.
# Self-test: eval "$(scripts/services.sh env)" && scripts/check_services.py
#
# The run directory is created under ${TMPDIR:-/tmp}; its location, the ports, PIDs
# and generated passwords are kept in the state file
#   ${CE_SERVICES_STATE_DIR:-/tmp/connector-engine-services}/state   (root-only, 0600).
# Must run as root (it switches to the postgres user for PostgreSQL).
# Knobs: CE_LISTENERS_MAX_SECONDS (default 14400: the listener process, the S3 server and the
# fake Google, Dropbox and Snowflake servers exit by themselves after that), CE_SERVICES_KEEP_ON_FAILURE=1 (keep the
# run dir when start fails).
#
# Each service is one block of the service table below (`service NAME ...` and its NAME_start,
# NAME_ready and NAME_env functions); the commands go through the table, so adding a service is
# adding a block (and its counterpart in docker-compose.test.yml, which check_compose.py wants).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE_DIR="${CE_SERVICES_STATE_DIR:-/tmp/connector-engine-services}"
STATE_FILE="$STATE_DIR/state"
LISTENERS_MAX_SECONDS="${CE_LISTENERS_MAX_SECONDS:-14400}"
READY_TIMEOUT=60
MARKER=.connector-engine-services
# What `start` itself runs (certificates, port picking, passwords), whatever the services.
LAUNCHER_NEEDS="openssl python3"

# Client environment must not leak into the setup connections.
while IFS= read -r _v; do unset "$_v"; done < <(compgen -e | grep -E '^(PG[A-Z]+|MYSQL_[A-Z_]+|MARIADB_[A-Z_]+)$' || true)
unset _v

log() { echo "services: $*"; }
die() { echo "services: error: $*" >&2; exit 1; }

# Single-quote a value for sh/bash `eval` (keeps newlines).
sq() { local s="$1"; printf "'%s'" "${s//\'/\'\\\'\'}"; }

state_set() { printf '%s=%s\n' "$1" "$(sq "$2")" >>"$STATE_FILE"; }

# One `export NAME=VALUE` line of `env`.
emit() { printf 'export %s=%s\n' "$1" "$(sq "$2")"; }

check_state_dir() {
  if [[ -e "$STATE_DIR" || -L "$STATE_DIR" ]]; then
    [[ -d "$STATE_DIR" && ! -L "$STATE_DIR" && -O "$STATE_DIR" ]] \
      || die "$STATE_DIR exists but is not a directory owned by $(id -un)"
  fi
}

load_state() {
  check_state_dir
  [[ -f "$STATE_FILE" ]] || return 1
  # shellcheck disable=SC1090
  source "$STATE_FILE"
}

# ours PID: the PID is alive and belongs to this run (cwd or command line inside RUN_DIR).
ours() {
  local pid="${1:-}" cwd cmd
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  [[ -n "${RUN_DIR:-}" ]] || return 1
  cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null || true)"
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  [[ "$cwd" == "$RUN_DIR"/* || "$cmd" == *"$RUN_DIR"/* ]]
}

# alive PID: the process exists and is not a zombie. Our daemons are not our children (setsid /
# pg_ctl), so after they exit they stay zombies until init reaps them, which can take seconds.
alive() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat:0:1}" != Z ]]
}

wait_gone() { # PID SECONDS
  local pid="$1" n=$(( $2 * 10 ))
  while (( n-- > 0 )); do
    alive "$pid" || return 0
    sleep 0.1
  done
  ! alive "$pid"
}

stop_pid() { # NAME PID SECONDS: SIGTERM, then SIGKILL after SECONDS (only a process of this run)
  local name="$1" pid="${2:-}"
  ours "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$3"; then
    echo "services: $name (pid $pid) ignored SIGTERM for $3 s; sending SIGKILL" >&2
    ours "$pid" && kill -KILL "$pid" 2>/dev/null
    wait_gone "$pid" 5 || true
  fi
}

fail_with_log() { # WHAT LOGFILE
  {
    echo "services: error: $1"
    if [[ -f "$2" ]]; then
      echo "---- last lines of $2 ----"
      tail -n 40 "$2"
      echo "----"
    fi
  } >&2
  exit 1
}

# wait_until WHAT PID LOG HINT COMMAND...: run COMMAND every 0.1 s until it succeeds; fail,
# showing the end of LOG, when PID exits (the message adds HINT, if not empty) or after
# READY_TIMEOUT seconds.
wait_until() {
  local what="$1" pid="$2" logf="$3" hint="${4:+ ($4)}" deadline=$((SECONDS + READY_TIMEOUT))
  shift 4
  until "$@"; do
    alive "$pid" || fail_with_log "$what exited during start-up$hint" "$logf"
    (( SECONDS < deadline )) || fail_with_log "$what did not become ready within ${READY_TIMEOUT}s" "$logf"
    sleep 0.1
  done
}

random_words() { # N: N random words of 24 letters and digits, on one line
  python3 - "$1" <<'EOF'
import secrets, string, sys
a = string.ascii_letters + string.digits
print(" ".join("".join(secrets.choice(a) for _ in range(24)) for _ in range(int(sys.argv[1]))))
EOF
}

free_ports() { # N: N distinct free 127.0.0.1 ports (held open at once, then released), on one line
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

check_needs() { # NEED...: X.py a script in this folder, /path a program, else a command on PATH
  local need
  for need in "$@"; do
    case "$need" in
      *.py) [[ -f "$SCRIPT_DIR/$need" ]] || die "$SCRIPT_DIR/$need not found" ;;
      */*) [[ -x "$need" ]] || die "$need not found; run scripts/deps.sh" ;;
      *) command -v "$need" >/dev/null || die "$need not found; run scripts/deps.sh" ;;
    esac
  done
}

gen_certs() {
  local tls="$RUN_DIR/tls" priv="$RUN_DIR/private" cnf="$RUN_DIR/private/openssl.cnf" tag
  mkdir -m 0755 "$tls"
  mkdir -m 0700 "$priv"
  tag="$(basename "$RUN_DIR")"
  cat >"$cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
EOF
  (
    umask 077
    openssl req -config "$cnf" -x509 -extensions v3_ca -newkey rsa:2048 -nodes \
      -keyout "$priv/ca.key" -out "$tls/ca.crt" -days 30 \
      -subj "/O=Connector Engine tests/CN=Connector Engine Test CA $tag"
    openssl req -config "$cnf" -x509 -extensions v3_ca -newkey rsa:2048 -nodes \
      -keyout "$priv/other-ca.key" -out "$tls/other-ca.crt" -days 30 \
      -subj "/O=Unrelated/CN=Unrelated Test CA $tag"
    openssl req -config "$cnf" -new -newkey rsa:2048 -nodes \
      -keyout "$priv/server.key" -out "$priv/server.csr" -subj "/CN=localhost"
    openssl x509 -req -in "$priv/server.csr" -CA "$tls/ca.crt" -CAkey "$priv/ca.key" \
      -set_serial "0x$(openssl rand -hex 16)" -days 30 \
      -extfile "$cnf" -extensions v3_server -out "$tls/server.crt"
  ) >"$priv/openssl.log" 2>&1 || fail_with_log "certificate generation failed" "$priv/openssl.log"
  chmod 0644 "$tls/ca.crt" "$tls/other-ca.crt" "$tls/server.crt"
}

# ---- helpers that `start` runs in the background while the rest starts (initdb,
# mariadb-install-db), each in its own session so that a failed start can end it with its children.
declare -A HELPERS=()

start_helper() { # PIDVAR DIR LOG COMMAND...: run COMMAND in DIR in the background; its PID in PIDVAR
  local pidvar="$1" dir="$2" logf="$3"
  shift 3
  (cd "$dir" && exec setsid "$@") >"$logf" 2>&1 &
  printf -v "$pidvar" '%s' "$!"
  HELPERS[$!]=1
}

finish_helper() { # PID WHAT LOG: wait for the helper; fail, showing LOG, when it failed
  local rc=0
  wait "$1" || rc=$?
  unset 'HELPERS[$1]'
  (( rc == 0 )) || fail_with_log "$2 failed" "$3"
}

# ---- the Python test servers (s3_server.py, fake_*.py): each takes --port, --dir (its
# credential files; its log goes there too) and --max-seconds, and prints "NAME: ready ..." only
# after writing its credential files.

py_server_start() { # PIDVAR DIR SCRIPT PORT [ARGS...]: start SCRIPT in its own session, record its pid
  local pidvar="$1" dir="$2" script="$3" port="$4"
  shift 4
  mkdir -m 0700 "$dir"
  setsid python3 "$script" --port "$port" --dir "$dir" --max-seconds "$LISTENERS_MAX_SECONDS" "$@" \
    </dev/null >>"$dir/log" 2>&1 &
  printf -v "$pidvar" '%s' "$!"
  state_set "$pidvar" "$!"
}

has_ready_line() { # NAME LOG
  grep -q "^$1: ready " "$2" 2>/dev/null
}

# py_server_ready SCRIPT PID DIR HINT FILE VAR=KEY...: wait for the ready line in DIR/log (HINT,
# if not empty, says what may be wrong when the server exits), then take the VARs from DIR/FILE
# (state_from_json).
py_server_ready() {
  local name dir="$3" file="$5"
  name="$(basename "$1" .py)"
  wait_until "$name.py" "$2" "$dir/log" "$4" has_ready_line "$name" "$dir/log"
  shift 5
  state_from_json "$dir/$file" "$dir/log" "$@"
}

# state_from_json FILE LOG VAR=KEY[.KEY]...: set each VAR to the string at that key path of the
# JSON FILE (multi-line values too, trailing newlines dropped) and record it in the state. A
# missing or empty value fails, showing the end of LOG.
state_from_json() {
  local file="$1" logf="$2" assignments var
  shift 2
  assignments="$(python3 - "$file" "$@" <<'EOF'
import json, shlex, sys
doc = json.load(open(sys.argv[1]))
for pair in sys.argv[2:]:
    var, _, path = pair.partition("=")
    value = doc
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, str) or not value.strip():
        sys.exit("%s: no value at %s" % (sys.argv[1], path))
    print("%s=%s" % (var, shlex.quote(value.rstrip("\n"))))
EOF
)" || fail_with_log "cannot read $file" "$logf"
  eval "$assignments"
  for var in "${@%%=*}"; do
    state_set "$var" "${!var}"
  done
}

# ==========================================================================================
# The service table. Each service that `start` brings up is one block: a `service` line and the
# functions named after the service. The commands go through the services in table order:
# `list`, `env` and `status` print them in it; `start` launches all of them, then waits for each
# in turn; `stop` stops them in reverse order.
#
#   service NAME [--ports "VAR..."] [--secrets "VAR..."] [--needs "NEED..."]
#                [--process LABEL PIDVAR PORTVAR]... [--stop-seconds N]
#     --ports         the variables of its ports: free 127.0.0.1 ports, all picked together at
#                     start and recorded in the state; `list` prints them as CE_VAR, and its
#                     NAME_env must print each (scripts/check_compose.py checks that)
#     --secrets       variables set to random passwords at start and recorded in the state
#     --needs         checked before anything starts: X.py a script in this folder, /path a
#                     program, else a command on PATH
#     --process       one of its processes: a `status` row (LABEL, 127.0.0.1:$PORTVAR, pid
#                     $PIDVAR); `stop` sends it SIGTERM, and SIGKILL after --stop-seconds (10)
#   NAME_start  launches it without waiting for it (every service is launched before any is
#               waited for) and records its PIDs in the state with state_set
#   NAME_launch (optional) runs after every NAME_start and before any NAME_ready: finishes what
#               NAME_start began in the background (initdb) and starts the servers, so that
#               they boot while the services before them are waited for
#   NAME_ready  waits until it answers, sets it up, then logs "... ready ..."
#   NAME_env    its `export CE_...` lines for `env` (emit VAR VALUE); called only when the state
#               has all its ports (a run started by an older version may lack a service)
#   NAME_stop   (optional) stops it instead of the --process default
#   NAME_pids   (optional) the PIDs it may have running, instead of the --process PIDs (for
#               `start`'s already-running check and `stop`'s final check)
# Other functions of a block take other names (redis_server_start, not redis_launch).

SERVICES=()
PROCESSES=()  # "NAME|LABEL|PIDVAR|PORTVAR", in table order
declare -A SERVICE_PORTS=() SERVICE_SECRETS=() SERVICE_NEEDS=() SERVICE_STOP_SECONDS=()

service() { # NAME FIELDS...: add a service to the table (see above)
  local name="$1"
  shift
  SERVICES+=("$name")
  SERVICE_STOP_SECONDS[$name]=10
  while (( $# )); do
    case "$1" in
      --ports) SERVICE_PORTS[$name]="$2"; shift 2 ;;
      --secrets) SERVICE_SECRETS[$name]="$2"; shift 2 ;;
      --needs) SERVICE_NEEDS[$name]="$2"; shift 2 ;;
      --stop-seconds) SERVICE_STOP_SECONDS[$name]="$2"; shift 2 ;;
      --process) PROCESSES+=("$name|$2|$3|$4"); shift 4 ;;
      *) die "service $name: unknown field $1" ;;
    esac
  done
}

# ---- PostgreSQL 15, TLS on (cert for DNS:localhost only), scram-sha-256, max_connections=2000;
# and without TLS (max_connections=50, shared_buffers=16MB). One initdb, copied for the second
# server; both run as the `postgres` OS user via setpriv.
PG_BIN=/usr/lib/postgresql/15/bin
AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups -- env HOME=/var/lib/postgresql)
service postgres --ports "PG_PORT PG_PLAIN_PORT" \
  --secrets "PG_PASSWORD PG_NOCONNECT_PASSWORD PG_STORE_PASSWORD" \
  --needs "$PG_BIN/initdb $PG_BIN/pg_ctl $PG_BIN/pg_isready $PG_BIN/psql setpriv" \
  --process "postgres tls" PG_PID PG_PORT \
  --process "postgres plain" PG_PLAIN_PID PG_PLAIN_PORT

as_pg() { (cd "$PG_ROOT" && "${AS_PG[@]}" "$@"); }

pg_pid_of() { # DATADIR -> postmaster pid (from postmaster.pid), if any
  [[ -f "$1/postmaster.pid" ]] && head -n1 "$1/postmaster.pid" 2>/dev/null || true
}

postgres_start() {
  id postgres >/dev/null 2>&1 || die "no 'postgres' OS user; run scripts/deps.sh"
  if ! "${AS_PG[@]}" test -x "$RUN_DIR"; then
    die "the postgres user cannot reach $RUN_DIR; point TMPDIR at a world-traversable directory"
  fi
  PG_ROOT="$RUN_DIR/pg"
  state_set PG_ROOT "$PG_ROOT"
  install -d -o postgres -g postgres -m 0700 "$PG_ROOT" "$PG_ROOT/sock"
  ( umask 077; printf '%s\n' "$(random_words 1)" >"$PG_ROOT/superuser.pw" )
  chown postgres:postgres "$PG_ROOT/superuser.pw"
  start_helper PG_INITDB_PID "$PG_ROOT" "$PG_ROOT/initdb.log" "${AS_PG[@]}" \
    "$PG_BIN/initdb" -D "$PG_ROOT/tls" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --pwfile="$PG_ROOT/superuser.pw" -E UTF8 --no-locale --no-sync --no-instructions
}

postgres_launch() {
  finish_helper "$PG_INITDB_PID" initdb "$PG_ROOT/initdb.log"
  rm -f "$PG_ROOT/superuser.pw"
  cp -a "$PG_ROOT/tls" "$PG_ROOT/plain"
  pg_configure "$PG_ROOT/tls" "$PG_PORT" on 2000 128MB
  pg_configure "$PG_ROOT/plain" "$PG_PLAIN_PORT" off 50 16MB
  as_pg "$PG_BIN/pg_ctl" -D "$PG_ROOT/tls" -l "$PG_ROOT/tls.log" -W start >/dev/null \
    || fail_with_log "pg_ctl start failed (tls)" "$PG_ROOT/tls.log"
  as_pg "$PG_BIN/pg_ctl" -D "$PG_ROOT/plain" -l "$PG_ROOT/plain.log" -W start >/dev/null \
    || fail_with_log "pg_ctl start failed (plain)" "$PG_ROOT/plain.log"
}

postgres_ready() {
  pg_wait_ready "postgres (tls)" "$PG_ROOT/tls" "$PG_PORT" "$PG_ROOT/tls.log"
  PG_PID=$REPLY
  state_set PG_PID "$PG_PID"
  pg_wait_ready "postgres (plain)" "$PG_ROOT/plain" "$PG_PLAIN_PORT" "$PG_ROOT/plain.log"
  PG_PLAIN_PID=$REPLY
  state_set PG_PLAIN_PID "$PG_PLAIN_PID"
  pg_setup_sql "$PG_PORT" || fail_with_log "PostgreSQL (tls) setup SQL failed" "$PG_ROOT/tls.log"
  pg_setup_sql "$PG_PLAIN_PORT" || fail_with_log "PostgreSQL (plain) setup SQL failed" "$PG_ROOT/plain.log"
  log "postgres ready: tls 127.0.0.1:$PG_PORT (pid $PG_PID), plain 127.0.0.1:$PG_PLAIN_PORT (pid $PG_PLAIN_PID)"
}

postgres_env() {
  emit CE_PG_PORT "$PG_PORT"
  emit CE_PG_PLAIN_PORT "$PG_PLAIN_PORT"
  emit CE_PG_USER probe
  emit CE_PG_MD5_USER probe_md5
  emit CE_PG_TRUST_USER probe_trust          # pg_hba: trust (no password asked)
  emit CE_PG_CLEARTEXT_USER probe_cleartext  # pg_hba: password (cleartext)
  emit CE_PG_EXPIRING_USER probe_expiring  # CE_PG_PASSWORD; VALID UNTIL 10 days after start
  emit CE_PG_PASSWORD "$PG_PASSWORD"
  emit CE_PG_DATABASE probe
  emit CE_PG_SCHEMA probe_schema
  emit CE_PG_SEALED_SCHEMA sealed_schema
  emit CE_PG_SEALED_DATABASE sealed
  emit CE_PG_MISSING_DATABASE probe_missing
  emit CE_PG_NOCONNECT_USER probe_noconnect
  emit CE_PG_NOCONNECT_PASSWORD "$PG_NOCONNECT_PASSWORD"
  # The connector store's own tests: a role that may create (and drop) its databases.
  emit CE_PG_BIN "$PG_BIN"
  emit CE_STORE_PG_URL "postgres://store:$PG_STORE_PASSWORD@127.0.0.1:$PG_PLAIN_PORT/postgres?sslmode=disable"
}

postgres_stop() {
  [[ -n "${PG_ROOT:-}" ]] || return 0
  stop_pg "postgres tls" "$PG_ROOT/tls" "${PG_PID:-}"
  stop_pg "postgres plain" "$PG_ROOT/plain" "${PG_PLAIN_PID:-}"
}

postgres_pids() { # the recorded postmaster PIDs, or before they are recorded those of postmaster.pid
  [[ -n "${PG_ROOT:-}" ]] || return 0
  echo "${PG_PID:-$(pg_pid_of "$PG_ROOT/tls")}"
  echo "${PG_PLAIN_PID:-$(pg_pid_of "$PG_ROOT/plain")}"
}

stop_pg() { # NAME DATADIR RECORDED_PID
  local name="$1" data="$2" pid="${3:-}"
  [[ -n "$pid" ]] || pid="$(pg_pid_of "$data")"
  ours "$pid" || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  if ! wait_gone "$pid" 5; then
    echo "services: $name (pid $pid) did not stop with -m fast; using -m immediate" >&2
    as_pg "$PG_BIN/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    wait_gone "$pid" 10 || { ours "$pid" && kill -KILL "$pid" 2>/dev/null; wait_gone "$pid" 5 || true; }
  fi
}

pg_configure() { # DATADIR PORT SSL(on/off) MAX_CONN SHARED_BUFFERS
  local data="$1"
  cat >>"$data/postgresql.conf" <<EOF

# ---- scripts/services.sh ----
listen_addresses = '127.0.0.1'
port = $2
unix_socket_directories = '$PG_ROOT/sock'
unix_socket_permissions = 0700
max_connections = $4
shared_buffers = $5
password_encryption = 'scram-sha-256'
ssl = $3
huge_pages = off
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  if [[ "$3" == on ]]; then
    cat >>"$data/postgresql.conf" <<EOF
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
EOF
    install -o postgres -g postgres -m 0600 "$RUN_DIR/private/server.key" "$data/server.key"
    install -o postgres -g postgres -m 0644 "$RUN_DIR/tls/server.crt" "$data/server.crt"
  fi
  cat >"$data/pg_hba.conf" <<'EOF'
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       postgres                 trust
host    all       probe_md5 127.0.0.1/32   md5
host    all       probe_trust 127.0.0.1/32 trust
host    all       probe_cleartext 127.0.0.1/32 password
host    all       all       127.0.0.1/32   scram-sha-256
host    all       all       ::1/128        scram-sha-256
EOF
  chown postgres:postgres "$data/postgresql.conf" "$data/pg_hba.conf"
}

pg_wait_ready() { # NAME DATADIR PORT LOG -> sets REPLY to the postmaster pid
  local name="$1" data="$2" port="$3" logf="$4" deadline=$((SECONDS + READY_TIMEOUT)) pid=""
  while :; do
    if "$PG_BIN/pg_isready" -q -h "$PG_ROOT/sock" -p "$port" -t 2; then
      pid="$(pg_pid_of "$data")"
      [[ -n "$pid" ]] && break
    fi
    (( SECONDS < deadline )) || fail_with_log "$name did not become ready within ${READY_TIMEOUT}s" "$logf"
    if [[ -f "$logf" ]] && grep -qE 'FATAL|PANIC' "$logf" && [[ ! -f "$data/postmaster.pid" ]]; then
      fail_with_log "$name failed to start" "$logf"
    fi
    sleep 0.1
  done
  REPLY="$pid"
}

pg_setup_sql_text() { # the roles, databases and schemas both servers get (also `setup-sql postgres`)
  cat <<EOF
CREATE ROLE probe LOGIN PASSWORD '$PG_PASSWORD';
CREATE ROLE probe_noconnect LOGIN PASSWORD '$PG_NOCONNECT_PASSWORD';
SET password_encryption = 'md5';
CREATE ROLE probe_md5 LOGIN PASSWORD '$PG_PASSWORD';
RESET password_encryption;
CREATE ROLE probe_trust LOGIN;
CREATE ROLE probe_cleartext LOGIN PASSWORD '$PG_PASSWORD';
CREATE ROLE store LOGIN CREATEDB PASSWORD '$PG_STORE_PASSWORD';
DO \$\$ BEGIN
  EXECUTE format('CREATE ROLE probe_expiring LOGIN PASSWORD %L VALID UNTIL %L', '$PG_PASSWORD', (now() + interval '10 days')::text);
END \$\$;
CREATE DATABASE probe;
REVOKE CONNECT, TEMPORARY ON DATABASE probe FROM PUBLIC;
GRANT CONNECT ON DATABASE probe TO probe, probe_md5, probe_expiring, probe_trust, probe_cleartext;
CREATE DATABASE sealed;
REVOKE CONNECT, TEMPORARY ON DATABASE sealed FROM PUBLIC;
\connect probe
CREATE SCHEMA probe_schema;
GRANT USAGE ON SCHEMA probe_schema TO probe;
CREATE SCHEMA sealed_schema;
REVOKE ALL ON SCHEMA sealed_schema FROM PUBLIC;
EOF
}

pg_setup_sql() { # PORT
  pg_setup_sql_text | as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_ROOT/sock" -p "$1" -U postgres -d postgres >/dev/null
}

# ---- MariaDB with TLS (same CA / certificate), max_connections=2000, back_log=2000; and without
# TLS (--skip-ssl), max_connections=100. One mariadb-install-db, copied for the second server.
MARIADBD=/usr/sbin/mariadbd
service mariadb --ports "MARIADB_PORT MARIADB_PLAIN_PORT" \
  --secrets "MARIADB_PASSWORD MARIADB_LOCKED_PASSWORD" \
  --needs "$MARIADBD mariadb-install-db mariadb mariadb-admin" \
  --process "mariadb tls" MARIADB_PID MARIADB_PORT \
  --process "mariadb plain" MARIADB_PLAIN_PID MARIADB_PLAIN_PORT \
  --stop-seconds 60

mariadb_start() {
  MDB_ROOT="$RUN_DIR/mariadb"
  state_set MDB_ROOT "$MDB_ROOT"
  mkdir -m 0700 "$MDB_ROOT" "$MDB_ROOT/tmp"
  start_helper MDB_INSTALL_PID "$MDB_ROOT" "$MDB_ROOT/install-db.log" \
    mariadb-install-db --no-defaults --user=root --datadir="$MDB_ROOT/tls" \
    --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve
}

mariadb_launch() {
  finish_helper "$MDB_INSTALL_PID" mariadb-install-db "$MDB_ROOT/install-db.log"
  cp -a --sparse=always "$MDB_ROOT/tls" "$MDB_ROOT/plain"
  mariadbd_start "$MDB_ROOT/tls" "$MARIADB_PORT" \
    --max-connections=2000 --back-log=2000 --max-connect-errors=4294967295 --thread-cache-size=512 \
    --innodb-buffer-pool-size=64M \
    --ssl-ca="$RUN_DIR/tls/ca.crt" --ssl-cert="$RUN_DIR/tls/server.crt" --ssl-key="$RUN_DIR/private/server.key"
  MARIADB_PID=$REPLY
  state_set MARIADB_PID "$MARIADB_PID"
  mariadbd_start "$MDB_ROOT/plain" "$MARIADB_PLAIN_PORT" \
    --max-connections=100 --max-connect-errors=4294967295 --innodb-buffer-pool-size=32M --skip-ssl
  MARIADB_PLAIN_PID=$REPLY
  state_set MARIADB_PLAIN_PID "$MARIADB_PLAIN_PID"
}

mariadb_ready() {
  wait_until "mariadb (tls)" "$MARIADB_PID" "$MDB_ROOT/tls.err" "" mariadb_ping "$MDB_ROOT/tls.sock"
  wait_until "mariadb (plain)" "$MARIADB_PLAIN_PID" "$MDB_ROOT/plain.err" "" mariadb_ping "$MDB_ROOT/plain.sock"
  mariadb_setup_sql "$MDB_ROOT/tls.sock" || fail_with_log "MariaDB (tls) setup SQL failed" "$MDB_ROOT/tls.err"
  mariadb_setup_sql "$MDB_ROOT/plain.sock" || fail_with_log "MariaDB (plain) setup SQL failed" "$MDB_ROOT/plain.err"
  log "mariadb ready: tls 127.0.0.1:$MARIADB_PORT (pid $MARIADB_PID), plain 127.0.0.1:$MARIADB_PLAIN_PORT (pid $MARIADB_PLAIN_PID)"
}

mariadb_env() {
  emit CE_MARIADB_PORT "$MARIADB_PORT"
  emit CE_MARIADB_PLAIN_PORT "$MARIADB_PLAIN_PORT"
  emit CE_MARIADB_USER probe
  emit CE_MARIADB_PASSWORD "$MARIADB_PASSWORD"
  emit CE_MARIADB_DATABASE probe
  emit CE_MARIADB_SEALED_DATABASE sealed
  emit CE_MARIADB_MISSING_DATABASE probe_missing
  emit CE_MARIADB_LOCKED_USER probe_locked
  emit CE_MARIADB_EXPIRED_USER probe_expired  # CE_MARIADB_PASSWORD, PASSWORD EXPIRE
  emit CE_MARIADB_LOCKED_PASSWORD "$MARIADB_LOCKED_PASSWORD"
}

# mariadbd_start DATADIR PORT EXTRA_ARGS... -> REPLY = pid: mariadbd in its own session, its
# socket, pid file and error log next to DATADIR (DATADIR.sock, .pid, .err).
mariadbd_start() {
  local data="$1" port="$2"
  shift 2
  setsid "$MARIADBD" --no-defaults \
    --user=root --datadir="$data" --tmpdir="$MDB_ROOT/tmp" \
    --bind-address=127.0.0.1 --port="$port" --socket="$data.sock" \
    --pid-file="$data.pid" --log-error="$data.err" \
    --skip-name-resolve --skip-log-bin --log-warnings=1 \
    --innodb-flush-log-at-trx-commit=2 \
    "$@" </dev/null >>"$data.err.out" 2>&1 &
  REPLY=$!
}

mariadb_ping() { # SOCKET
  mariadb-admin --no-defaults --protocol=socket --socket="$1" -uroot --connect-timeout=2 ping >/dev/null 2>&1
}

mariadb_setup_sql_text() { # the accounts and databases both servers get (also `setup-sql mariadb`)
  cat <<EOF
DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost');
FLUSH PRIVILEGES;
CREATE DATABASE probe;
CREATE DATABASE sealed;
CREATE USER 'probe'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('$MARIADB_PASSWORD');
GRANT ALL PRIVILEGES ON probe.* TO 'probe'@'%';
-- MariaDB answers 1044 (access denied), not 1049 (unknown database), for a missing database the
-- user has no grant on. This wildcard grant covers 'probe_missing' (CE_MARIADB_MISSING_DATABASE)
-- so that the 1049 case is testable; it does not cover 'sealed'.
GRANT SELECT ON \`probe\\_%\`.* TO 'probe'@'%';
CREATE USER 'probe_locked'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('$MARIADB_LOCKED_PASSWORD') ACCOUNT LOCK;
GRANT ALL PRIVILEGES ON probe.* TO 'probe_locked'@'%';
CREATE USER 'probe_expired'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('$MARIADB_PASSWORD') PASSWORD EXPIRE;
GRANT ALL PRIVILEGES ON probe.* TO 'probe_expired'@'%';
FLUSH PRIVILEGES;
EOF
}

mariadb_setup_sql() { # SOCKET
  mariadb_setup_sql_text | mariadb --no-defaults --protocol=socket --socket="$1" -uroot --batch
}

# ---- scripts/test_listeners.py: hold, pg-stall-tls, pg-script, mysql-stall-auth, drip-pg, drip-mysql,
# flood-headers and blackhole endpoints; nothing listens on CLOSED_PORT.
service listeners \
  --ports "HOLD_PORT PG_STALL_TLS_PORT PG_SCRIPT_PORT MYSQL_STALL_AUTH_PORT DRIP_PG_PORT DRIP_MYSQL_PORT BLACKHOLE_PORT CLOSED_PORT FLOOD_HEADERS_PORT" \
  --needs "test_listeners.py" \
  --process listeners LISTENERS_PID HOLD_PORT

listeners_start() {
  local ldir="$RUN_DIR/listeners"
  mkdir -m 0700 "$ldir"
  setsid python3 "$SCRIPT_DIR/test_listeners.py" \
    --hold "$HOLD_PORT" --pg-stall-tls "$PG_STALL_TLS_PORT" --pg-script "$PG_SCRIPT_PORT" --mysql-stall-auth "$MYSQL_STALL_AUTH_PORT" \
    --drip-pg "$DRIP_PG_PORT" --drip-mysql "$DRIP_MYSQL_PORT" --blackhole "$BLACKHOLE_PORT" \
    --flood-headers "$FLOOD_HEADERS_PORT" \
    --max-seconds "$LISTENERS_MAX_SECONDS" --pid-file "$ldir/pid" --ready-file "$ldir/ready" \
    </dev/null >>"$ldir/log" 2>&1 &
  LISTENERS_PID=$!
  state_set LISTENERS_PID "$LISTENERS_PID"
}

listeners_ready() {
  local ldir="$RUN_DIR/listeners"
  wait_until test_listeners.py "$LISTENERS_PID" "$ldir/log" "" test -f "$ldir/ready"
  log "listeners ready (pid $LISTENERS_PID): hold $HOLD_PORT, pg-stall-tls $PG_STALL_TLS_PORT, pg-script $PG_SCRIPT_PORT, mysql-stall-auth $MYSQL_STALL_AUTH_PORT, drip-pg $DRIP_PG_PORT, drip-mysql $DRIP_MYSQL_PORT, blackhole $BLACKHOLE_PORT, flood-headers $FLOOD_HEADERS_PORT, closed $CLOSED_PORT"
}

listeners_env() {
  emit CE_HOLD_PORT "$HOLD_PORT"
  emit CE_PG_STALL_TLS_PORT "$PG_STALL_TLS_PORT"
  emit CE_PG_SCRIPT_PORT "$PG_SCRIPT_PORT"
  emit CE_MYSQL_STALL_AUTH_PORT "$MYSQL_STALL_AUTH_PORT"
  emit CE_DRIP_PG_PORT "$DRIP_PG_PORT"
  emit CE_FLOOD_HEADERS_PORT "$FLOOD_HEADERS_PORT"
  emit CE_DRIP_MYSQL_PORT "$DRIP_MYSQL_PORT"
  emit CE_BLACKHOLE_PORT "$BLACKHOLE_PORT"
  emit CE_CLOSED_PORT "$CLOSED_PORT"
}

# ---- scripts/s3_server.py: S3 (moto) over plain HTTP, and HTTPS on S3_TLS_PORT with the
# server certificate (connect to https://localhost:$CE_S3_TLS_PORT); credentials.json.
S3_REGION=us-east-1
S3_BUCKET=ce-probe
service s3 --ports "S3_PORT S3_TLS_PORT" \
  --needs "s3_server.py fake_common.py" \
  --process "s3 (moto)" S3_PID S3_PORT \
  --process "s3 (moto, https)" S3_PID S3_TLS_PORT

s3_start() {
  py_server_start S3_PID "$RUN_DIR/s3" "$SCRIPT_DIR/s3_server.py" "$S3_PORT" \
    --tls-port "$S3_TLS_PORT" --tls-cert "$RUN_DIR/tls/server.crt" --tls-key "$RUN_DIR/private/server.key"
}

s3_ready() {
  py_server_ready s3_server.py "$S3_PID" "$RUN_DIR/s3" "moto[server] missing? run scripts/deps.sh" credentials.json \
    S3_KEY=ok.access_key_id S3_SECRET=ok.secret_access_key \
    S3_DENIED_KEY=denied.access_key_id S3_DENIED_SECRET=denied.secret_access_key
  log "s3 ready (pid $S3_PID): http://127.0.0.1:$S3_PORT, https://localhost:$S3_TLS_PORT, region $S3_REGION bucket $S3_BUCKET"
}

s3_env() {
  emit CE_S3_PORT "$S3_PORT"
  emit CE_S3_REGION "$S3_REGION"
  emit CE_S3_BUCKET "$S3_BUCKET"
  emit CE_S3_KEY "$S3_KEY"
  emit CE_S3_SECRET "$S3_SECRET"
  emit CE_S3_DENIED_KEY "$S3_DENIED_KEY"
  emit CE_S3_DENIED_SECRET "$S3_DENIED_SECRET"
  # HTTPS on the same S3 server: connect to https://localhost:$CE_S3_TLS_PORT, verify with CE_TLS_CA_*.
  emit CE_S3_TLS_PORT "$S3_TLS_PORT"
}

# ---- scripts/fake_google.py: OAuth token endpoint and consent, GCS, BigQuery, Drive; key files
# (ok, noaccess, revoked, bench-K, oauth_client) and fake_google.json.
GCS_BUCKET=ce-probe
BQ_PROJECT=ce-project
GOOGLE_BENCH_ACCOUNTS=10  # bench-0.json .. bench-9.json: more accounts like ok, for scripts/bench.sh
service google --ports GOOGLE_PORT \
  --needs "fake_google.py fake_google_base.py fake_google_oauth.py fake_google_storage.py fake_google_bigquery.py fake_google_drive.py fake_common.py fake_oauth.py" \
  --process "fake google" GOOGLE_PID GOOGLE_PORT

google_start() {
  py_server_start GOOGLE_PID "$RUN_DIR/google" "$SCRIPT_DIR/fake_google.py" "$GOOGLE_PORT" \
    --bench-accounts "$GOOGLE_BENCH_ACCOUNTS"
}

google_ready() {
  local dir="$RUN_DIR/google" f
  py_server_ready fake_google.py "$GOOGLE_PID" "$dir" "PyJWT missing? run scripts/deps.sh" fake_google.json \
    GOOGLE_OAUTH_CLIENT_ID=oauth.client_id GOOGLE_OAUTH_CLIENT_SECRET=oauth.client_secret \
    GOOGLE_OAUTH_REFRESH_TOKEN=oauth.refresh_token GOOGLE_OAUTH_REVOKED_REFRESH_TOKEN=oauth.revoked_refresh_token \
    GOOGLE_OAUTH_ACCESS_TOKEN=oauth.access_token
  for f in ok noaccess revoked oauth_client $(seq -f 'bench-%g' 0 $((GOOGLE_BENCH_ACCOUNTS - 1))); do
    [[ -s "$dir/$f.json" ]] || fail_with_log "fake_google.py did not write $dir/$f.json" "$dir/log"
  done
  log "fake google ready (pid $GOOGLE_PID): http://127.0.0.1:$GOOGLE_PORT (token URL /token, consent /o/oauth2/v2/auth, GCS bucket $GCS_BUCKET, BigQuery project $BQ_PROJECT)"
}

# Key files are in Google's format; their token_uri is CE_GOOGLE_TOKEN_URL, which is also the only
# `aud` the token endpoint accepts.
google_env() {
  local g="$RUN_DIR/google" k K
  emit CE_GOOGLE_PORT "$GOOGLE_PORT"
  emit CE_GOOGLE_API_URL "http://127.0.0.1:$GOOGLE_PORT"
  emit CE_GOOGLE_TOKEN_URL "http://127.0.0.1:$GOOGLE_PORT/token"
  emit CE_GCS_BUCKET "$GCS_BUCKET"
  emit CE_BQ_PROJECT "$BQ_PROJECT"
  for k in ok noaccess revoked; do
    K="${k^^}"
    emit "CE_GOOGLE_SA_${K}_FILE" "$g/$k.json"
    emit "CE_GOOGLE_SA_${K}_JSON" "$(cat "$g/$k.json")"
    emit "CE_GOOGLE_SA_${K}_EMAIL" "ce-$k@$BQ_PROJECT.iam.gserviceaccount.com"  # fake_google.py ACCOUNTS
  done
  emit CE_GOOGLE_OAUTH_CLIENT_FILE "$g/oauth_client.json"
  emit CE_GOOGLE_OAUTH_CLIENT_JSON "$(cat "$g/oauth_client.json")"
  emit CE_GOOGLE_OAUTH_CLIENT_ID "$GOOGLE_OAUTH_CLIENT_ID"
  emit CE_GOOGLE_OAUTH_CLIENT_SECRET "$GOOGLE_OAUTH_CLIENT_SECRET"
  emit CE_GOOGLE_OAUTH_REFRESH_TOKEN "$GOOGLE_OAUTH_REFRESH_TOKEN"
  emit CE_GOOGLE_OAUTH_REVOKED_REFRESH_TOKEN "$GOOGLE_OAUTH_REVOKED_REFRESH_TOKEN"
  emit CE_GOOGLE_OAUTH_ACCESS_TOKEN "$GOOGLE_OAUTH_ACCESS_TOKEN"  # ce-user's, never expires
  # The authorization-code flow for the same client (fake_google.py FLOW_USER consents).
  emit CE_GOOGLE_AUTHORIZE_URL "http://127.0.0.1:$GOOGLE_PORT/o/oauth2/v2/auth"
  emit CE_GOOGLE_REVOKE_URL "http://127.0.0.1:$GOOGLE_PORT/revoke"
  emit CE_GOOGLE_OAUTH_FLOW_USER "oauth-user@example.com"
  # bench-K.json (K < GOOGLE_BENCH_ACCOUNTS): service accounts with the rights of ok (scripts/bench.sh)
  [[ ! -s "$g/bench-0.json" ]] || emit CE_GOOGLE_BENCH_DIR "$g"
}

# ---- scripts/fake_dropbox.py: API v2 account probe, OAuth refresh and consent, on one base URL
# ($CE_DROPBOX_URL/2/users/get_current_account, /oauth2/token, /oauth2/authorize); dropbox.json.
service dropbox --ports DROPBOX_PORT \
  --needs "fake_dropbox.py fake_common.py fake_oauth.py" \
  --process "fake dropbox" DROPBOX_PID DROPBOX_PORT

dropbox_start() {
  py_server_start DROPBOX_PID "$RUN_DIR/dropbox" "$SCRIPT_DIR/fake_dropbox.py" "$DROPBOX_PORT"
}

dropbox_ready() {
  py_server_ready fake_dropbox.py "$DROPBOX_PID" "$RUN_DIR/dropbox" "" dropbox.json \
    DROPBOX_APP_KEY=app_key DROPBOX_APP_SECRET=app_secret DROPBOX_TOKEN=access_token \
    DROPBOX_EXPIRED_TOKEN=expired_access_token DROPBOX_NOSCOPE_TOKEN=noscope_access_token \
    DROPBOX_REFRESH_TOKEN=refresh_token DROPBOX_REVOKED_REFRESH_TOKEN=revoked_refresh_token
  log "fake dropbox ready (pid $DROPBOX_PID): http://127.0.0.1:$DROPBOX_PORT (/2/users/get_current_account, /oauth2/token, /oauth2/authorize)"
}

dropbox_env() {
  emit CE_DROPBOX_PORT "$DROPBOX_PORT"
  emit CE_DROPBOX_URL "http://127.0.0.1:$DROPBOX_PORT"
  emit CE_DROPBOX_APP_KEY "$DROPBOX_APP_KEY"
  emit CE_DROPBOX_APP_SECRET "$DROPBOX_APP_SECRET"
  emit CE_DROPBOX_TOKEN "$DROPBOX_TOKEN"
  emit CE_DROPBOX_EXPIRED_TOKEN "$DROPBOX_EXPIRED_TOKEN"
  emit CE_DROPBOX_NOSCOPE_TOKEN "$DROPBOX_NOSCOPE_TOKEN"
  emit CE_DROPBOX_REFRESH_TOKEN "$DROPBOX_REFRESH_TOKEN"
  emit CE_DROPBOX_REVOKED_REFRESH_TOKEN "$DROPBOX_REVOKED_REFRESH_TOKEN"
  emit CE_DROPBOX_TOKEN_URL "http://127.0.0.1:$DROPBOX_PORT/oauth2/token"
  emit CE_DROPBOX_AUTHORIZE_URL "http://127.0.0.1:$DROPBOX_PORT/oauth2/authorize"
  emit CE_DROPBOX_REVOKE_URL "http://127.0.0.1:$DROPBOX_PORT/2/auth/token/revoke"
}

# ---- scripts/fake_snowflake.py: POST $CE_SNOWFLAKE_URL/session/v1/login-request (password and
# key-pair JWT). The account is given by ACCOUNT_NAME (and the JWT iss/sub), not by the host
# name; snowflake.json.
service snowflake --ports SNOWFLAKE_PORT \
  --needs "fake_snowflake.py fake_common.py" \
  --process "fake snowflake" SNOWFLAKE_PID SNOWFLAKE_PORT

snowflake_start() {
  py_server_start SNOWFLAKE_PID "$RUN_DIR/snowflake" "$SCRIPT_DIR/fake_snowflake.py" "$SNOWFLAKE_PORT"
}

snowflake_ready() {
  local dir="$RUN_DIR/snowflake"
  py_server_ready fake_snowflake.py "$SNOWFLAKE_PID" "$dir" "" snowflake.json \
    SNOWFLAKE_ACCOUNT=account SNOWFLAKE_PW_USER=password_user SNOWFLAKE_PASSWORD=password \
    SNOWFLAKE_KEY_USER=key_user SNOWFLAKE_LOCKED_USER=locked_user SNOWFLAKE_LOCKED_PASSWORD=locked_password \
    SNOWFLAKE_PRIVATE_KEY=private_key SNOWFLAKE_OTHER_PRIVATE_KEY=other_private_key
  # Both keys must be private keys OpenSSL can read (the key-pair logins sign with them).
  printf '%s\n' "$SNOWFLAKE_PRIVATE_KEY" | openssl pkey -noout 2>/dev/null \
    && printf '%s\n' "$SNOWFLAKE_OTHER_PRIVATE_KEY" | openssl pkey -noout 2>/dev/null \
    || fail_with_log "bad private keys in $dir/snowflake.json" "$dir/log"
  log "fake snowflake ready (pid $SNOWFLAKE_PID): http://127.0.0.1:$SNOWFLAKE_PORT (/session/v1/login-request, account $SNOWFLAKE_ACCOUNT)"
}

snowflake_env() {
  emit CE_SNOWFLAKE_PORT "$SNOWFLAKE_PORT"
  emit CE_SNOWFLAKE_URL "http://127.0.0.1:$SNOWFLAKE_PORT"
  emit CE_SNOWFLAKE_ACCOUNT "$SNOWFLAKE_ACCOUNT"
  emit CE_SNOWFLAKE_PW_USER "$SNOWFLAKE_PW_USER"
  emit CE_SNOWFLAKE_PASSWORD "$SNOWFLAKE_PASSWORD"
  emit CE_SNOWFLAKE_KEY_USER "$SNOWFLAKE_KEY_USER"
  emit CE_SNOWFLAKE_PRIVATE_KEY "$SNOWFLAKE_PRIVATE_KEY"
  emit CE_SNOWFLAKE_OTHER_PRIVATE_KEY "$SNOWFLAKE_OTHER_PRIVATE_KEY"
  emit CE_SNOWFLAKE_LOCKED_USER "$SNOWFLAKE_LOCKED_USER"
  emit CE_SNOWFLAKE_LOCKED_PASSWORD "$SNOWFLAKE_LOCKED_PASSWORD"
}

# ---- Redis 7: the plain server (default user, db 0; ACL user, db 1) and the TLS-only one (connect
# to localhost, verify with CE_REDIS_CA_FILE). One redis-server per directory under
# $RUN_DIR/redis, its redis.conf (0600: it holds the passwords) and its log there; `dir` makes
# that directory the server's cwd, which is how `ours` recognises it (redis-server rewrites its
# command line).
REDIS_SERVER=/usr/bin/redis-server
REDIS_ACL_USER=cache
service redis --ports "REDIS_PORT REDIS_TLS_PORT" \
  --secrets "REDIS_PASSWORD REDIS_ACL_PASSWORD" \
  --needs "$REDIS_SERVER redis-cli" \
  --process "redis plain" REDIS_PID REDIS_PORT \
  --process "redis tls" REDIS_TLS_PID REDIS_TLS_PORT

redis_start() {
  mkdir -m 0700 "$RUN_DIR/redis"
  redis_server_start REDIS_PID plain "$REDIS_PORT"
  redis_server_start REDIS_TLS_PID tls "$REDIS_TLS_PORT"
}

redis_ready() {
  wait_until "redis (plain)" "$REDIS_PID" "$RUN_DIR/redis/plain/log" "" redis_ping "$REDIS_PORT"
  wait_until "redis (tls)" "$REDIS_TLS_PID" "$RUN_DIR/redis/tls/log" "" redis_ping "$REDIS_TLS_PORT" --tls
  log "redis ready: plain 127.0.0.1:$REDIS_PORT (pid $REDIS_PID), tls localhost:$REDIS_TLS_PORT (pid $REDIS_TLS_PID)"
}

redis_env() {
  emit CE_REDIS_PORT "$REDIS_PORT"
  emit CE_REDIS_PASSWORD "$REDIS_PASSWORD"
  emit CE_REDIS_URL "redis://:$REDIS_PASSWORD@127.0.0.1:$REDIS_PORT/0"
  emit CE_REDIS_ACL_URL "redis://$REDIS_ACL_USER:$REDIS_ACL_PASSWORD@127.0.0.1:$REDIS_PORT/1"
  emit CE_REDIS_TLS_PORT "$REDIS_TLS_PORT"
  emit CE_REDIS_TLS_URL "rediss://:$REDIS_PASSWORD@localhost:$REDIS_TLS_PORT/0"
  emit CE_REDIS_CA_FILE "$RUN_DIR/tls/ca.crt"
}

redis_server_start() { # PIDVAR NAME PORT: write NAME/redis.conf, start redis-server on PORT (TLS only for NAME=tls)
  local pidvar="$1" dir="$RUN_DIR/redis/$2" port="$3"
  mkdir -m 0700 "$dir"
  (
    umask 077
    cat >"$dir/redis.conf" <<EOF
# scripts/services.sh: Redis for the tests, loopback only, nothing persisted.
bind 127.0.0.1
protected-mode yes
daemonize no
dir $dir
logfile ""
save ""
appendonly no
requirepass $REDIS_PASSWORD
user $REDIS_ACL_USER on >$REDIS_ACL_PASSWORD ~* &* +@all -@dangerous
EOF
    if [[ "$2" == tls ]]; then
      cat >>"$dir/redis.conf" <<EOF
port 0
tls-port $port
tls-cert-file $RUN_DIR/tls/server.crt
tls-key-file $RUN_DIR/private/server.key
tls-ca-cert-file $RUN_DIR/tls/ca.crt
tls-auth-clients no
EOF
    else
      echo "port $port" >>"$dir/redis.conf"
    fi
  )
  (cd "$dir" && exec setsid "$REDIS_SERVER" "$dir/redis.conf" </dev/null >>"$dir/log" 2>&1) &
  printf -v "$pidvar" '%s' "$!"
  state_set "$pidvar" "$!"
}

redis_ping() { # PORT [--tls]: PONG from the default user
  local tls=()
  [[ "${2:-}" != --tls ]] || tls=(--tls --cacert "$RUN_DIR/tls/ca.crt" -h localhost)
  [[ "$(REDISCLI_AUTH="$REDIS_PASSWORD" timeout 5 redis-cli -h 127.0.0.1 -p "$1" "${tls[@]}" ping 2>/dev/null)" == PONG ]]
}

# ==========================================================================================
# Going through the table

check_table() { # every service has its hooks
  local name hook
  for name in "${SERVICES[@]}"; do
    for hook in start ready env; do
      declare -F "${name}_$hook" >/dev/null || die "service $name has no ${name}_$hook function"
    done
  done
}

processes_of() { # NAME: "LABEL|PIDVAR|PORTVAR" lines of its --process entries
  local entry
  for entry in "${PROCESSES[@]}"; do
    [[ "$entry" != "$1|"* ]] || printf '%s\n' "${entry#"$1|"}"
  done
}

service_pids() { # NAME: the PIDs it may have running
  local label pidvar portvar
  if declare -F "${1}_pids" >/dev/null; then
    "${1}_pids"
    return
  fi
  while IFS='|' read -r label pidvar portvar; do
    echo "${!pidvar:-}"
  done < <(processes_of "$1")
}

stop_service() { # NAME
  local label pidvar portvar
  if declare -F "${1}_stop" >/dev/null; then
    "${1}_stop"
    return
  fi
  while IFS='|' read -r label pidvar portvar; do
    stop_pid "$label" "${!pidvar:-}" "${SERVICE_STOP_SECONDS[$1]}"
  done < <(processes_of "$1")
}

in_state() { # NAME: the state has all its ports (a run started by an older version may not)
  local var
  for var in ${SERVICE_PORTS[$1]:-}; do
    [[ -n "${!var:-}" ]] || return 1
  done
}

table_vars() { # FIELD: the variables of that field (SERVICE_PORTS, SERVICE_SECRETS) in table order
  local -n field="$1"
  local name
  for name in "${SERVICES[@]}"; do
    [[ -z "${field[$name]:-}" ]] || printf '%s ' ${field[$name]}
  done
}

# ------------------------------------------------------------------------------------------
# stop

cmd_stop() {
  if ! load_state; then
    log "nothing to stop"
    return 0
  fi
  local i name pid left=()
  for (( i = ${#SERVICES[@]} - 1; i >= 0; i-- )); do
    stop_service "${SERVICES[i]}"
  done
  for name in "${SERVICES[@]}"; do
    for pid in $(service_pids "$name"); do
      if ours "$pid"; then left+=("$pid"); fi
    done
  done
  if (( ${#left[@]} )); then
    die "still running after stop: pids ${left[*]} (run dir ${RUN_DIR:-?} kept)"
  fi
  if [[ -n "${RUN_DIR:-}" && -d "$RUN_DIR" && -e "$RUN_DIR/$MARKER" ]]; then
    rm -rf -- "$RUN_DIR"
  fi
  rm -f -- "$STATE_FILE"
  log "stopped"
}

# ------------------------------------------------------------------------------------------
# start

any_alive() {
  local name pid
  for name in "${SERVICES[@]}"; do
    for pid in $(service_pids "$name"); do
      ours "$pid" && return 0
    done
  done
  return 1
}

START_DONE=0
on_start_exit() {
  local rc=$? pid
  if (( rc != 0 && START_DONE == 0 )); then
    for pid in "${!HELPERS[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then
        kill -TERM -- "-$pid" 2>/dev/null || true  # its own process group (setsid)
        wait "$pid" 2>/dev/null || true
      fi
    done
    if [[ "${CE_SERVICES_KEEP_ON_FAILURE:-0}" == 1 ]]; then
      echo "services: start failed; keeping ${RUN_DIR:-the run dir} (CE_SERVICES_KEEP_ON_FAILURE=1); run '$0 stop' to clean up" >&2
    else
      echo "services: start failed; stopping what was started" >&2
      ( cmd_stop >/dev/null ) || true
    fi
  fi
  exit "$rc"
}

cmd_start() {
  (( EUID == 0 )) || die "must run as root (PostgreSQL is run as the postgres user via setpriv)"
  local t0=$SECONDS name stale var
  if load_state; then
    if any_alive; then
      die "already running (run dir ${RUN_DIR:-?}); use '$0 stop' first, or '$0 restart'"
    fi
    log "cleaning up a stale previous run (${RUN_DIR:-?})"
    stale="$(sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' "$STATE_FILE")"
    cmd_stop >/dev/null
    for var in $stale; do unset "$var"; done
  fi

  # shellcheck disable=SC2086  # lists of words
  check_needs $LAUNCHER_NEEDS
  for name in "${SERVICES[@]}"; do
    # shellcheck disable=SC2086
    check_needs ${SERVICE_NEEDS[$name]:-}
  done

  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

  mkdir -p -m 0700 "$STATE_DIR"
  check_state_dir
  RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/connector-engine-services.XXXXXX")"
  RUN_DIR="$(cd "$RUN_DIR" && pwd -P)"
  chmod 0711 "$RUN_DIR"
  touch "$RUN_DIR/$MARKER"
  ( umask 077; : >"$STATE_FILE" )
  state_set RUN_DIR "$RUN_DIR"
  trap on_start_exit EXIT
  (( ${#RUN_DIR} <= 80 )) || die "run dir path too long for unix sockets: $RUN_DIR (set TMPDIR to a shorter path)"

  # Ports (all picked together, so distinct) and passwords, recorded before anything starts.
  local port_vars secret_vars
  read -r -a port_vars <<<"$(table_vars SERVICE_PORTS)"
  read -r -a secret_vars <<<"$(table_vars SERVICE_SECRETS)"
  read -r "${port_vars[@]}" <<<"$(free_ports "${#port_vars[@]}")"
  var="${port_vars[-1]}"
  [[ -n "${!var:-}" ]] || die "could not pick free ports"
  read -r "${secret_vars[@]}" <<<"$(random_words "${#secret_vars[@]}")"
  for var in "${port_vars[@]}" "${secret_vars[@]}"; do
    state_set "$var" "${!var}"
  done

  log "run dir $RUN_DIR"
  gen_certs  # before the services: the TLS ones use the server certificate
  for name in "${SERVICES[@]}"; do
    "${name}_start"
  done
  for name in "${SERVICES[@]}"; do
    if declare -F "${name}_launch" >/dev/null; then "${name}_launch"; fi
  done
  for name in "${SERVICES[@]}"; do
    "${name}_ready"
  done

  state_set STARTED 1
  START_DONE=1
  trap - EXIT
  log "all up in $((SECONDS - t0)) s; use: eval \"\$($0 env)\""
}

# ------------------------------------------------------------------------------------------
# env / status / list

cmd_env() {
  load_state && [[ "${STARTED:-}" == 1 ]] || die "services are not running; run '$0 start'"
  local tls="$RUN_DIR/tls" name
  emit CE_SERVICES_DIR "$RUN_DIR"
  emit CE_TLS_CA_FILE "$tls/ca.crt"
  emit CE_TLS_CA_PEM "$(cat "$tls/ca.crt")"
  emit CE_TLS_OTHER_CA_FILE "$tls/other-ca.crt"
  emit CE_TLS_OTHER_CA_PEM "$(cat "$tls/other-ca.crt")"
  for name in "${SERVICES[@]}"; do
    if in_state "$name"; then "${name}_env"; fi
  done
}

cmd_status() {
  if ! load_state; then
    echo "not started"
    return 3
  fi
  local down=0 name label pidvar portvar pid line
  echo "run dir: ${RUN_DIR:-?}${STARTED:+ (started)}"
  for name in "${SERVICES[@]}"; do
    in_state "$name" || continue
    while IFS='|' read -r label pidvar portvar; do
      pid="${!pidvar:-}"
      if ours "$pid"; then line="running  pid $pid"; else line="DOWN     pid ${pid:-?}"; down=1; fi
      printf '%-18s 127.0.0.1:%-6s %s\n' "$label" "${!portvar:-?}" "$line"
    done < <(processes_of "$name")
  done
  [[ "${STARTED:-}" == 1 ]] || down=1
  return "$down"
}

cmd_list() {
  local name var
  for name in "${SERVICES[@]}"; do
    printf '%s' "$name"
    for var in ${SERVICE_PORTS[$name]:-}; do printf ' CE_%s' "$var"; done
    echo
  done
}

# ------------------------------------------------------------------------------------------
# certs / setup-sql (for docker-compose.test.yml)

cmd_certs() { # DIR
  [[ -n "${1:-}" ]] || die "usage: $0 certs DIR"
  mkdir -p "$1"
  RUN_DIR="$(cd "$1" && pwd -P)"
  if openssl x509 -checkend 86400 -noout -in "$RUN_DIR/tls/server.crt" >/dev/null 2>&1; then
    log "certificates in $RUN_DIR/tls are valid for another day; kept"
    return 0
  fi
  rm -rf -- "$RUN_DIR/tls" "$RUN_DIR/private"
  gen_certs
  log "CA and server certificate (DNS:localhost) in $RUN_DIR/tls, key in $RUN_DIR/private"
}

cmd_setup_sql() { # postgres|mariadb
  local vars v src
  case "${1:-}" in
    postgres) vars=(PG_PASSWORD PG_NOCONNECT_PASSWORD PG_STORE_PASSWORD) ;;
    mariadb) vars=(MARIADB_PASSWORD MARIADB_LOCKED_PASSWORD) ;;
    *) die "usage: $0 setup-sql postgres|mariadb" ;;
  esac
  for v in "${vars[@]}"; do
    src="CE_$v"
    # The SQL quotes them as they are, as it does the generated ones.
    [[ "${!src:-}" =~ ^[A-Za-z0-9]{12,}$ ]] || die "$src must be 12 or more letters and digits"
    printf -v "$v" '%s' "${!src}"
  done
  if [[ "$1" == postgres ]]; then pg_setup_sql_text; else mariadb_setup_sql_text; fi
}

check_table
case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  env) cmd_env ;;
  status) cmd_status ;;
  list) cmd_list ;;
  certs) cmd_certs "${2:-}" ;;
  setup-sql) cmd_setup_sql "${2:-}" ;;
  *) echo "usage: $0 start|stop|restart|env|status|list|certs DIR|setup-sql postgres|mariadb" >&2; exit 2 ;;
esac
