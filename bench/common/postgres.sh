# Sourced by bench/*/run.sh: the one way a benchmark gets its scratch directory, its classpath and its own
# PostgreSQL 15, and leaves nothing behind (the directory, with the cluster in it, is removed at exit; results go
# to target/).
#   bench_workdir NAME        WORK=/tmp/dba-NAME-bench-XXXX
#   bench_classpath [scope]   CP: target/classes and the dependencies (runtime scope unless told), built offline
#                             first, online when the offline build cannot resolve something
#   bench_postgres PORT [conf lines]   initdb, start on 127.0.0.1:PORT (trust, socket in WORK; PGPORT set),
#                             database "bench";
#                             extra postgresql.conf lines as one string with \n between them
# A run.sh that starts more (an S3 server) puts its own stop command in BENCH_EXTRA_CLEANUP.
BIN=/usr/lib/postgresql/15/bin
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
bench_cleanup() {
  local rc=$?
  [ -n "${WORK:-}" ] || return 0
  # a failed run shows what the benchmark said on stderr before its directory goes
  [ "$rc" -ne 0 ] && [ -s "$WORK/bench.err" ] && tail -40 "$WORK/bench.err" >&2
  [ -d "$WORK/pg" ] && as_pg "$BIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1
  eval "${BENCH_EXTRA_CLEANUP:-true}" || true
  rm -rf "$WORK"
}
bench_workdir() {
  WORK=$(mktemp -d "/tmp/dba-$1-bench-XXXX"); chmod 755 "$WORK"
  trap bench_cleanup EXIT
  mkdir -p target
}
bench_classpath() {
  ./mvnw -B -q -o -DskipTests package >/dev/null 2>&1 || ./mvnw -B -q -DskipTests package >/dev/null
  # the dependency plugin is not among what the build itself fetches: online the first time on a fresh machine
  ./mvnw -B -q -o dependency:build-classpath -Dmdep.outputFile="$WORK/cp.txt" -Dmdep.includeScope="${1:-runtime}" \
    >/dev/null 2>&1 || ./mvnw -B -q dependency:build-classpath -Dmdep.outputFile="$WORK/cp.txt" \
    -Dmdep.includeScope="${1:-runtime}" >/dev/null
  CP="target/classes:$(cat "$WORK/cp.txt")"
}
bench_postgres() {
  local port=$1
  PGPORT=$port
  [ "$(id -u)" = 0 ] && chown postgres "$WORK"
  as_pg "$BIN/initdb" -D "$WORK/pg" -U postgres -A trust --no-sync >/dev/null
  printf "port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nshared_buffers = 512MB\nmax_wal_size = 4GB\n%b\n" \
    "$port" "$WORK" "${2:-}" >> "$WORK/pg/postgresql.conf"
  as_pg "$BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w start >/dev/null
  "$BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres bench
}
