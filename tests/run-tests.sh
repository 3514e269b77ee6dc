#!/usr/bin/env bash
# Runs the Meson test suites of each build directory given and ends with one
# line "N passed, N failed, N skipped" over all of them. Exit status 1 when any
# test failed.
set -uo pipefail
# --suite NAME first: only that suite.
pass=0 fail=0 skip=0
suite=()
if [ "${1:-}" = --suite ]; then
	suite=(--suite "$2")
	shift 2
fi
for b in "$@"; do
	echo "== meson test -C $b ${suite[*]}"
	meson test -C "$b" --print-errorlogs --num-processes 2 "${suite[@]}"
	rc=$?
	log="$b/meson-logs/testlog.json"
	if [ ! -s "$log" ]; then
		echo "run-tests: no test log in $b: counting the suite as failed" >&2
		fail=$((fail + 1))
		continue
	fi
	read -r p f s < <(python3 - "$log" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif r == "SKIP":
        s += 1
    else:
        f += 1
print(p, f, s)
PY
)
	# meson's own verdict counts too: a log that lost a failure must not hide it
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "run-tests: meson test -C $b exited $rc but its log shows no failure: counting one" >&2
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done
echo "${pass} passed, ${fail} failed, ${skip} skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
