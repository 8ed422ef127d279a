#!/usr/bin/env bash
# The floor under a 3-member cluster on Ratis: three Ratis servers (bin/etcetera's JVM options)
# with a state machine that does nothing, plain gRPC peers, written through the leader by a Ratis
# client (microbench's RatisFloor). Prints req/s, p50/p99 and the servers' CPU per request, to set
# beside etcd's and Etcetera's puts measured the same way (docs/benchmarks.md).
# Usage: scripts/ratis-floor.sh [sync|nosync]   Env: IPS ["127.0.3.1 127.0.3.2 127.0.3.3"], WARM [20000]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:-sync}
IPS=(${IPS:-127.0.3.1 127.0.3.2 127.0.3.3})
WARM=${WARM:-20000}
[ -f "$ROOT/microbench/target/microbench-0.1.0-SNAPSHOT.jar" ] || (cd "$ROOT" && mvn -q -B -DskipTests -pl microbench -am install)
CP="$ROOT/microbench/target/microbench-0.1.0-SNAPSHOT.jar:$ROOT/microbench/target/lib/*"
FJP=(); [ "$(nproc)" -le 2 ] && FJP=(-Djava.util.concurrent.ForkJoinPool.common.parallelism=2)
JOPTS=(-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:TieredStopAtLevel=1 -Xss512k "${FJP[@]}")
WORK=$(mktemp -d -t ratis-floor.XXXXXX)
PEERS=""; for i in 0 1 2; do PEERS+="${PEERS:+,}s$i=${IPS[$i]}:2380"; done
PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for i in 0 1 2; do
  java "${JOPTS[@]}" -cp "$CP" io.etcetera.microbench.RatisFloor server s$i "$PEERS" "$WORK/s$i" \
    "$([ "$MODE" = nosync ] && echo nosync || echo sync)" >"$WORK/s$i.log" 2>&1 &
  PIDS+=($!)
done
client() { java "${JOPTS[@]}" -cp "$CP" io.etcetera.microbench.RatisFloor client "$PEERS" "$@" 2>>"$WORK/client.log" | grep ratis-floor; }
ticks() { for p in "${PIDS[@]}"; do awk '{print $14 + $15}' "/proc/$p/stat"; done | awk '{s += $1} END {print s}'; }
measure() { # total clients
  local t0 t1 out; t0=$(ticks); out=$(client "$1" "$2" 264); t1=$(ticks)
  echo "$out server-cpu-ms/req=$(awk -v t=$((t1 - t0)) -v n="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.3f", t * 1000 / hz / n}')"
}
sleep 3
client "$WARM" 1 264 >/dev/null   # warm-up (and leader election)
echo "# mode=$MODE (log fsync: $([ "$MODE" = nosync ] && echo off || echo on)); $(date -u +%FT%TZ) loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
measure 3000 1
measure 30000 100
