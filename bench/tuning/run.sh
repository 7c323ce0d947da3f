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
# HypoPG. Usage: bench/tuning/run.sh [rows] [shop,support,saas]   (default 2000000 orders / tickets, both workloads)
# Needs: postgresql-15, postgresql-15-hypopg
set -euo pipefail
cd "$(dirname "$0")/../.."
ORDERS=${1:-2000000}
WORKLOADS=${2:-shop,support,saas}
. bench/common/postgres.sh
bench_workdir tuning
bench_classpath
bench_postgres 55437 "fsync = off"
mkdir -p "$WORK/classes" && javac -d "$WORK/classes" -cp "$CP" bench/tuning/TuningBench.java
java -Xmx1g -cp "$WORK/classes:$CP" TuningBench \
  "jdbc:postgresql://127.0.0.1:$PGPORT/bench?user=postgres" "$ORDERS" "$WORKLOADS" 2> "$WORK/bench.err" | tee target/tuning-bench.md
echo "results: target/tuning-bench.md"
