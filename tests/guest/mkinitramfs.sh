#!/usr/bin/env bash
# Builds the test guest's initramfs: the static test init as /init and the
# kernel modules it needs (with their dependencies, in load order, taken from
# the unpacked Debian kernel package so that the versions match).
# Usage: mkinitramfs.sh KERNEL_DIR TESTINIT OUT.cpio [OPTIONS]
#   KERNEL_DIR        what tests/guest/fetch.sh kernel printed
#   --module NAME     one more kernel module (with its dependencies)
#   --bin PROGRAM     PROGRAM as /bin/NAME, with the shared libraries ldd
#                     lists at their paths (the programs are not static:
#                     Debian ships no static libcryptsetup, and sanitizer
#                     builds cannot be static)
#   --file SRC DST    one more file
set -euo pipefail
kdir=$1 init=$2 out=$3
shift 3
ver=$(cat "$kdir/version")
mods=$kdir/root/lib/modules/$ver
want=(virtio_pci virtio_blk virtio_console virtiofs 9p 9pnet_virtio algif_hash evdev button)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/modules" "$work/dev" "$work/proc" "$work/sys" "$work/mnt" "$work/bin"
cp "$init" "$work/init"
while [ $# -gt 0 ]; do
	case "$1" in
	--module) want+=("$2"); shift 2 ;;
	--bin)
		cp "$2" "$work/bin/$(basename "$2")"
		for lib in $(ldd "$2" | grep -oE '/[^ ]+'); do
			mkdir -p "$work$(dirname "$lib")"
			cp -L "$lib" "$work$lib"
		done
		shift 2 ;;
	--file) mkdir -p "$work$(dirname "$3")"; cp "$2" "$work$3"; shift 3 ;;
	*) echo "mkinitramfs: unknown option $1" >&2; exit 2 ;;
	esac
done
declare -A seen=()
order=()
# depth-first over modules.dep: dependencies before the module
add() {
	local name=$1 line path dep
	line=$(grep -E "(^|/)${name//_/[_-]}\.ko(\.xz|\.zst)?:" "$mods/modules.dep" | head -1) || true
	if [ -z "$line" ]; then
		# built in, or not a module in this kernel
		grep -qE "/${name//_/[_-]}\.ko" "$mods/modules.builtin" 2>/dev/null ||
			echo "mkinitramfs: module $name not found for $ver" >&2
		return 0
	fi
	path=${line%%:*}
	[ -n "${seen[$path]:-}" ] && return 0
	seen[$path]=1
	for dep in ${line#*:}; do
		dep=$(basename "$dep"); dep=${dep%%.ko*}
		add "$dep"
	done
	order+=("$path")
}
for m in "${want[@]}"; do add "$m"; done
: > "$work/modules.order"
for path in "${order[@]}"; do
	base=$(basename "$path")
	case "$base" in
	*.xz) xz -dc "$mods/$path" > "$work/modules/${base%.xz}"; base=${base%.xz} ;;
	*.zst) zstd -qdc "$mods/$path" > "$work/modules/${base%.zst}"; base=${base%.zst} ;;
	*) cp "$mods/$path" "$work/modules/$base" ;;
	esac
	echo "/modules/$base" >> "$work/modules.order"
done
(cd "$work" && find . | LC_ALL=C sort | cpio --quiet -o -H newc) > "$out.tmp"
mv "$out.tmp" "$out"
