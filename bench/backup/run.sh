#!/usr/bin/env bash
# Backup benchmark (prints figures, asserts nothing about time): the operator's agent next to
#  (a) pg_basebackup -D - -Ft -X fetch | wc -c     the database side's ceiling
#  (b) the same piped into a plain streaming upload: PlainStreamToS3.java, stdin to a multipart upload with the same
#      AWS SDK, nothing else
#  (c) the same piped into aws s3 cp - (aws-cli from PyPI), what a person's script runs
#  (d) pgBackRest and barman-cloud-backup           when installed (Debian: pgbackrest, barman-cli-cloud)
# then logical rows (LOGICAL=0 skips them): pg_dump against the agent's logical-backup, and restores (logical_rows).
# on pgbench databases of the given scales, into one S3 server on this machine: SeaweedFS, the server the tests run
# (bench/common/s3.sh).
# Usage: bench/backup/run.sh [scale ...]      (default: 100 300)   Needs: postgresql-15, awscli, /usr/bin/time, go
set -euo pipefail
cd "$(dirname "$0")/../.."
SCALES=("${@:-100 300}"); [ $# -gt 0 ] || SCALES=(100 300)
. bench/common/postgres.sh
. bench/common/s3.sh
bench_workdir backup
S3PORT=59000; S3TLS=59443; BUCKET=bench
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_DEFAULT_REGION=us-east-1
RESULTS=target/backup-bench.md

bench_classpath
# the agent runs with the image's JVM options (src/main/docker/dba-agent), unless AGENT_JAVA_OPTS says otherwise
AGENT_OPTS=${AGENT_JAVA_OPTS:-$(sed -n 's/.*AGENT_JAVA_OPTS:-\([^}]*\)}.*/\1/p' src/main/docker/dba-agent)}
AWS=$(command -v /usr/bin/aws || command -v aws)
bench_s3 $S3PORT $S3TLS
# a sink that discards what it is sent (DiscardS3.java): the uploaders' own cost where the store is not the bottleneck
DISCARD=59100
java -Xmx64m bench/backup/DiscardS3.java $DISCARD > "$WORK/discard.out" 2>&1 & DISCARDPID=$!
BENCH_EXTRA_CLEANUP="kill \$DISCARDPID 2>/dev/null; $BENCH_EXTRA_CLEANUP"
until grep -q listening "$WORK/discard.out"; do sleep 0.2; done

# WAL archiving on (to nowhere), as a production primary whose backups the tools take
bench_postgres 55432 "wal_level = replica\narchive_mode = on\narchive_command = '/bin/true'"
export PGHOST=127.0.0.1 PGPORT PGUSER=postgres

secs() { python3 -c "import time; print(f'{time.time():.3f}')"; }
row() { printf '| %s | %s | %s | %s | %s | %s |\n' "$@" | tee -a "$RESULTS"; }
mb() { python3 -c "print(f'{$1/1048576:.0f}')"; }
rss() { local kb; kb=$(tail -1 "$1" 2>/dev/null); [[ "$kb" =~ ^[0-9]+$ ]] && echo $(( kb / 1024 )) || echo "?"; }

BENCH_KEY=$(openssl rand -base64 32)
agent() { # the agent as a Job runs it: its environment, the image's JVM options, peak RSS into $WORK/rss
  # AGENT_ENC=1: with client-side encryption (spec.encryption), the key as envFrom gives it
  local ENC=(); [ -z "${AGENT_ENC:-}" ] || ENC=(DBA_ENC_SECRET=bench-keys DBA_ENC_CURRENT=k1 "DBA_ENC_KEY_k1=$BENCH_KEY")
  env -i "${ENC[@]}" PATH="$PATH" HOME="$HOME" DBA_DB_host=127.0.0.1 DBA_DB_port=$PGPORT DBA_DB_dbname="${AGENT_DB:-bench}" \
    DBA_DB_user=postgres DBA_DB_password=x DBA_S3_BUCKET=$BUCKET DBA_S3_PREFIX=agent \
    DBA_S3_ENDPOINT="${AGENT_S3:-http://127.0.0.1:$S3PORT}" DBA_S3_PATH_STYLE=true DBA_S3_ACCESS_KEY_ID=bench \
    DBA_S3_SECRET_ACCESS_KEY=bench-secret TMPDIR="$WORK" DBA_PG_BINDIR="$BIN" \
    /usr/bin/time -f "%M" -o "$WORK/rss" java $AGENT_OPTS -Djava.io.tmpdir="$WORK" -cp "$CP" \
    io.dbaoperator.agent.AgentMain "$@" >"$WORK/agent.out" 2>"$WORK/agent.err" \
    || { echo "agent $1 failed:"; tail -3 "$WORK/agent.err"; }
}
timed() { # wall seconds of a command line (eval'd)
  local t0 t1; t0=$(secs); eval "$1"; t1=$(secs); python3 -c "print(f'{$t1-$t0:.1f}')"
}
rate() { python3 -c "print(f'{$1/1048576/$2:.0f}')"; }

# Logical rows (issue 32): pg_dump -Fc of the bench database (gzip level 6, pg_dump's default) into
#  (a) wc -c, the database side's ceiling; (b) the plain SDK multipart upload; (c) a local file, what a person runs;
#  (d) directory format with 2 parallel jobs into a local directory (what -Fd -j buys on these cores);
# then the agent's logical-backup (stream + upload + catalog), and verified (read back through pg_restore --list);
# and restores of that dump into a new database: pg_restore from the local file, the agent's logical-restore with
# one job (streamed from the bucket) and with 2 (downloaded to scratch, then pg_restore -j 2).
logical_rows() {
  local DBBYTES W BYTES ID
  DBBYTES=$("$BIN/psql" -qAt -c "select pg_database_size('bench')")
  echo | tee -a "$RESULTS"
  echo "### logical (pg_dump -Fc, gzip 6) of the bench database: $(mb "$DBBYTES") MB" | tee -a "$RESULTS"
  row "tool" "format" "wall s" "database MB/s" "stored MB" "peak RSS MB"
  row "---" "---" "---:" "---:" "---:" "---:"
  W=$(timed '"$BIN/pg_dump" -Fc bench | wc -c > "$WORK/bytes"'); BYTES=$(cat "$WORK/bytes")
  row "(a) pg_dump -Fc \| wc -c" "custom" "$W" "$(rate "$DBBYTES" "$W")" "$(mb "$BYTES")" "-"
  W=$(timed '"$BIN/pg_dump" -Fc bench | /usr/bin/time -f "%M" -o "$WORK/rss" java -Xmx192m -cp "$CP" bench/backup/PlainStreamToS3.java "http://127.0.0.1:$S3PORT" "$BUCKET" "plain/$SCALE.dump"')
  row "(b) pg_dump -Fc \| plain SDK multipart" "custom" "$W" "$(rate "$DBBYTES" "$W")" "$(mb "$BYTES")" "$(rss "$WORK/rss")"
  W=$(timed '"$BIN/pg_dump" -Fc -f "$WORK/bench.dump" bench')
  row "(c) pg_dump -Fc -f local file" "custom" "$W" "$(rate "$DBBYTES" "$W")" "$(mb "$(stat -c %s "$WORK/bench.dump")")" "-"
  W=$(timed '"$BIN/pg_dump" -Fd -j 2 -f "$WORK/bench.dir" bench')
  row "(d) pg_dump -Fd -j 2 -f local directory" "directory" "$W" "$(rate "$DBBYTES" "$W")" "$(mb "$(du -sb "$WORK/bench.dir" | cut -f1)")" "-"
  rm -rf "$WORK/bench.dir"
  ID=$(date -u +%Y%m%dT%H%M%SZ)
  W=$(timed 'agent logical-backup --namespace bench --policy "l$SCALE" --backup-id "$ID" --verify false')
  row "agent logical-backup (stream + upload + catalog)" "custom" "$W" "$(rate "$DBBYTES" "$W")" "$(stored "agent/bench/l$SCALE/base/$ID/")" "$(rss "$WORK/rss")"
  sleep 1; ID=$(date -u +%Y%m%dT%H%M%SZ)
  W=$(timed 'AGENT_ENC=1 agent logical-backup --namespace bench --policy "le$SCALE" --backup-id "$ID" --verify false')
  row "agent logical-backup, encrypted (AES-256-GCM)" "custom" "$W" "$(rate "$DBBYTES" "$W")" "$(stored "agent/bench/le$SCALE/base/$ID/")" "$(rss "$WORK/rss")"
  sleep 1; ID=$(date -u +%Y%m%dT%H%M%SZ)
  W=$(timed 'agent logical-backup --namespace bench --policy "l$SCALE" --backup-id "$ID"')
  row "agent logical-backup, then verified (pg_restore --list)" "custom" "$W" "$(rate "$DBBYTES" "$W")" "$(stored "agent/bench/l$SCALE/base/$ID/")" "$(rss "$WORK/rss")"
  row "**restore into a new database**" "" "" "" "" ""
  "$BIN/createdb" restored_a
  W=$(timed '"$BIN/pg_restore" --no-owner -d restored_a "$WORK/bench.dump"')
  row "pg_restore from the local file" "custom" "$W" "$(rate "$DBBYTES" "$W")" "-" "-"
  "$BIN/createdb" restored_e
  W=$(timed 'cat "$WORK/bench.dump" | "$BIN/pg_restore" --no-owner -d restored_e')
  row "pg_restore from stdin (the same file through a pipe)" "custom" "$W" "$(rate "$DBBYTES" "$W")" "-" "-"
  "$BIN/createdb" restored_b
  W=$(timed '"$BIN/pg_restore" --no-owner -j 2 -d restored_b "$WORK/bench.dump"')
  row "pg_restore -j 2 from the local file" "custom" "$W" "$(rate "$DBBYTES" "$W")" "-" "-"
  W=$(timed 'AGENT_DB=postgres agent logical-restore --namespace bench --policy "l$SCALE" --restore-id "r1-$SCALE" --backup-id "$ID" --sources "[\"bench\"]" --target restored_c')
  row "agent logical-restore, 1 job (streamed from the bucket)" "custom" "$W" "$(rate "$DBBYTES" "$W")" "-" "$(rss "$WORK/rss")"
  W=$(timed 'AGENT_DB=postgres agent logical-restore --namespace bench --policy "l$SCALE" --restore-id "r2-$SCALE" --backup-id "$ID" --sources "[\"bench\"]" --target restored_d --jobs 2')
  row "agent logical-restore, 2 jobs (downloaded, then pg_restore -j 2)" "custom" "$W" "$(rate "$DBBYTES" "$W")" "-" "$(rss "$WORK/rss")"
  for d in restored_a restored_b restored_c restored_d restored_e; do "$BIN/dropdb" --if-exists "$d"; done
  rm -f "$WORK/bench.dump"
  "$AWS" --endpoint-url "http://127.0.0.1:$S3PORT" s3 rm --recursive --quiet "s3://$BUCKET/" || true
}
stored() { "$AWS" --endpoint-url "http://127.0.0.1:$S3PORT" s3 ls --recursive "s3://$BUCKET/$1" | awk '{s+=$3} END {print s+0}' | { read -r b; mb "$b"; }; }

echo "# backup benchmark, $(date -u +%FT%TZ), $(nproc) cores" > "$RESULTS"
for SCALE in "${SCALES[@]}"; do
  as_pg "$BIN/dropdb" --if-exists -h 127.0.0.1 -p $PGPORT bench 2>/dev/null || true
  "$BIN/createdb" bench; "$BIN/pgbench" -i -q -s "$SCALE" bench >/dev/null 2>&1
  "$BIN/psql" -qAt -c checkpoint bench
  DBSIZE=$("$BIN/psql" -qAt -c "select sum(pg_database_size(datname)) from pg_database")
  echo | tee -a "$RESULTS"
  echo "## pgbench scale $SCALE: $(mb "$DBSIZE") MB in the cluster" | tee -a "$RESULTS"
  row "tool" "compression" "wall s" "database MB/s" "stored MB" "peak RSS MB"
  row "---" "---" "---:" "---:" "---:" "---:"
  for COMP in ${COMPRESSIONS:-none server-lz4 server-zstd}; do
    FLAG=(); [ "$COMP" = none ] || FLAG=(--compress="$COMP")
    MANIFEST=(); [ "$COMP" = none ] || MANIFEST=(--no-manifest)
    t0=$(secs); BYTES=$("$BIN/pg_basebackup" -D - -Ft -X fetch -c fast "${FLAG[@]}" "${MANIFEST[@]}" | wc -c); t1=$(secs)
    W=$(python3 -c "print(f'{$t1-$t0:.1f}')"); row "(a) pg_basebackup \| wc -c" "$COMP" "$W" "$(python3 -c "print(f'{$DBSIZE/1048576/($t1-$t0):.0f}')")" "$(mb "$BYTES")" "-"
    t0=$(secs); "$BIN/pg_basebackup" -D - -Ft -X fetch -c fast "${FLAG[@]}" "${MANIFEST[@]}" | \
      /usr/bin/time -f "%M" -o "$WORK/rss" java -Xmx192m -cp "$CP" bench/backup/PlainStreamToS3.java "http://127.0.0.1:$S3PORT" "$BUCKET" "plain/$SCALE-$COMP.tar"; t1=$(secs)
    W=$(python3 -c "print(f'{$t1-$t0:.1f}')"); row "(b) pg_basebackup \| plain SDK multipart" "$COMP" "$W" "$(python3 -c "print(f'{$DBSIZE/1048576/($t1-$t0):.0f}')")" "$(mb "$BYTES")" "$(rss "$WORK/rss")"
    t0=$(secs); "$BIN/pg_basebackup" -D - -Ft -X fetch -c fast "${FLAG[@]}" "${MANIFEST[@]}" | \
      /usr/bin/time -f "%M" -o "$WORK/rss" "$AWS" --endpoint-url "http://127.0.0.1:$S3PORT" s3 cp --expected-size "$BYTES" - \
      "s3://$BUCKET/awscli/$SCALE-$COMP.tar" 2>"$WORK/awscli.err" || { echo "aws s3 cp failed:"; tail -3 "$WORK/awscli.err"; }; t1=$(secs)
    W=$(python3 -c "print(f'{$t1-$t0:.1f}')"); row "(c) pg_basebackup \| aws s3 cp - ($("$AWS" --version 2>&1 | cut -d' ' -f1))" "$COMP" "$W" "$(python3 -c "print(f'{$DBSIZE/1048576/($t1-$t0):.0f}')")" "$(stored "awscli/$SCALE-$COMP.tar")" "$(rss "$WORK/rss")"
    ALG=${COMP#server-}; LOC=server; [ "$COMP" = none ] && { ALG=none; LOC=client; }
    ID=$(date -u +%Y%m%dT%H%M%SZ)
    t0=$(secs)
    env -i PATH="$PATH" HOME="$HOME" DBA_DB_host=127.0.0.1 DBA_DB_port=$PGPORT DBA_DB_dbname=bench DBA_DB_user=postgres \
      DBA_DB_password=x DBA_S3_BUCKET=$BUCKET DBA_S3_PREFIX=agent DBA_S3_ENDPOINT="http://127.0.0.1:$S3PORT" \
      DBA_S3_PATH_STYLE=true DBA_S3_ACCESS_KEY_ID=bench DBA_S3_SECRET_ACCESS_KEY=bench-secret \
      /usr/bin/time -f "%M" -o "$WORK/rss" java $AGENT_OPTS -cp "$CP" io.dbaoperator.agent.AgentMain backup --namespace bench \
      --policy "s$SCALE" --backup-id "$ID" --compression "$ALG" --compression-location "$LOC" --verify false >/dev/null 2>"$WORK/agent.err" \
      || { echo "agent failed:"; tail -5 "$WORK/agent.err"; }
    t1=$(secs)
    STORED=$("$AWS" --endpoint-url "http://127.0.0.1:$S3PORT" s3 ls --recursive "s3://$BUCKET/agent/bench/s$SCALE/base/$ID/" | awk '{s+=$3} END {print s+0}')
    W=$(python3 -c "print(f'{$t1-$t0:.1f}')"); row "agent (stream + upload + catalog)" "$COMP" "$W" "$(python3 -c "print(f'{$DBSIZE/1048576/($t1-$t0):.0f}')")" "$(mb "$STORED")" "$(rss "$WORK/rss")"
    t0=$(secs); "$BIN/pg_basebackup" -D - -Ft -X fetch -c fast "${FLAG[@]}" "${MANIFEST[@]}" | \
      java -Xmx192m -cp "$CP" bench/backup/PlainStreamToS3.java "http://127.0.0.1:$DISCARD" "$BUCKET" "plain/x.tar"; t1=$(secs)
    W=$(python3 -c "print(f'{$t1-$t0:.1f}')"); row "(b') plain SDK multipart into a discard sink" "$COMP" "$W" "$(rate "$DBSIZE" "$W")" "-" "-"
    ID4=$(date -u +%Y%m%dT%H%M%SZ); sleep 1; ID4=$(date -u +%Y%m%dT%H%M%SZ)
    W=$(timed 'AGENT_S3="http://127.0.0.1:$DISCARD" agent backup --namespace bench --policy "d$SCALE" --backup-id "$ID4" --compression "$ALG" --compression-location "$LOC" --verify false')
    row "agent into a discard sink" "$COMP" "$W" "$(rate "$DBSIZE" "$W")" "-" "$(rss "$WORK/rss")"
    ID3=$(date -u +%Y%m%dT%H%M%SZ); sleep 1; ID3=$(date -u +%Y%m%dT%H%M%SZ)
    W=$(timed 'AGENT_ENC=1 agent backup --namespace bench --policy "e$SCALE" --backup-id "$ID3" --compression "$ALG" --compression-location "$LOC" --verify false')
    row "agent, encrypted (AES-256-GCM, client side)" "$COMP" "$W" "$(rate "$DBSIZE" "$W")" "$(stored "agent/bench/e$SCALE/base/$ID3/")" "$(rss "$WORK/rss")"
    ID2=$(date -u +%Y%m%dT%H%M%SZ); sleep 1; ID2=$(date -u +%Y%m%dT%H%M%SZ)
    t0=$(secs)
    env -i PATH="$PATH" HOME="$HOME" DBA_DB_host=127.0.0.1 DBA_DB_port=$PGPORT DBA_DB_dbname=bench DBA_DB_user=postgres \
      DBA_DB_password=x DBA_S3_BUCKET=$BUCKET DBA_S3_PREFIX=agent DBA_S3_ENDPOINT="http://127.0.0.1:$S3PORT" \
      DBA_S3_PATH_STYLE=true DBA_S3_ACCESS_KEY_ID=bench DBA_S3_SECRET_ACCESS_KEY=bench-secret TMPDIR="$WORK" \
      /usr/bin/time -f "%M" -o "$WORK/rss" java $AGENT_OPTS -Djava.io.tmpdir="$WORK" -cp "$CP" io.dbaoperator.agent.AgentMain backup \
      --namespace bench --policy "v$SCALE" --backup-id "$ID2" --compression "$ALG" --compression-location "$LOC" >"$WORK/agent.out" 2>"$WORK/agent.err" \
      || { echo "agent failed:"; tail -3 "$WORK/agent.err"; cat "$WORK/agent.out"; \
           "$AWS" --endpoint-url "http://127.0.0.1:$S3PORT" s3 cp "s3://$BUCKET/agent/bench/v$SCALE/base/$ID2/backup.json" - | grep -E '"(error|method|pgVerifybackupOutput)"'; }
    t1=$(secs)
    W=$(python3 -c "print(f'{$t1-$t0:.1f}')"); row "agent, then verified (read back, unpack, check)" "$COMP" "$W" "$(python3 -c "print(f'{$DBSIZE/1048576/($t1-$t0):.0f}')")" "$(mb "$STORED")" "$(rss "$WORK/rss")"
    "$AWS" --endpoint-url "http://127.0.0.1:$S3PORT" s3 rm --recursive --quiet "s3://$BUCKET/" || true
  done
  if command -v pgbackrest >/dev/null; then
    mkdir -p "$WORK/pgbr"; [ "$(id -u)" = 0 ] && chown postgres "$WORK/pgbr"
    cat > "$WORK/pgbackrest.conf" <<CONF
[global]
repo1-type=s3
repo1-s3-endpoint=127.0.0.1
repo1-s3-bucket=$BUCKET
repo1-s3-region=us-east-1
repo1-s3-key=bench
repo1-s3-key-secret=bench-secret
repo1-s3-uri-style=path
repo1-storage-verify-tls=n
repo1-storage-port=$S3TLS
repo1-path=/pgbackrest
log-path=$WORK/pgbr
lock-path=$WORK/pgbr
start-fast=y
archive-check=n
[bench]
pg1-path=$WORK/pg
pg1-port=$PGPORT
pg1-socket-path=$WORK
CONF
    chmod 644 "$WORK/pgbackrest.conf"
    if as_pg pgbackrest --config="$WORK/pgbackrest.conf" --stanza=bench stanza-create >/dev/null 2>"$WORK/pgbr.err"; then
      t0=$(secs); as_pg /usr/bin/time -f "%M" -o "$WORK/pgbr/rss" pgbackrest --config="$WORK/pgbackrest.conf" --stanza=bench --type=full --compress-type=lz4 backup >/dev/null 2>>"$WORK/pgbr.err" && t1=$(secs) && \
        row "pgBackRest 2.45" "lz4" "$(python3 -c "print(f'{$t1-$t0:.1f}')")" "$(python3 -c "print(f'{$DBSIZE/1048576/($t1-$t0):.0f}')")" "-" "$(rss "$WORK/pgbr/rss")" \
        || row "pgBackRest 2.45" "lz4" "failed: $(tail -1 "$WORK/pgbr.err")" "" "" ""
    else
      row "pgBackRest 2.45" "lz4" "not run: $(tail -1 "$WORK/pgbr.err" | cut -c1-80)" "" "" ""
    fi
  fi
  if command -v barman-cloud-backup >/dev/null; then
    t0=$(secs)
    if /usr/bin/time -f "%M" -o "$WORK/rss" barman-cloud-backup --endpoint-url "http://127.0.0.1:$S3PORT" -h 127.0.0.1 -p $PGPORT -U postgres \
        "s3://$BUCKET/barman" bench >/dev/null 2>"$WORK/barman.err"; then
      t1=$(secs); row "barman-cloud-backup 3.4" "none" "$(python3 -c "print(f'{$t1-$t0:.1f}')")" "$(python3 -c "print(f'{$DBSIZE/1048576/($t1-$t0):.0f}')")" "-" "$(rss "$WORK/rss")"
    else
      row "barman-cloud-backup 3.4" "none" "failed: $(tail -1 "$WORK/barman.err" | cut -c1-80)" "" "" ""
    fi
  fi
  "$AWS" --endpoint-url "http://127.0.0.1:$S3PORT" s3 rm --recursive --quiet "s3://$BUCKET/" || true
  [ "${LOGICAL:-1}" = 0 ] || logical_rows
done
echo; echo "results: $RESULTS"
