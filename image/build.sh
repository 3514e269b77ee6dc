#!/usr/bin/env bash
# Builds the guest image with mkosi and writes the files cocoon-launch reads
# from its image_dir:
#   vmlinuz     the kernel (bookworm's cloud kernel)
#   initrd.img  mkosi's default systemd initrd (+ the kernel modules initrd)
#   rootfs.img  the GPT disk: the ext4 root and its dm-verity hash partition
#   cmdline     cmdline.in + root=/dev/mapper/root roothash=HASH
# The root hash is derived from the partitions (systemd-repart names them by
# it: data partition UUID ‖ hash partition UUID) and checked with
# `veritysetup verify` against the partitions inside rootfs.img before the
# cmdline is written.
#
# Usage: image/build.sh [--force] [OUTDIR]     (default OUTDIR: image/out)
# OUTDIR/inputs.sha256 records a hash of image/; when it matches, nothing is
# rebuilt (--force rebuilds). mkosi's package cache: image/mkosi.cache.
# Environment: SOURCE_DATE_EPOCH is passed to mkosi when set;
# COCOON_IMAGE_REUSE_MKOSI=1 skips mkosi and reuses OUTDIR/mkosi.output
# (for work on this script only).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
force=0
if [ "${1:-}" = --force ]; then force=1; shift; fi
out=${1:-$here/out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
export PATH=$PATH:/usr/sbin:/sbin

inputs_hash() {
	(cd "$here" && find . \( -path ./mkosi.output -o -path ./mkosi.cache -o -path ./out \) -prune -o \
		\( -type f -o -type l \) -print | LC_ALL=C sort | while read -r f; do
		if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; else echo "$f $(sha256sum <"$f")"; fi
	done) | sha256sum | cut -d' ' -f1
}

want=$(inputs_hash)
if [ $force = 0 ] && [ "$(cat "$out/inputs.sha256" 2>/dev/null)" = "$want" ] &&
	[ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ] && [ -s "$out/rootfs.img" ] && [ -s "$out/cmdline" ]; then
	echo "build.sh: $out is up to date with image/ ($want)"
	exit 0
fi
rm -f "$out/inputs.sha256" "$out/cmdline"

command -v mkosi >/dev/null || { echo "build.sh: mkosi missing: scripts/install-deps.sh image" >&2; exit 1; }
mk=$out/mkosi.output
mkdir -p "$mk"
if [ "${COCOON_IMAGE_REUSE_MKOSI:-0}" = 1 ] && [ -s "$mk/cocoon-guest.raw" ]; then
	echo "build.sh: COCOON_IMAGE_REUSE_MKOSI=1: reusing $mk (no mkosi run)"
else
	t0=$(date +%s)
	mkosi -C "$here" --force --output-dir "$mk" build
	echo "build.sh: mkosi build took $(($(date +%s) - t0)) s"
fi

disk=$mk/cocoon-guest.raw
for f in "$disk" "$mk/cocoon-guest.vmlinuz" "$mk/cocoon-guest.initrd"; do
	[ -s "$f" ] || { echo "build.sh: mkosi did not write $f" >&2; exit 1; }
done

# The GPT of the disk: the root (x86-64) and root verity (x86-64) partitions.
read -r data_uuid data_start data_size hash_uuid hash_start hash_size < <(
	sfdisk --json "$disk" | python3 -c '
import json, sys
t = json.load(sys.stdin)["partitiontable"]
ss = t.get("sectorsize", 512)
parts = {p["type"].upper(): p for p in t["partitions"]}
d = parts["4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"]   # root x86-64
h = parts["2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5"]   # root verity x86-64
print(d["uuid"], d["start"] * ss, d["size"] * ss, h["uuid"], h["start"] * ss, h["size"] * ss)
')
roothash=$(echo "$data_uuid$hash_uuid" | tr -d - | tr A-F a-f)
[[ $roothash =~ ^[0-9a-f]{64}$ ]] || { echo "build.sh: bad root hash '$roothash'" >&2; exit 1; }

# Check the hash against the partitions as they lie in the disk image.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dd if="$disk" of="$tmp/data" bs=1M iflag=skip_bytes,count_bytes skip="$data_start" count="$data_size" status=none
dd if="$disk" of="$tmp/hash" bs=1M iflag=skip_bytes,count_bytes skip="$hash_start" count="$hash_size" status=none
veritysetup verify "$tmp/data" "$tmp/hash" "$roothash"
echo "build.sh: veritysetup verify: root hash $roothash"
rm -rf "$tmp"

ln -f "$mk/cocoon-guest.vmlinuz" "$out/vmlinuz"
ln -f "$mk/cocoon-guest.initrd" "$out/initrd.img"
ln -f "$disk" "$out/rootfs.img"
base=$(grep -v '^#' "$here/cmdline.in" | tr '\n' ' ' | tr -s ' ' | sed 's/^ //; s/ $//')
echo "$base root=/dev/mapper/root roothash=$roothash" >"$out/cmdline"
echo "$want" >"$out/inputs.sha256"
echo "build.sh: wrote $out/{vmlinuz,initrd.img,rootfs.img,cmdline}"
cat "$out/cmdline"
