#!/usr/bin/env bash
# `make test`: checks the code's format and docker-compose.test.yml (scripts/check_compose.py), starts the local test
# services, runs the whole test suite against them, and stops the services whether the tests pass
# or fail. The last step is the OAuth sign-in in headless Chromium (scripts/browser_oauth_test.py,
# against the debug binary just built); its screenshots are left in .build/test-artifacts/oauth/.
set -euo pipefail
cd "$(dirname "$0")/.."

# The code's format (.swift-format; `make format` rewrites it): a few seconds, before anything is built.
swift format lint --strict --recursive Sources Tests Drivers Fuzz Package.swift

# docker-compose.test.yml, checked rather than run (no Docker here): the Compose specification's
# schema and scripts/services.sh's services and ports; then broken copies of it must be refused.
/usr/bin/python3 scripts/check_compose.py
/usr/bin/python3 scripts/check_compose.py --self-test

scripts/services.sh start
trap 'scripts/services.sh stop' EXIT
eval "$(scripts/services.sh env)"
swift build --build-tests
swift test --skip-build
# The OpenAPI contract, checked against the running server (bounded: 50 examples per operation).
scripts/api-contract.sh
# Faults (issue 13): the SQLite store on a really full disk (a tmpfs in a mount namespace of its
# own), then the short soak run: mixed traffic through a store outage, a SIGKILL and a SIGTERM.
python3 scripts/store_faults.py --binary .build/debug/connector-engine
python3 scripts/soak.py --binary .build/debug/connector-engine --short
# The OAuth sign-in in a real browser (Debian's chromium, chromium-driver and python3-selenium,
# installed by scripts/deps.sh; /usr/bin/python3 is the Python that selenium is installed for).
BROWSER_ARTIFACTS=.build/test-artifacts/oauth
if ! /usr/bin/python3 scripts/browser_oauth_test.py --binary .build/debug/connector-engine --artifacts "$BROWSER_ARTIFACTS"; then
  echo "run-tests: the browser OAuth test failed; screenshots and server log in $BROWSER_ARTIFACTS/" >&2
  exit 1
fi
echo "run-tests: browser OAuth test screenshots in $BROWSER_ARTIFACTS/"
# The health page (/ui/) in headless Chromium too: sign-in, a health job's live progress, the rows,
# stage bars, history strips and warnings; its screenshots go to .build/test-artifacts/health/.
HEALTH_ARTIFACTS=.build/test-artifacts/health
if ! /usr/bin/python3 scripts/browser_health_test.py --binary .build/debug/connector-engine --artifacts "$HEALTH_ARTIFACTS"; then
  echo "run-tests: the browser health page test failed; screenshots and server log in $HEALTH_ARTIFACTS/" >&2
  exit 1
fi
echo "run-tests: browser health page test screenshots in $HEALTH_ARTIFACTS/"
