#!/usr/bin/env bash
# Health sampling benchmark (prints figures, asserts nothing): what the per-database health sampling costs (queries
# and ms per database per interval) with N databases on one server, sampled as the operator's fleet sampler does.
# Usage: bench/health/run.sh [databases] [tables]   (default 100 20)   Needs: postgresql-15
set -euo pipefail
cd "$(dirname "$0")/../.."
DATABASES=${1:-100}; TABLES=${2:-20}
. bench/common/postgres.sh
bench_workdir health
bench_classpath
bench_postgres 55439 "fsync = off\nmax_connections = 200"
mkdir -p "$WORK/classes" && javac -d "$WORK/classes" -cp "$CP" bench/health/HealthBench.java
java -Xmx512m -cp "$WORK/classes:$CP" HealthBench "jdbc:postgresql://127.0.0.1:$PGPORT/" "$DATABASES" "$TABLES" \
  2> "$WORK/bench.err" | tee target/health-bench.md
echo "results: target/health-bench.md"
