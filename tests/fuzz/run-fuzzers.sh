#!/usr/bin/env bash
# run-fuzzers.sh BUILD_DIR SECONDS - make fuzz: each libFuzzer target for SECONDS.
set -uo pipefail
b=$1 secs=$2
here=$(cd "$(dirname "$0")" && pwd)
failed=0
ran=0
for exe in "$b"/tests/fuzz/fuzz_*; do
	[ -f "$exe" ] && [ -x "$exe" ] || continue
	t=${exe##*/fuzz_}
	echo "== fuzzing $t for ${secs}s"
	ran=$((ran + 1))
	if "$here/run-one.sh" "$exe" "$b/tests/fuzz/corpus-$t" "$here/corpus/$t" "$secs" 2>"$b/fuzz-$t.log"; then
		grep -E "stat::number_of_executed_units|stat::new_units_added" "$b/fuzz-$t.log" | sed 's/^/   /'
		echo "   no finding"
	else
		failed=$((failed + 1))
		tail -30 "$b/fuzz-$t.log"
		echo "   FINDING: see $b/fuzz-$t.log and $b/tests/fuzz/corpus-$t.artifacts/"
	fi
done
echo "$ran targets fuzzed for ${secs}s each, $failed with a finding"
[ "$failed" -eq 0 ] && [ "$ran" -gt 0 ]
