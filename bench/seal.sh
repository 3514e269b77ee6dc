#!/usr/bin/env bash
# bench/seal.sh SEAL_SERVER SEAL_BENCH [CLIENTS] [SECONDS]
#
# Starts a sim seal-server on a unix socket in a temporary directory and runs
# seal-bench against it: requests per second and p50/p99 latency with CLIENTS
# (default 64) concurrent clients, against the baseline of one client in the
# same run, and the ratios. Each request is a full seal-client exchange.
set -euo pipefail
server=$1
bench=$2
clients=${3:-64}
seconds=${4:-5}
work=$(mktemp -d /tmp/bench-seal.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$server" -q --listen "unix:$work/seal.sock" --secret-file "$work/seal-sim.key" \
	--write-platform-key "$work/platform.key" &
pid=$!
for _ in $(seq 100); do [ -S "$work/seal.sock" ] && break; sleep 0.05; done
echo "seal-server (sim) on unix:$work/seal.sock; $(nproc) CPUs; ${seconds}s per run"
"$bench" --connect "unix:$work/seal.sock" --sim-platform-key "$work/platform.key" \
	--sim-rtmr "$work/rtmr" --clients "$clients" --seconds "$seconds"
