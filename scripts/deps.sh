#!/usr/bin/env bash
# Installs the Debian packages the local test services and the browser test
# need (scripts/browser_oauth_test.py: chromium, chromium-driver and
# python3-selenium, Debian's own; scripts/check_compose.py: python3-yaml and
# python3-jsonschema), and only those that are missing, then the
# Python packages for scripts/s3_server.py (moto 5.x with its server extras:
# flask, flask-cors, werkzeug; boto3) and scripts/fake_google.py (PyJWT 2.x,
# cryptography), and psycopg2-binary and PyMySQL for the Python baseline of
# scripts/bench_health.py, with pip, only if `python3` cannot find them. Run as root.
# Idempotent: prints nothing when everything is already installed.
#
# Installing mariadb-server / postgresql-15 / redis-server must not leave a
# system server running: while apt-get runs, /usr/sbin/policy-rc.d denies every
# service start (a pre-existing policy-rc.d is saved and put back afterwards),
# and any mariadbd/postgres/redis-server process that appeared during the
# install is stopped again by its PID.
set -euo pipefail

PACKAGES=(
  postgresql-15 postgresql-client-15 libpq-dev
  mariadb-server mariadb-client libmariadb-dev
  redis-server redis-tools
  libcurl4-openssl-dev openssl pkg-config python3 wrk
  chromium chromium-driver python3-selenium
  python3-yaml python3-jsonschema
)

# Python packages, as pip requirements (installed only when the check below fails; pip leaves
# the ones already satisfied alone). cryptography comes with moto too; it is named because
# scripts/fake_google.py uses it directly (RSA keys; RS256 through PyJWT). PIP_REQUIREMENTS are
# the test services' (docker-compose.test.yml's Python image installs the same, which
# scripts/check_compose.py checks); PIP_BENCH_REQUIREMENTS the Python baseline of
# scripts/bench_health.py.
PIP_REQUIREMENTS=('moto[server]==5.*' 'PyJWT==2.*' 'cryptography')
PIP_BENCH_REQUIREMENTS=('psycopg2-binary' 'PyMySQL')

# Exit 0 when python3 has moto 5.x and what scripts/s3_server.py needs from moto[server], and
# PyJWT 2.x with cryptography for scripts/fake_google.py, psycopg2 and PyMySQL for
# scripts/bench_health.py (looked up, not imported: importing
# moto's server takes ~0.5 s on every `make`).
python_deps_ok() {
  python3 - <<'EOF' >/dev/null 2>&1
import importlib.metadata as md
import importlib.util as iu
for name in ("boto3", "botocore", "flask", "flask_cors", "werkzeug", "moto", "jwt", "cryptography", "psycopg2", "pymysql"):
    assert iu.find_spec(name), name
assert md.version("moto").split(".")[0] == "5"
assert md.version("PyJWT").split(".")[0] == "2"
EOF
}

install_python_deps() {
  python_deps_ok && return 0
  if (( EUID != 0 )); then
    echo "deps.sh: python3 lacks some of ${PIP_REQUIREMENTS[*]} ${PIP_BENCH_REQUIREMENTS[*]}; run this script as root" >&2
    exit 1
  fi
  if ! python3 -m pip --version >/dev/null 2>&1; then
    echo "deps.sh: installing python3-pip"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip
  fi
  local extra=()
  # A Debian-managed python3 (PEP 668) refuses a plain `pip install`.
  if python3 -c 'import os, sys, sysconfig
sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
    extra+=(--break-system-packages)
  fi
  echo "deps.sh: installing ${PIP_REQUIREMENTS[*]} ${PIP_BENCH_REQUIREMENTS[*]} for $(command -v python3)"
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check \
    "${extra[@]}" "${PIP_REQUIREMENTS[@]}" "${PIP_BENCH_REQUIREMENTS[@]}"
  python_deps_ok || { echo "deps.sh: the pip requirements were installed but python3 still cannot find them" >&2; exit 1; }
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if (( ${#missing[@]} == 0 )); then
  install_python_deps
  exit 0
fi

if (( EUID != 0 )); then
  echo "deps.sh: missing packages: ${missing[*]}; run this script as root" >&2
  exit 1
fi

echo "deps.sh: installing ${missing[*]}"

POLICY=/usr/sbin/policy-rc.d
policy_backup=""
if [[ -e "$POLICY" || -L "$POLICY" ]]; then
  policy_backup="$(mktemp /tmp/policy-rc.d.backup.XXXXXX)"
  cp -a "$POLICY" "$policy_backup"
fi

restore_policy() {
  if [[ -n "$policy_backup" ]]; then
    cp -a "$policy_backup" "$POLICY"
    rm -f "$policy_backup"
  else
    rm -f "$POLICY"
  fi
}
trap restore_policy EXIT

cat >"$POLICY" <<'EOF'
#!/bin/sh
# Temporary (scripts/deps.sh): deny all service starts during package installation.
exit 101
EOF
chmod 0755 "$POLICY"

# Database server processes that exist before the install are not ours.
server_pids() { pgrep -x 'mariadbd|mysqld|postgres|postmaster|mysqld_safe|mariadbd-safe|redis-server' || true; }
before=" $(server_pids | tr '\n' ' ') "

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Safety net: stop any database server the install itself started.
for pid in $(server_pids); do
  if [[ "$before" != *" $pid "* ]]; then
    echo "deps.sh: stopping $(ps -o comm= -p "$pid" 2>/dev/null || echo process) (pid $pid) started by the package install"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
done

install_python_deps
echo "deps.sh: done"
