#!/usr/bin/env bash
# bench/spec-hash.sh COCOON_SPEC [FILES]
#
# `cocoon-spec hash` against the procedure that defines the spec hash, run by
# git itself (init --object-format=sha256, add -A, rm --cached of the removals,
# write-tree), on the same generated spec of FILES files (default 5000), both
# in this run. Prints the median wall time of each and the ratio.
# Goal: cocoon-spec at least 20x faster.
set -euo pipefail
tool=$1
files=${2:-5000}
runs=${RUNS:-5}
work=$(mktemp -d /tmp/bench-spec-hash.XXXXXX)
trap 'rm -rf "$work"' EXIT
spec=$work/spec

python3 - "$spec" "$files" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(42)
dirs = [""]
for i in range(n // 50):
    d = os.path.join(rng.choice(dirs[-8:]) if dirs else "", f"d{i:03d}")
    dirs.append(d)
    os.makedirs(os.path.join(root, d), exist_ok=True)
for i in range(n):
    d = rng.choice(dirs)
    p = os.path.join(root, d, f"f{i:05d}.{rng.choice(['py', 'json', 'txt', 'sh'])}")
    with open(p, "wb") as f:
        f.write(rng.randbytes(rng.randint(64, 8192)))
    if i % 7 == 0:
        os.chmod(p, 0o755)
with open(os.path.join(root, ".gitignore"), "w") as f:
    f.write("*.log\n/cache/\n")
os.makedirs(os.path.join(root, "runtime"), exist_ok=True)
with open(os.path.join(root, "runtime", "model.bin"), "wb") as f:
    f.write(b"\0" * 4096)
PY
echo "spec: $files files, $(du -sh "$spec" | cut -f1), $runs runs each"

git_hash() {
	local g=$work/git.$1
	rm -rf "$g"
	(
		export GIT_DIR=$g GIT_WORK_TREE=$spec GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
		cd "$work"
		git init -q --object-format=sha256
		git add -A
		git rm -r -q --cached --ignore-unmatch -- runtime spec.tree spec.meta
		git ls-files -z | grep -z -E '(^|/)\.gitignore$' |
			git --literal-pathspecs rm -q --cached --pathspec-from-file=- --pathspec-file-nul
		git write-tree
	)
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_ns() { local s e; s=$(date +%s%N); "$@" >"$work/out" ; e=$(date +%s%N); echo $((e - s)); }

# warm the page cache once for both
"$tool" hash "$spec" >/dev/null
want=$(git_hash warm)
got=$("$tool" hash "$spec")
if [ "$got" != "$want" ]; then
	echo "MISMATCH: git $want, cocoon-spec $got" >&2
	exit 1
fi
echo "both give $got"

t_tool=$(for i in $(seq "$runs"); do time_ns "$tool" hash "$spec"; done | median)
t_git=$(for i in $(seq "$runs"); do time_ns git_hash "$i"; done | median)
awk -v a="$t_tool" -v b="$t_git" 'BEGIN {
	printf "baseline git procedure: %8.1f ms (median)\n", b / 1e6
	printf "cocoon-spec hash:       %8.1f ms (median)\n", a / 1e6
	r = b / a
	printf "speed-up: %.1fx (goal: 20x) %s\n", r, (r >= 20 ? "GOAL MET" : "GOAL MISSED")
}'
