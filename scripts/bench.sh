#!/usr/bin/env bash
# `make bench`: the probe benchmarks of issue 2 against the local test services. Prints one line
# per workload. Starts the services and stops them afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/connector-engine
PG='postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb'
MARIADB='mariadb|146b0124-b9fc-466f-8e68-098ff60703e8'

scripts/services.sh start
trap 'scripts/services.sh stop' EXIT
eval "$(scripts/services.sh env)"

pg_metadata="{\"host\": \"127.0.0.1\", \"port\": \"$CE_PG_PORT\", \"database\": \"$CE_PG_DATABASE\", \"user\": \"$CE_PG_USER\", \"password\": \"$CE_PG_PASSWORD\", \"sslmode\": \"disable\"}"
mariadb_metadata="{\"host\": \"127.0.0.1\", \"port\": \"$CE_MARIADB_PORT\", \"database\": \"$CE_MARIADB_DATABASE\", \"user\": \"$CE_MARIADB_USER\", \"password\": \"$CE_MARIADB_PASSWORD\"}"
blackhole_metadata="{\"host\": \"127.0.0.1\", \"port\": \"$CE_BLACKHOLE_PORT\", \"database\": \"x\", \"user\": \"u\", \"password\": \"p\"}"

N=${BENCH_N:-2000}
for c in 1 64 1000; do
    echo "== PostgreSQL, $N probes (half with a wrong password), concurrency $c"
    "$BIN" bench --connector "$PG" --metadata "$pg_metadata" -n "$N" -c "$c" --wrong-password-ratio 0.5 --timeout 30 --max-in-flight 4096
done
for c in 1 64 1000; do
    echo "== MariaDB, $N probes (half with a wrong password), concurrency $c"
    "$BIN" bench --connector "$MARIADB" --metadata "$mariadb_metadata" -n "$N" -c "$c" --wrong-password-ratio 0.5 --timeout 30
done
echo "== PostgreSQL deadlines under load: 3000 probes, concurrency 1000, 5 s timeout (p99 must stay at the deadline)"
"$BIN" bench --connector "$PG" --metadata "$pg_metadata" -n 3000 -c 1000 --wrong-password-ratio 0.5 --timeout 5
echo "== Black hole, 1000 probes, 2 s timeout, concurrency 1000"
"$BIN" bench --connector "$PG" --metadata "$blackhole_metadata" -n 1000 -c 1000 --timeout 2

# PostgreSQL at the crypto floor (issue 12): the native path, libpq and psycopg2-binary side by
# side (TLS + SCRAM first contact and repeated, no TLS, trust, the black hole, PBKDF2).
# The C floor (scripts/pg_tls_loop.c) goes beside them in the repeated-credential rounds.
floor=/tmp/connector-engine-pg-tls-loop
CC="${CC:-$(command -v cc || command -v clang)}"  # the Swift toolchain's clang where there is no cc
"$CC" -O2 -I Drivers/CTLS/include -o "$floor" scripts/pg_tls_loop.c Drivers/CTLS/ctls.c -lssl -lcrypto
echo "== PostgreSQL: native path, libpq, psycopg2-binary and the C floor (scripts/bench_postgres.py)"
python3 scripts/bench_postgres.py --binary "$BIN" --floor "$floor" -n "$N"
echo "== Plain OpenSSL loop: SSLRequest and a TLS handshake alone"
"$floor" "$CE_PG_PORT" 500

if "$CC" -O2 -o /tmp/connector-engine-pq-loop scripts/pq_loop.c $(pkg-config --cflags --libs libpq) 2>/dev/null; then
    echo "== Plain libpq loop (the floor for client CPU per PostgreSQL probe), $N probes, half wrong"
    /tmp/connector-engine-pq-loop "host=127.0.0.1 port=$CE_PG_PORT dbname=$CE_PG_DATABASE user=$CE_PG_USER sslmode=disable" "$CE_PG_PASSWORD" "$N"
fi
s3_metadata="{\"endpoint_url\": \"http://127.0.0.1:$CE_S3_PORT\", \"region_name\": \"$CE_S3_REGION\", \"key\": \"$CE_S3_KEY\", \"secret\": \"$CE_S3_SECRET\", \"bucket\": \"$CE_S3_BUCKET\"}"
S3='minio|c799f6e3-2b57-434e-aaac-b5daa415da19'
for c in 1 1000; do
    echo "== S3 (moto, SigV4 and IAM checked), $N probes (half with a wrong secret), concurrency $c"
    "$BIN" bench --connector "$S3" --metadata "$s3_metadata" -n "$N" -c "$c" --wrong-password-ratio 0.5 --timeout 30
    echo "== the same with boto3 in a thread pool (threads: min(c, 64))"
    python3 scripts/bench/s3_boto3.py "$CE_S3_PORT" "$CE_S3_KEY" "$CE_S3_SECRET" "$CE_S3_BUCKET" "$N" "$(( c < 64 ? c : 64 ))"
done

s3_tls_metadata="$(python3 -c 'import json, os; e = os.environ; print(json.dumps({"endpoint_url": "https://localhost:" + e["CE_S3_TLS_PORT"], "region_name": e["CE_S3_REGION"], "key": e["CE_S3_KEY"], "secret": e["CE_S3_SECRET"], "bucket": e["CE_S3_BUCKET"], "ssl_ca": e["CE_TLS_CA_PEM"]}))')"
for c in 1 1000; do
    echo "== S3 over TLS (verified with the run's CA), $N probes (half with a wrong secret), concurrency $c"
    "$BIN" bench --connector "$S3" --metadata "$s3_tls_metadata" -n "$N" -c "$c" --wrong-password-ratio 0.5 --timeout 30
done

if [[ -n "${CE_GOOGLE_BENCH_DIR:-}" ]]; then
    variants="$(mktemp)"
    python3 - "$CE_GOOGLE_BENCH_DIR" >"$variants" <<'PY'
import json, pathlib, sys
files = sorted(pathlib.Path(sys.argv[1]).glob("bench-*.json"))
print(json.dumps([{"json_credentials": f.read_text()} for f in files]))
PY
    echo "== GCS, 1000 probes sharing $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$variants") service accounts (token fetched once per account), concurrency 64"
    "$BIN" bench --connector 'google_cloud_storage|109bbe7b-8861-45eb-8841-7244e833d97b' \
        --metadata "{\"project_id\": \"$CE_BQ_PROJECT\", \"bucket\": \"$CE_GCS_BUCKET\", \"json_credentials\": \"\"}" \
        --variants "$variants" -n 1000 -c 64 --timeout 30 \
        --google-token-url "$CE_GOOGLE_TOKEN_URL" --google-storage-url "$CE_GOOGLE_API_URL" --google-bigquery-url "$CE_GOOGLE_API_URL"
    rm -f "$variants"
fi

scripts/bench-api.sh

# Batch health checks of issue 10: 10,000 stored connectors in one job, each family alone, the same
# checks from a Python thread pool, two replicas sharing a scheduled round (about 10 minutes on 2
# cores). BENCH_HEALTH=0 skips it.
if [[ "${BENCH_HEALTH:-1}" != 0 ]]; then
    echo "== Batch health checks: 10,000 stored connectors (scripts/bench_health.py)"
    python3 scripts/bench_health.py
fi
