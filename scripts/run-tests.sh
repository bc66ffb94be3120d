#!/usr/bin/env bash
# `make test`: starts the local test services, runs the whole test suite against them, and stops
# the services whether the tests pass or fail.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/services.sh start
trap 'scripts/services.sh stop' EXIT
eval "$(scripts/services.sh env)"
swift build --build-tests
swift test --skip-build
# The OpenAPI contract, checked against the running server (bounded: 50 examples per operation).
scripts/api-contract.sh
