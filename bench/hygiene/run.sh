#!/usr/bin/env bash
# Index hygiene benchmark (prints figures, asserts nothing): T tables with planted unused, duplicate,
# prefix-redundant, INCLUDE-covered and invalid indexes beside constraint-backed, replica-identity, unique, partial
# and in-use ones; the operator's review and its proposed DROP INDEX CONCURRENTLY executed; what was found against
# what was planted, and what was dropped that must not be.
# Usage: bench/hygiene/run.sh [tables] [rows]   (default 50 20000)   Needs: postgresql-15
set -euo pipefail
cd "$(dirname "$0")/../.."
TABLES=${1:-50}; ROWS=${2:-20000}
. bench/common/postgres.sh
bench_workdir hygiene
bench_classpath
bench_postgres 55438 "fsync = off"
mkdir -p "$WORK/classes" && javac -d "$WORK/classes" -cp "$CP" bench/hygiene/HygieneBench.java
java -Xmx512m -cp "$WORK/classes:$CP" HygieneBench \
  "jdbc:postgresql://127.0.0.1:$PGPORT/bench?user=postgres" "$TABLES" "$ROWS" 2> "$WORK/bench.err" | tee target/hygiene-bench.md
echo "results: target/hygiene-bench.md"
