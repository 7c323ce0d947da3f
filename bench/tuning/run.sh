#!/usr/bin/env bash
# Tuning benchmark (prints figures, asserts nothing), on two workloads designed apart, 22 slow queries each:
#  shop:    customers, products, orders, order_items (~3.2 million rows at 2M orders), skewed; literal and
#           parameter predicates, joins, sorts, multi-column and partial-index cases, queries no index helps;
#  support: accounts, agents, tickets, ticket_events (~6.4 million rows at 2M tickets), timestamps relative to
#           now() and denser in recent days; windows relative to now(), equality plus a window, ORDER BY ... LIMIT,
#           IN lists, IS NULL, joins whose selective side is the small table, queries no index helps.
# For each query: baseline cost and time, the operator's recommendation (its analyzer, candidates and HypoPG
# costing, exactly the classes the controller runs), cost and time with that index really built, and the
# yardstick: the best single- or two-column B-tree index over the same tables' columns, found by brute force with
# HypoPG. Usage: bench/tuning/run.sh [rows] [shop,support]   (default 2000000 orders / tickets, both workloads)
# Needs: postgresql-15, postgresql-15-hypopg
set -euo pipefail
cd "$(dirname "$0")/../.."
ORDERS=${1:-2000000}
WORKLOADS=${2:-shop,support}
BIN=/usr/lib/postgresql/15/bin
WORK=$(mktemp -d /tmp/dba-tuning-bench-XXXX); chmod 755 "$WORK"
PGPORT=55437
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() { as_pg "$BIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$WORK"; }
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
  "jdbc:postgresql://127.0.0.1:$PGPORT/bench?user=postgres" "$ORDERS" "$WORKLOADS" 2> "$WORK/bench.err" | tee target/tuning-bench.md || { cat "$WORK/bench.err" >&2; exit 1; }
echo "results: target/tuning-bench.md"
