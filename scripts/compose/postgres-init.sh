#!/usr/bin/env bash
# docker-compose.test.yml: the initdb script of postgres-tls and postgres-plain (official
# postgres image, run once on an empty data directory, as the postgres user, while the image's
# temporary server listens on its socket only). The roles, databases and schemas are those
# `scripts/services.sh start` creates (its own SQL, passwords from the CE_* variables); the
# client authentication is its pg_hba.conf, for clients from any address, since they come
# through Docker's network rather than from 127.0.0.1.
set -euo pipefail
bash /src/scripts/services.sh setup-sql postgres \
  | psql -X -q -v ON_ERROR_STOP=1 --username postgres --dbname postgres
cat >"$PGDATA/pg_hba.conf" <<'HBA'
# TYPE  DATABASE  USER      ADDRESS  METHOD
local   all       postgres           trust
host    all       probe_md5 all      md5
host    all       probe_trust all    trust
host    all       probe_cleartext all password
host    all       all       all      scram-sha-256
HBA
