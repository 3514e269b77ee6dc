#!/usr/bin/env bash
# bench/verity.sh COCOON_VERITY [MIB]
#
# `cocoon-verity format` against `veritysetup format` (the baseline, run in
# this same invocation) on one file of MIB MiB of random data (default 2048),
# with the same salt and UUID: one thread, then one thread per online CPU.
# The data is read once before timing, so both read from the page cache and
# the figure is the hashing. Prints the median wall time of each over RUNS
# runs (default 3), the throughput and the ratio to veritysetup; fails if a
# root hash or a hash file differs from veritysetup's.
# Goal: with N cores, close to N times veritysetup's speed (it hashes on one).
set -euo pipefail
tool=$1
mib=${2:-2048}
runs=${RUNS:-3}
vs=$(command -v veritysetup || echo /usr/sbin/veritysetup)
work=$(mktemp -d /var/tmp/bench-verity.XXXXXX)
trap 'rm -rf "$work"' EXIT
salt=00010203040506070809101a1b1c1d1e1f
uuid=0b3f0e1c-5c7a-4d2e-9f4b-1a2b3c4d5e6f
cpus=$(nproc)

head -c $((mib << 20)) /dev/urandom >"$work/data"
cat "$work/data" >/dev/null
echo "data: $mib MiB of random bytes, page cache warm; $cpus CPUs; $runs runs each"

# median seconds of "$@" (which writes $work/h), the root hash into $work/root.NAME
time_it() {
	local name=$1 i t
	shift
	for ((i = 0; i < runs; i++)); do
		rm -f "$work/h"
		t=$(date +%s.%N)
		"$@" >"$work/out"
		awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f\n", b - a }'
	done | sort -n | sed -n "$(((runs + 1) / 2))p" >"$work/t.$name"
	sed -n 's/^Root hash:[[:space:]]*//p' "$work/out" >"$work/root.$name"
	cp "$work/h" "$work/h.$name"
}

time_it veritysetup "$vs" format --salt "$salt" --uuid "$uuid" "$work/data" "$work/h"
time_it one "$tool" -q format --salt "$salt" --uuid "$uuid" --threads 1 "$work/data" "$work/h"
time_it all "$tool" -q format --salt "$salt" --uuid "$uuid" --threads "$cpus" "$work/data" "$work/h"

base=$(cat "$work/t.veritysetup")
printf '%-34s %8s %9s %8s\n' "tool" "seconds" "MB/s" "ratio"
for n in veritysetup one all; do
	t=$(cat "$work/t.$n")
	case $n in
	veritysetup) label="veritysetup format (baseline)" ;;
	one) label="cocoon-verity format -j 1" ;;
	all) label="cocoon-verity format -j $cpus" ;;
	esac
	awk -v l="$label" -v t="$t" -v b="$base" -v m="$mib" \
		'BEGIN { printf "%-34s %8.2f %9.0f %7.2fx\n", l, t, (m * 1048576 / 1e6) / t, b / t }'
done
for n in one all; do
	if ! cmp -s "$work/h.$n" "$work/h.veritysetup" || ! cmp -s "$work/root.$n" "$work/root.veritysetup"; then
		echo "bench/verity: cocoon-verity ($n) wrote another tree than veritysetup" >&2
		exit 1
	fi
done
echo "root hash $(cat "$work/root.all"): the same hash file from all three"
