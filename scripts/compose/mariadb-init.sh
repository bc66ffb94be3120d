# docker-compose.test.yml: the initdb script of mariadb-tls and mariadb-plain (official mariadb
# image, run once on an empty data directory). Not executable, so the image's entrypoint sources
# it and its docker_process_sql (root over the socket) runs the SQL of `scripts/services.sh start`
# (passwords from the CE_* variables). The entrypoint's `set -eo pipefail` stops the start-up
# when either side fails.
bash /src/scripts/services.sh setup-sql mariadb | docker_process_sql
