#!/usr/bin/env bash
# `make fuzz`: libFuzzer (the Swift toolchain's, -sanitize=fuzzer with AddressSanitizer) on the
# PostgreSQL message reader of the native probe path, for FUZZ_SECONDS (default 180). The seed
# corpus is Fixtures/fuzz/postgres-messages (read only); what the fuzzer finds goes to
# .build/fuzz/corpus, a crashing input to .build/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .build/fuzz/corpus
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name PostgresWireFuzz \
  Drivers/PostgresWire/PostgresMessages.swift Fuzz/PostgresMessagesFuzz.swift -o .build/fuzz/postgres-messages
.build/fuzz/postgres-messages -max_total_time="${FUZZ_SECONDS:-180}" -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix=.build/fuzz/ .build/fuzz/corpus Fixtures/fuzz/postgres-messages
