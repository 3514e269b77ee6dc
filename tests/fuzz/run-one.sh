#!/usr/bin/env bash
# run-one.sh FUZZER SCRATCH_CORPUS SEED_CORPUS SECONDS [LIBFUZZER-FLAG...]
# Fuzzes one target for SECONDS from its seed corpus; new inputs land in
# SCRATCH_CORPUS, crash reproducers next to it. Exit status is libFuzzer's.
# A target that needs more libFuzzer flags (inputs past the default -max_len,
# say) has them in tests/fuzz/fuzz_<target>.options, one line.
set -euo pipefail
exe=$1 scratch=$2 seeds=$3 secs=$4
here=$(cd "$(dirname "$0")" && pwd)
extra=()
if [ -f "$here/${exe##*/}.options" ]; then
	read -ra extra <"$here/${exe##*/}.options"
fi
mkdir -p "$scratch" "$scratch.artifacts"
exec "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	"${extra[@]}" -artifact_prefix="$scratch.artifacts/" "$scratch" "$seeds"
