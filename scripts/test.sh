#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need (real etcd and etcdctl
# from Debian, for the e2e and differential tests; curl; openssl), then builds every module and runs every test.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
command -v curl >/dev/null 2>&1 || need+=(curl) # the HTTP endpoint tests call it as an operator would
command -v openssl >/dev/null 2>&1 || need+=(openssl) # the TLS tests make certificates and CRLs with it
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
command -v mvn >/dev/null 2>&1 || { echo "Maven (mvn) and a JDK 17+ are needed" >&2; exit 1; }
exec mvn -B -ntp install "$@"
