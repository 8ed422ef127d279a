#!/usr/bin/env bash
# Watch fan-out and lease keep-alive, real etcd (A) against Etcetera (B), one plain member each,
# same flags, alternating A B A B; prints medians and B/A ratios. Uses etcd's official
# `benchmark` tool (../shared/bench/build-benchmark.sh builds it).
#   watch:      10 streams x 1000 watchers on one key, 100 puts at 100/s: watch creation rate and
#               events delivered per second (1,000,000 events)
#   keepalive:  lease keep-alive requests, 10 connections x 100 clients
# Env: ROUNDS [2]  ETCD_BIN [etcd]  WATCHERS_PER_STREAM [1000]  STREAMS [10]  PUTS [100]  KEEPALIVES [50000]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
ROUNDS=${ROUNDS:-2}; ETCD_BIN=${ETCD_BIN:-etcd}
STREAMS=${STREAMS:-10}; WPS=${WATCHERS_PER_STREAM:-1000}; PUTS=${PUTS:-100}; KA=${KEEPALIVES:-50000}
"$SHARED/bench/build-benchmark.sh" >/dev/null
B=${BENCH_BIN:-$HOME/.cache/etcetera-bench/bin/benchmark}
WORK=$(mktemp -d -t etcetera-wl.XXXXXX)
ip=127.0.1.5
PID=""
stop() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi; PID=""; }
trap stop EXIT
start() { # dir bin
  "$2" --name=wl --data-dir="$1" --listen-client-urls=http://$ip:2379 --advertise-client-urls=http://$ip:2379 \
    --listen-peer-urls=http://$ip:2380 --initial-advertise-peer-urls=http://$ip:2380 \
    --initial-cluster=wl=http://$ip:2380 >"$1.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 120); do ETCDCTL_API=3 timeout 5 etcdctl --endpoints=http://$ip:2379 endpoint health >/dev/null 2>&1 && return; sleep 0.5; done
  echo "server did not start: $1.log" >&2; exit 1
}
summary() { # file section -> "rate p99ms"
  tr '\r' '\n' <"$1" | awk -v sec="$2" '
    index($0, sec) {on=1} on && /Requests\/sec:/ {r=$2} on && $1=="99%" && $2=="in" {p=$3*1000; print r, p; exit}'
}
for r in $(seq 1 "$ROUNDS"); do
  for side in A B; do
    bin=$ETCD_BIN; [ $side = B ] && bin=$ROOT/bin/etcetera
    d=$WORK/$side$r; start "$d" "$bin"
    timeout 300 "$B" --endpoints=http://$ip:2379 --conns=10 --clients=10 watch --streams="$STREAMS" \
      --watch-per-stream="$WPS" --watched-key-total=1 --put-total="$PUTS" --put-rate=100 >"$d.watch" 2>/dev/null || echo "[$side$r] watch FAILED"
    timeout 300 "$B" --endpoints=http://$ip:2379 --conns=10 --clients=100 lease-keepalive --total="$KA" >"$d.ka" 2>/dev/null || echo "[$side$r] keepalive FAILED"
    echo "[$side$r] watch-create $(summary "$d.watch" 'Watch creation')  watch-events $(summary "$d.watch" 'Watch events received')  keepalive $(summary "$d.ka" 'Summary')" | tee "$d.txt"
    stop; rm -rf "$d"  # the data dir; the results beside it stay
  done
done
python3 - "$WORK" "$ROUNDS" <<'PY'
import sys, statistics as st
work, rounds = sys.argv[1], int(sys.argv[2])
names = ["watch-create (watchers/s)", "watch-events (events/s)", "lease-keepalive (req/s)"]
def load(side):
    rows = []
    for r in range(1, rounds + 1):
        f = open(f"{work}/{side}{r}.txt").read().split()
        vals = [x for x in f if x.replace('.', '', 1).isdigit()]
        rows.append([(float(vals[i]), float(vals[i + 1])) for i in range(0, 6, 2)])
    return rows
a, b = load("A"), load("B")
print(f"{'workload':28} {'A rate':>12} {'B rate':>12} {'ratio':>6} {'A p99ms':>8} {'B p99ms':>8}")
for i, n in enumerate(names):
    ar = st.median(x[i][0] for x in a); br = st.median(x[i][0] for x in b)
    ap = st.median(x[i][1] for x in a); bp = st.median(x[i][1] for x in b)
    print(f"{n:28} {ar:12.0f} {br:12.0f} {br/ar:6.2f} {ap:8.2f} {bp:8.2f}")
PY
