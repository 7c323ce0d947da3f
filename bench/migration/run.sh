#!/usr/bin/env bash
# Migration benchmark (prints figures, asserts nothing about time): the same change (add a column, backfill it
# from another, drop the old one) made naively and through the operator's migration engine, under a 4-client
# pgbench-style load; then the lock-queue case (a transaction holding the table for 20 s when the ALTER arrives).
# Usage: bench/migration/run.sh [rows]      (default 1000000)      Needs: postgresql-15
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${1:-1000000}
. bench/common/postgres.sh
bench_workdir migration
bench_classpath
bench_postgres 55433
mkdir -p "$WORK/classes" && javac -d "$WORK/classes" -cp "$CP" bench/common/Load.java bench/migration/MigrationBench.java
java -Xmx1g -cp "$WORK/classes:$CP" MigrationBench \
  "jdbc:postgresql://127.0.0.1:$PGPORT/bench?user=postgres" "$ROWS" 2> "$WORK/bench.err" | tee target/migration-bench.md
echo "results: target/migration-bench.md"
