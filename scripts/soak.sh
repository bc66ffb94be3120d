#!/usr/bin/env bash
# `make soak`: scripts/soak.py for minutes (SOAK_ARGS adds options, e.g. --clients 16) against the
# release build on a PostgreSQL store of the local test services, which it starts and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/services.sh start
trap 'scripts/services.sh stop' EXIT
eval "$(scripts/services.sh env)"
# shellcheck disable=SC2086
python3 scripts/soak.py --binary .build/release/connector-engine ${SOAK_ARGS:-}
