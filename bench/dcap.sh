#!/usr/bin/env bash
# bench/dcap.sh DCAP_BENCH [SECONDS] [PEER_DIR]
#
# Verifications per second of the genuine Intel TDX quote v4 of
# tests/fixtures/dcap at 2025-06-20 with its collateral parsed once and
# cached (lib/dcap.c via DCAP_BENCH, one core), then the same quote and
# collateral through the peer verifier npm @phala/dcap-qvl under node in the
# same invocation, and the ratio. Also our rate with the collateral parsed and
# verified from scratch each time. The peer is installed into PEER_DIR
# (default build-release/dcap-peer) with npm when it is not there.
# Goal (issue 14): >= 10x the peer's rate, p99 <= 2 ms.
set -euo pipefail
bench=$1
seconds=${2:-5}
peer=${3:-build-release/dcap-peer}
here=$(cd "$(dirname "$0")/.." && pwd)
q=$here/tests/fixtures/dcap/tdx_quote
c=$here/tests/fixtures/dcap/tdx_quote_collateral.json
now=2025-06-20T00:00:00Z

echo "dcap: $(nproc) CPUs, ${seconds}s per run; quote $(stat -c %s "$q") bytes"
ours=$("$bench" "$q" "$c" "$now" "$seconds")
fresh=$("$bench" "$q" "$c" "$now" "$seconds" --fresh)
echo "lib/dcap.c, cached collateral: $ours"
echo "lib/dcap.c, fresh collateral:  $fresh"

if [ ! -d "$peer/node_modules/@phala/dcap-qvl" ]; then
	npm install --prefix "$peer" --no-audit --no-fund @phala/dcap-qvl@0.3.9 >/dev/null
fi
# the peer: warm up, then as many verifications as fit in SECONDS
probe=$(NODE_PATH=$peer/node_modules node "$here/tests/integration/dcap_peer.js" "$q" "$c" 1750377600 20)
us=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["us_per_verify"])' "$probe")
n=$(python3 -c "print(max(20, int($seconds * 1e6 / $us)))")
theirs=$(NODE_PATH=$peer/node_modules node "$here/tests/integration/dcap_peer.js" "$q" "$c" 1750377600 "$n")
echo "@phala/dcap-qvl $(node --version), $n verifications: $theirs"
python3 - "$ours" "$theirs" <<'PY'
import json, sys
o, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert t["status"] == "UpToDate", t
peer_rate = 1e6 / t["us_per_verify"]
ratio = o["per_s"] / peer_rate
print("ratio: %.1fx the peer (%.0f/s vs %.1f/s); p99 %.2f ms (goal >= 10x, <= 2 ms): %s" % (
    ratio, o["per_s"], peer_rate, o["p99_us"] / 1000,
    "met" if ratio >= 10 and o["p99_us"] <= 2000 else "NOT met"))
PY
