#!/usr/bin/env bash
# Maintenance benchmark (prints figures, asserts nothing about time): the operator's maintenance engine (survey,
# planner, runner) on a table with 30% dead tuples and two bloated indexes, under each of the benches' two 4-client
# loads on the rows that stay: VACUUM (ANALYZE), then REINDEX INDEX CONCURRENTLY of each bloated index.
# Usage: bench/maintenance/run.sh [rows] [vacuum_cost_delay_ms] [vacuum_cost_limit]   (default 10000000 rows, the
# server's cost settings)   Needs: postgresql-15, postgresql-contrib (pgstattuple)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${1:-10000000}
COST_DELAY=${2:-}
COST_LIMIT=${3:-}
. bench/common/postgres.sh
bench_workdir maintenance
bench_classpath
bench_postgres 55435
mkdir -p "$WORK/classes" && javac -d "$WORK/classes" -cp "$CP" bench/common/Load.java bench/maintenance/MaintenanceBench.java
java -Xmx1g -cp "$WORK/classes:$CP" MaintenanceBench \
  "jdbc:postgresql://127.0.0.1:$PGPORT/bench?user=postgres" "$ROWS" "$COST_DELAY" "$COST_LIMIT" 2> "$WORK/bench.err" | tee target/maintenance-bench.md
echo "results: target/maintenance-bench.md"
