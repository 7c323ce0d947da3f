#!/usr/bin/env bash
# Operator footprint benchmark (prints figures, asserts nothing about time or memory): the packaged operator, run
# as the image runs it, on the sandbox's embedded stack (the real control plane, PostgreSQL and S3), with N resources
# of the five kinds across 10 namespaces: time until every one is observed, reconciles/s, heap and RSS at rest.
# Usage: bench/operator/run.sh [total...]     (default 1000 5000)     Needs: postgresql-15, postgresql-15-hypopg, and
#   root with the image tools (the sandbox builds the image and runs its Jobs on the real node)
#   X
#   OBSERVE_PATIENCE=600: seconds to wait for every resource to be observed before measuring anyway
#   PER_RESOURCE_RECONCILES=true: the Java Operator SDK's per-resource reconcile series (off by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZES=("$@"); [ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 5000)
WORK=$(mktemp -d /tmp/dba-operator-bench-XXXX)

./mvnw -B -q -o -DskipTests package >/dev/null 2>&1 || ./mvnw -B -q -DskipTests package >/dev/null
./mvnw -B -q -o dependency:build-classpath -Dmdep.outputFile="$WORK/cp.txt" -Dmdep.includeScope=test >/dev/null 2>&1 \
  || ./mvnw -B -q dependency:build-classpath -Dmdep.outputFile="$WORK/cp.txt" -Dmdep.includeScope=test >/dev/null
CP="target/test-classes:target/classes:$(cat "$WORK/cp.txt")"
mkdir -p "$WORK/classes" && javac -d "$WORK/classes" -cp "$CP" bench/operator/OperatorBench.java
DEPLOY_JVM="-XX:MaxRAM=768m -XX:MaxRAMPercentage=60 -XX:+UseSerialGC -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=20"
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
java -Xmx2g -Doperator.jvm="${OPERATOR_JVM:-$DEPLOY_JVM}" \
  -Dper-resource-reconciles="${PER_RESOURCE_RECONCILES:-false}" -Dobserve.patience="${OBSERVE_PATIENCE:-600}" \
  -cp "$WORK/classes:$CP" OperatorBench "$WORK/sandbox" "${SIZES[@]}" 2> "$WORK/bench.err" | tee "$WORK/results.md"
echo "results: $WORK/results.md (operator log: $WORK/sandbox/operator.log)"
