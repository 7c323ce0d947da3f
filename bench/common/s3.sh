# Sourced by bench/*/run.sh after bench/common/postgres.sh: the S3 server the benchmarks write to, the one the tests
# run (SeaweedFS from its Go module, built by .ci/build-s3, cached), in WORK, on loopback, signing enforced.
#   bench_s3 PORT [TLSPORT]   starts it with the key pair AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (set them first)
#                             and the bucket $BUCKET; HTTPS on TLSPORT with a self-signed certificate (pgBackRest
#                             speaks only HTTPS); its other ports are PORT+1..PORT+7; stopped at exit. As many
#                             1 GiB volumes as the disk holds, and deleted objects' space reclaimed every minute: a
#                             run at scale 300 writes and deletes tens of GB
bench_s3() {
  local port=$1 tls=${2:-} weed https=()
  weed=$(bash .ci/build-s3 | tail -1)
  mkdir -p "$WORK/s3" "$WORK/s3log"
  printf '{"identities":[{"name":"bench","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}' \
    "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" > "$WORK/s3.json"
  if [ -n "$tls" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
      -keyout "$WORK/s3.key" -out "$WORK/s3.crt" >/dev/null 2>&1
    https=(-s3.port.https="$tls" -s3.cert.file="$WORK/s3.crt" -s3.key.file="$WORK/s3.key")
  fi
  "$weed" -logdir="$WORK/s3log" server -ip=127.0.0.1 -dir="$WORK/s3" -master.telemetry=false \
    -master.port=$((port + 1)) -master.port.grpc=$((port + 2)) -master.volumeSizeLimitMB=1024 \
    -volume.port=$((port + 3)) -volume.port.grpc=$((port + 4)) -volume.max=0 -master.vacuumIntervalSeconds=60 \
    -filer -filer.port=$((port + 5)) -filer.port.grpc=$((port + 6)) -filer.localSocket="$WORK/filer.sock" \
    -s3 -s3.port="$port" -s3.port.grpc=$((port + 7)) -s3.port.iceberg=0 -s3.port.lance=0 "${https[@]}" \
    -s3.config="$WORK/s3.json" -s3.localSocket="$WORK/s3.sock" > "$WORK/weed.out" 2>&1 &
  S3PID=$!
  # SeaweedFS makes its gRPC sockets in /tmp whatever it is told: removed with it
  S3_SOCKETS="/tmp/seaweedfs-master-grpc-$((port + 2)).sock /tmp/seaweedfs-volume-grpc-$((port + 4)).sock"
  S3_SOCKETS+=" /tmp/seaweedfs-filer-grpc-$((port + 6)).sock /tmp/seaweedfs-s3-grpc-$((port + 7)).sock"
  BENCH_EXTRA_CLEANUP="kill \$S3PID 2>/dev/null; wait \$S3PID 2>/dev/null; rm -f \$S3_SOCKETS; ${BENCH_EXTRA_CLEANUP:-true}"
  local i
  for i in $(seq 1 120); do
    if "$AWS" --endpoint-url "http://127.0.0.1:$port" s3 mb "s3://$BUCKET" >/dev/null 2>&1 \
        || "$AWS" --endpoint-url "http://127.0.0.1:$port" s3 ls "s3://$BUCKET" >/dev/null 2>&1; then
      echo ready | "$AWS" --endpoint-url "http://127.0.0.1:$port" s3 cp - "s3://$BUCKET/ready" >/dev/null 2>&1 \
        && "$AWS" --endpoint-url "http://127.0.0.1:$port" s3 rm "s3://$BUCKET/ready" >/dev/null && return 0
    fi
    kill -0 $S3PID 2>/dev/null || { cat "$WORK/weed.out" >&2; return 1; }
    sleep 0.5
  done
  echo "the S3 server did not start" >&2; cat "$WORK/weed.out" >&2; return 1
}
