# connector-engine in a container; docker-compose.test.yml's scale-out profile builds it.
#   docker build -t connector-engine .
#   docker run -e DATABASE_URL=... -e CONNECTOR_ENGINE_KEYS=... -p 127.0.0.1:8080:8080 connector-engine

# Build: the official Swift image on Debian 12 (the toolchain this project is built with, 6.3),
# plus the headers of the C libraries under Drivers/.
FROM swift:6.3-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libpq-dev libmariadb-dev libcurl4-openssl-dev libsqlite3-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The binary reads its OpenAPI document from the resource bundle beside it.
RUN swift build -c release --product connector-engine \
 && bin="$(swift build -c release --show-bin-path)" \
 && install -D -m 0755 "$bin/connector-engine" /out/connector-engine \
 && cp -R "$bin/connector-engine_ConnectorAPI.resources" /out/

# Run: the Swift runtime libraries (slim image) and the C libraries, no compiler.
FROM swift:6.3-bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libpq5 libmariadb3 libcurl4 libsqlite3-0 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /var/lib/connector-engine connector-engine
COPY --from=build /out/ /usr/local/bin/
USER connector-engine
# --data-dir defaults to ./data: the SQLite store and key file when DATABASE_URL and
# CONNECTOR_ENGINE_KEYS are not given.
WORKDIR /var/lib/connector-engine
EXPOSE 8080
CMD ["connector-engine", "serve", "--host", "0.0.0.0", "--port", "8080"]
