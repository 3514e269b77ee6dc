#!/usr/bin/env bash
# bench/launch: the launcher's own overhead (start to QEMU exec: config, spec
# hash and prepare, persistent image, helpers, seal check) and the time from
# QEMU's start to the guest's ready answer, booting the test guest under TCG
# (tests/integration/launch_boot.py boot-9p) RUNS times.
# Usage: bench/launch.sh BUILD_DIR [RUNS]      (default build-release, 3 runs)
set -euo pipefail
b=${1:-build-release} runs=${2:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
ninja -C "$b" tests/integration/testinit >/dev/null 2>&1 || true
for i in $(seq "$runs"); do
	python3 "$here/tests/integration/launch_boot.py" "$b/host/cocoon-launch/cocoon-launch" \
		"$b/host/cocoon-spec/cocoon-spec" "$b/tests/integration/testinit" boot-9p |
		grep -E "^launch_boot: figures" || { echo "bench/launch: run $i failed" >&2; exit 1; }
done | awk '{ o = $5; r = $11; so += o; sr += r; n++; printf "run %d: launcher overhead %d ms, QEMU start to ready %d ms (TCG)\n", n, o, r }
	END { if (n) printf "mean of %d: launcher overhead %.0f ms, QEMU start to ready %.0f ms\n", n, so / n, sr / n }'
