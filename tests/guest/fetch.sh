#!/usr/bin/env bash
# Fetches what the TCG boot tests need, once, into a cache directory:
#   kernel   a Debian bookworm kernel package, unpacked (vmlinuz + modules)
#   virtiofsd  a trixie root with virtiofsd (bookworm has none), made with mmdebstrap
# Usage: tests/guest/fetch.sh kernel|virtiofsd     prints the directory
# Cache: $COCOON_TEST_CACHE, default ~/.cache/cocoon-test. Nothing is installed.
set -euo pipefail
cache=${COCOON_TEST_CACHE:-$HOME/.cache/cocoon-test}
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
case "${1:-}" in
kernel)
	if [ ! -f "$cache/kernel/done" ]; then
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
		[ -n "$pkg" ] || { echo "fetch.sh: no linux-image package known to apt (apt-get update?)" >&2; exit 1; }
		rm -rf "$cache/kernel" && mkdir -p "$cache/kernel"
		(cd "$cache/kernel" && apt-get download -q "$pkg" >&2 && dpkg -x ./*.deb root && rm -f ./*.deb)
		ver=$(ls "$cache/kernel/root/lib/modules")
		# the package leaves modules.dep to the installer: make it here
		depmod -b "$cache/kernel/root" "$ver"
		ln -s "root/boot/vmlinuz-$ver" "$cache/kernel/vmlinuz"
		echo "$ver" > "$cache/kernel/version"
		touch "$cache/kernel/done"
	fi
	echo "$cache/kernel"
	;;
virtiofsd)
	if [ ! -f "$cache/virtiofsd-root/done" ]; then
		rm -rf "$cache/virtiofsd-root"
		mmdebstrap --quiet --variant=essential --include=virtiofsd trixie "$cache/virtiofsd-root" \
			http://deb.debian.org/debian >&2
		touch "$cache/virtiofsd-root/done"
	fi
	echo "$cache/virtiofsd-root"
	;;
*)
	echo "usage: fetch.sh kernel|virtiofsd" >&2
	exit 2
	;;
esac
