#!/usr/bin/env bash
# Masking benchmark (prints figures, asserts nothing): a table of [rows] people with 4 personal columns (e-mail, full
# name, phone, card number) masked the operator's way (a masked restore's path: pg_dump -Fc, then timed: pg_restore
# into a new database, Masker's one UPDATE per table, the check against a sample of the originals, the PII
# discovery, and the rename that serves it) and Greenmask's way (timed: greenmask dump with equivalent transformers,
# then greenmask restore into a new database), in the same run, on the same server.
# Usage: bench/masking/run.sh [rows] [greenmask binary]   (default 10000000 rows; without a Greenmask binary its
# half is skipped and the report says so). Greenmask is not on the Go module proxy (403 for
# github.com/greenmaskio/greenmask): build it from its source, e.g. at tag v0.2.22: go build ./cmd/greenmask.
# Needs: postgresql-15 (pg_dump, pg_restore).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${1:-10000000}
GREENMASK=${2:-}
. bench/common/postgres.sh
bench_workdir masking
bench_classpath
bench_postgres 55438 "fsync = off\nmax_wal_size = 16GB"
mkdir -p "$WORK/classes" && javac -d "$WORK/classes" -cp "$CP" bench/masking/MaskingBench.java
[ "$(id -u)" = 0 ] && chown -R postgres "$WORK"
java -Xmx1g -cp "$WORK/classes:$CP" MaskingBench "$PGPORT" "$ROWS" "$WORK" "${GREENMASK:-}" \
  2> "$WORK/bench.err" | tee target/masking-bench.md
echo "results: target/masking-bench.md"
