#!/usr/bin/env bash
# Disposal benchmark (prints figures, asserts nothing about time): anonymize, then delete, 1M of 5M rows with
# the operator's disposal engine, under a 4-client load on the rows that stay.
# Usage: bench/disposal/run.sh [rows] [batch]   (default 5000000 5000)   Needs: postgresql-15
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${1:-5000000}; BATCH=${2:-5000}
. bench/common/postgres.sh
bench_workdir disposal
bench_classpath
bench_postgres 55434
mkdir -p "$WORK/classes" && javac -d "$WORK/classes" -cp "$CP" bench/common/Load.java bench/disposal/DisposalBench.java
java -Xmx1g -cp "$WORK/classes:$CP" DisposalBench \
  "jdbc:postgresql://127.0.0.1:$PGPORT/bench?user=postgres" "$ROWS" "$BATCH" 2> "$WORK/bench.err" | tee target/disposal-bench.md
echo "results: target/disposal-bench.md"
