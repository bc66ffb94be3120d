# Connector Engine: the README's commands.
#   make run    build and serve the API on 127.0.0.1:8080
#   make test   install what is missing, start the local test services, run every test, stop them
#   make bench  the probe benchmarks against the local services
#   make soak   minutes of mixed API traffic through a store outage, a SIGKILL and a SIGTERM (scripts/soak.py)
#   make format rewrite the Swift sources in the house format (.swift-format; make test checks it)

SWIFT ?= swift
BIN_RELEASE := .build/release/connector-engine

.PHONY: run test bench soak deps build build-release format fuzz

deps:
	@scripts/deps.sh

build: deps
	$(SWIFT) build

build-release: deps
	$(SWIFT) build -c release --product connector-engine

run: build-release
	$(BIN_RELEASE) serve

test: deps
	@scripts/run-tests.sh

bench: build-release
	@scripts/bench.sh

soak: build-release
	@scripts/soak.sh

format:
	$(SWIFT) format format --in-place --recursive Sources Tests Drivers Fuzz Package.swift

# libFuzzer on the native PostgreSQL path's message reader (FUZZ_SECONDS, default 180).
fuzz:
	@scripts/fuzz.sh
