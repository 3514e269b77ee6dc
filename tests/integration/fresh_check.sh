#!/usr/bin/env bash
# The README's two commands from nothing: make demo's and make test's set-up
# steps (make demo-setup, make test-setup: every package install and every
# build, nothing run) each in a fresh, minimal Debian 12 root.
#
# Usage: tests/integration/fresh_check.sh SRC [demo|test]...   (default: demo test)
#
#   1. mmdebstrap --variant=apt --include=make,git bookworm: apt, make and git,
#      as README.md's "a minimal system" (~1 min)
#   2. for each command, a copy of that root with the checkout's tracked files
#      in /src (git archive of the working tree as `git stash create` sees it:
#      modified tracked files included, untracked files left out, as a clone)
#   3. chroot ROOT make -C /src demo-setup (or test-setup), /proc mounted;
#      then the programs it built are run once (--help) inside the root, and for
#      test the Meson test list of build-asan/ must not be empty
# A package missing from scripts/install-deps.sh fails step 3 (meson setup or
# the compiler stops, or install-deps itself names it).
#
# Downloaded .debs are kept between runs in COCOON_FRESH_APT_CACHE (default
# ~/.cache/cocoon-test/fresh-apt), bind-mounted at the root's
# /var/cache/apt/archives: that saves the download only; every package is
# still installed by apt from nothing. Services are not started inside the
# roots (policy-rc.d). Exit 0 when every command built; 77 (skipped) when not
# root. Logs: WORK/<command>.log, its tail printed on failure.
set -euo pipefail
src=$(cd "${1:?usage: fresh_check.sh SRC [demo|test]...}" && pwd)
shift
cmds=("$@")
[ ${#cmds[@]} -gt 0 ] || cmds=(demo test)
for c in "${cmds[@]}"; do
	case $c in demo | test) ;; *) echo "fresh_check: unknown command '$c' (demo or test)" >&2; exit 2 ;; esac
done
if [ "$(id -u)" != 0 ]; then
	echo "fresh_check: skipped: needs root (mmdebstrap, chroot and mount)"
	exit 77
fi
for t in mmdebstrap git chroot mount; do
	command -v "$t" >/dev/null || { echo "fresh_check: $t missing: scripts/install-deps.sh vm" >&2; exit 1; }
done
git -C "$src" rev-parse --git-dir >/dev/null 2>&1 ||
	{ echo "fresh_check: $src is not a git checkout: the check copies its tracked files" >&2; exit 1; }

cache=${COCOON_FRESH_APT_CACHE:-$HOME/.cache/cocoon-test/fresh-apt}
mkdir -p "$cache/partial"
work=$(mktemp -d /var/tmp/cocoon-fresh.XXXXXX)
mounts=()
cleanup() {
	local i
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null || true; done
	[ "${COCOON_FRESH_KEEP:-0}" = 1 ] && { echo "fresh_check: kept $work"; return; }
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT
now() { date +%s; }
. "$(dirname "$0")/freshroot.sh"

# the tree a clone of this checkout would have, with uncommitted edits of tracked files
rev=$(git -C "$src" stash create 2>/dev/null || true)
rev=${rev:-HEAD}

t0=$(now)
base=$work/base
fresh_root "$base" "$cache" "$work/mmdebstrap.log" make,git || exit 1
echo "fresh_check: bookworm root (apt, make, git) in $(($(now) - t0)) s"

fail=0
for c in "${cmds[@]}"; do
	root=$work/$c
	t1=$(now)
	cp -a "$base" "$root"
	mkdir -p "$root/src"
	git -C "$src" archive "$rev" | tar -x -C "$root/src"
	# a fresh machine has a resolver; services stay stopped in a chroot
	cp -L /etc/resolv.conf "$root/etc/resolv.conf"
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	mount -t proc proc "$root/proc" && mounts+=("$root/proc")
	mount --bind "$cache" "$root/var/cache/apt/archives" && mounts+=("$root/var/cache/apt/archives")
	log=$work/$c.log
	# the README's steps as root on a fresh machine: make, from the checkout
	if chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 nice -n 10 make -C /src "$c-setup" >"$log" 2>&1; then
		verdict=built
	else
		verdict="failed (make $c-setup exited $?)"
	fi
	if [ "$verdict" = built ]; then
		# what was built runs in the root it was built in
		case $c in
		demo) progs=(build/host/cocoon-launch/cocoon-launch build/host/seal-server/seal-server
			build/host/cocoon-spec/cocoon-spec build/host/health-client/health-client) ;;
		test) progs=(build-asan/host/cocoon-launch/cocoon-launch build-release/host/seal-server/seal-server) ;;
		esac
		for p in "${progs[@]}"; do
			chroot "$root" "/src/$p" --help >/dev/null 2>>"$log" ||
				{ verdict="failed ($p --help did not run in the root)"; break; }
		done
	fi
	if [ "$verdict" = built ] && [ "$c" = test ]; then
		n=$(chroot "$root" sh -c 'cd /src && meson test -C build-asan --list 2>/dev/null | wc -l')
		[ "$n" -gt 0 ] || verdict="failed (meson test -C build-asan --list is empty)"
		verdict="$verdict; build-asan lists $n tests"
	fi
	umount "$root/var/cache/apt/archives" "$root/proc"
	mounts=("${mounts[@]:0:${#mounts[@]}-2}")
	echo "fresh_check: make $c-setup in a fresh bookworm root: $verdict in $(($(now) - t1)) s" \
		"($(chroot "$root" dpkg-query -W -f='.\n' | wc -l) packages)"
	case $verdict in
	built*) ;;
	*) tail -n 40 "$log" >&2; fail=1 ;;
	esac
	rm -rf --one-file-system "$root"
done
# drop .debs no mirror offers any longer, so the cache does not grow forever
apt-get -o Dir::Cache::archives="$cache" autoclean -qq >/dev/null 2>&1 || true
echo "fresh_check: total $(($(now) - t0)) s"
exit $fail
