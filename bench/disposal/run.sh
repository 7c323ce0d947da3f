#!/usr/bin/env bash
# Disposal benchmark (prints figures, asserts nothing about time): anonymize, then delete, 1M of 5M rows with
# the operator's disposal engine, under a 4-client load on the rows that stay.
# Usage: bench/disposal/run.sh [rows] [batch]   (default 5000000 5000)   Needs: postgresql-15
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${1:-5000000}; BATCH=${2:-5000}
BIN=/usr/lib/postgresql/15/bin
WORK=$(mktemp -d /tmp/dba-dsp-bench-XXXX); chmod 755 "$WORK"
PGPORT=55434
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
CONF
as_pg "$BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w start >/dev/null
"$BIN/createdb" -h 127.0.0.1 -p $PGPORT -U postgres bench
mkdir -p "$WORK/classes" && javac -d "$WORK/classes" -cp "$CP" bench/common/Load.java bench/disposal/DisposalBench.java
java -Xmx1g -cp "$WORK/classes:$CP" DisposalBench \
  "jdbc:postgresql://127.0.0.1:$PGPORT/bench?user=postgres" "$ROWS" "$BATCH" 2> "$WORK/bench.err" | tee "$WORK/results.md"
echo "results: $WORK/results.md"
