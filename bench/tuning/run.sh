#!/usr/bin/env bash
# Tuning benchmark (prints figures, asserts nothing): ~3.2 million rows over four tables with skewed
# distributions, 22 slow queries (joins, ranges, sorts, multi-column predicates, partial-index cases, and queries
# no index helps). For each: baseline cost and time, the operator's recommendation (its analyzer, candidates and
# HypoPG costing, exactly the classes the controller runs), cost and time with that index really built, and the
# yardstick: the best single- or two-column B-tree index over the same tables' columns, found by brute force with
# HypoPG. Usage: bench/tuning/run.sh [orders]   (default 2000000)   Needs: postgresql-15, postgresql-15-hypopg
set -euo pipefail
cd "$(dirname "$0")/../.."
ORDERS=${1:-2000000}
BIN=/usr/lib/postgresql/15/bin
WORK=$(mktemp -d /tmp/dba-tuning-bench-XXXX); chmod 755 "$WORK"
PGPORT=55437
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() { as_pg "$BIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true; }
trap cleanup EXIT

./mvnw -B -q -o -DskipTests package >/dev/null 2>&1 || ./mvnw -B -q -DskipTests package >/dev/null
./mvnw -B -q -o dependency:build-classpath -Dmdep.outputFile="$WORK/cp.txt" -Dmdep.includeScope=runtime >/dev/null
CP="target/classes:$(cat "$WORK/cp.txt")"

[ "$(id -u)" = 0 ] && chown postgres "$WORK"
as_pg "$BIN/initdb" -D "$WORK/pg" -U postgres -A trust --no-sync >/dev/null
cat >> "$WORK/pg/postgresql.conf" <<CONF
port = $PGPORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
shared_buffers = 512MB
max_wal_size = 4GB
fsync = off
CONF
as_pg "$BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w start >/dev/null
"$BIN/createdb" -h 127.0.0.1 -p $PGPORT -U postgres bench
mkdir -p "$WORK/classes" && javac -d "$WORK/classes" -cp "$CP" bench/tuning/TuningBench.java
java -Xmx1g -cp "$WORK/classes:$CP" TuningBench \
  "jdbc:postgresql://127.0.0.1:$PGPORT/bench?user=postgres" "$ORDERS" 2> "$WORK/bench.err" | tee "$WORK/results.md"
echo "results: $WORK/results.md"
