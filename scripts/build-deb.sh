#!/usr/bin/env bash
# make deb: the Debian packages cocoon-host and cocoon-guest (debian/), built
# with debhelper from the tracked files of this checkout (as a clone has
# them, uncommitted edits of tracked files included), then checked by lintian
# at its default level (errors and warnings fail; debian/*.lintian-overrides
# say why each override is there).
#
# Usage: scripts/build-deb.sh [OUTDIR]   (default build-deb)
# Writes OUTDIR/cocoon-host_VERSION_amd64.deb, OUTDIR/cocoon-guest_…deb and
# the .changes and .buildinfo; OUTDIR/src is the tree it was built from,
# OUTDIR/build.log dpkg-buildpackage's output.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)
for t in dpkg-buildpackage dh lintian git; do
	command -v "$t" >/dev/null || { echo "build-deb: $t missing: scripts/install-deps.sh deb" >&2; exit 1; }
done
rev=$(git stash create 2>/dev/null || true)
rm -rf "$out/src" "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
mkdir -p "$out/src"
git archive "${rev:-HEAD}" | tar -x -C "$out/src"
# the whole build log in OUTDIR/build.log, its end printed when it fails
if ! (cd "$out/src" && dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed (log: $out/build.log)" >&2
	exit 1
fi
changes=$(ls "$out"/cocoon-docker-tdx_*.changes)
echo "build-deb: lintian $changes"
lintian --fail-on error,warning --info "$changes"
ls -l "$out"/*.deb
