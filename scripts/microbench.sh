#!/usr/bin/env bash
# JMH microbenchmarks of the hot paths: revision keys, range scans, group commit.
# Usage: scripts/microbench.sh [JMH args, e.g. RangeScanBench -f 1 -wi 2 -i 3]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mvn -q -B -DskipTests -pl microbench -am install
exec java -cp "microbench/target/microbench-0.1.0-SNAPSHOT.jar:microbench/target/lib/*" org.openjdk.jmh.Main "${@:--f 1 -wi 2 -i 3}"
