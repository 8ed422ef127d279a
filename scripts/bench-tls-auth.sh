#!/usr/bin/env bash
# What TLS and auth cost, real etcd (A) against Etcetera (B), one member each with the same flags
# and certificates, alternating A B A B; etcd's official `benchmark` tool (bench.sh workloads).
# Modes, each a fresh member:
#   mtls       https with --client-cert-auth (the seed's certificates from gen-pki.sh)
#   mtls-cn    the same with auth enabled; the client certificate's CN ("etcd") is a root user
#   mtls-token the same with auth enabled; the tool authenticates as root:rootpw (simple token)
# Env: ROUNDS [2]  ETCD_BIN [etcd]  MODES ["mtls mtls-cn mtls-token"]  WORKLOADS [put1 put100 range-l]
#      plus bench.sh's knobs (PUT1_TOTAL, PUT_TOTAL, RANGE_TOTAL, ...).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
ROUNDS=${ROUNDS:-2}; ETCD_BIN=${ETCD_BIN:-etcd}; MODES=${MODES:-"mtls mtls-cn mtls-token"}
export WORKLOADS=${WORKLOADS:-"put1 put100 range-l"}
export PUT1_TOTAL=${PUT1_TOTAL:-5000} PUT_TOTAL=${PUT_TOTAL:-30000} RANGE_TOTAL=${RANGE_TOTAL:-30000}
"$SHARED/bench/build-benchmark.sh" >/dev/null
WORK=$(mktemp -d -t etcetera-tls.XXXXXX)
"$SHARED/bench/gen-pki.sh" "$WORK" >/dev/null
P=$WORK/pki
ip=127.0.1.4
EP=https://$ip:2379
ctl() { ETCDCTL_API=3 timeout 30 etcdctl --endpoints=$EP --cacert=$P/ca.pem --cert=$P/etcd.pem --key=$P/etcd-key.pem "$@"; }
PID=""
stop() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi; PID=""; }
trap stop EXIT
start() { # dir bin
  "$2" --name=tls --data-dir="$1" --listen-client-urls=$EP --advertise-client-urls=$EP \
    --listen-peer-urls=http://$ip:2380 --initial-advertise-peer-urls=http://$ip:2380 \
    --initial-cluster=tls=http://$ip:2380 --cert-file=$P/etcd.pem --key-file=$P/etcd-key.pem \
    --trusted-ca-file=$P/ca.pem --client-cert-auth >"$1.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 120); do ctl endpoint health >/dev/null 2>&1 && return; sleep 0.5; done
  echo "server did not start: $1.log" >&2; exit 1
}
enable_auth() {
  ctl user add root:rootpw >/dev/null; ctl user grant-role root root >/dev/null
  ctl user add etcd --no-password >/dev/null; ctl user grant-role etcd root >/dev/null
  ctl auth enable >/dev/null
}
for mode in $MODES; do
  for r in $(seq 1 "$ROUNDS"); do
    for side in A B; do
      bin=$ETCD_BIN; [ $side = B ] && bin=$ROOT/bin/etcetera
      d=$WORK/$mode-$side$r; start "$d" "$bin"
      extra=()
      case $mode in
        mtls-cn) enable_auth ;;
        mtls-token) enable_auth; extra=(--user=root:rootpw) ;;
      esac
      # bench.sh passes the certificates; the token mode adds --user through BENCH_BIN
      if [ ${#extra[@]} -gt 0 ]; then
        wrapper=$WORK/bench-user.sh
        printf '#!/bin/sh\nexec %s "$@" %s\n' "${BENCH_BIN:-$HOME/.cache/etcetera-bench/bin/benchmark}" "${extra[*]}" >"$wrapper"
        chmod +x "$wrapper"
        ctlwrap=$WORK/etcdctl-user.sh
        printf '#!/bin/sh\nexec etcdctl --user=root:rootpw "$@"\n' >"$ctlwrap"
        chmod +x "$ctlwrap"
        BENCH_BIN=$wrapper ETCDCTL=$ctlwrap "$SHARED/bench/bench.sh" "$EP" "$P" | tee "$d.txt" | sed "s/^/[$mode $side$r] /"
      else
        "$SHARED/bench/bench.sh" "$EP" "$P" | tee "$d.txt" | sed "s/^/[$mode $side$r] /"
      fi
      stop; rm -rf "$d"  # the data dir; the results beside it stay
    done
  done
done
python3 - "$WORK" "$ROUNDS" "$MODES" <<'PY'
import re, sys, statistics as st
work, rounds, modes = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
print(f"{'mode':11} {'workload':32} {'A req/s':>9} {'B req/s':>9} {'ratio':>6} {'A p99':>8} {'B p99':>8}")
for mode in modes:
    def load(side):
        d = {}
        for r in range(1, rounds + 1):
            for line in open(f"{work}/{mode}-{side}{r}.txt"):
                m = re.match(r"(\S+)\s+total=\S+\s+\S+/s=(\S+)\s+p50=(\S+)ms\s+p99=(\S+)ms", line)
                if m and m.group(2) != "NA":
                    d.setdefault(m.group(1), []).append((float(m.group(2)), float(m.group(4))))
        return d
    a, b = load("A"), load("B")
    for w in a:
        if w not in b:
            print(f"{mode:11} {w:32} {'':>9} {'FAILED':>9}"); continue
        at, bt = st.median(x[0] for x in a[w]), st.median(x[0] for x in b[w])
        ap, bp = st.median(x[1] for x in a[w]), st.median(x[1] for x in b[w])
        print(f"{mode:11} {w:32} {at:9.0f} {bt:9.0f} {bt/at:6.2f} {ap:8.2f} {bp:8.2f}")
PY
