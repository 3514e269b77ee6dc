#!/usr/bin/env bash
# Builds the guest image with mkosi and writes the files cocoon-launch reads
# from its image_dir:
#   vmlinuz     the kernel (bookworm's cloud kernel)
#   initrd.img  mkosi's default systemd initrd (+ the kernel modules initrd)
#   rootfs.img  the GPT disk: the EROFS root and its dm-verity hash partition
#   cmdline     cmdline.in + root=/dev/mapper/root roothash=HASH
#   OVMF.fd     the TD firmware: trixie's ovmf, pinned by image/ovmf.pin
#   measurements.json  what an owner needs to predict the TD's measurements:
#               the SHA-384 of OVMF.fd, vmlinuz, initrd.img and the command line
#               (docs/image.md, "Measurements"; cocoon-verify cvm reads it)
# The dm-verity hash tree is made again with a fixed salt (below), the
# partitions are named after the root hash, and the hash is checked with
# `veritysetup verify` against the partitions inside rootfs.img before the
# cmdline is written.
#
# Usage: image/build.sh [--force] [--profile dev|podman|gpu] [OUTDIR]
#        (default profile dev, default OUTDIR image/out/PROFILE)
# The guest programs and their units are built here (Meson, release, in
# build-image/ of the source tree so that the binaries do not depend on
# OUTDIR) and installed into the image as an extra tree; the kernel package
# is fetched and checked against image/kernel.pin, OVMF against image/ovmf.pin.
# OUTDIR/inputs.sha256 records a hash of image/, the profile, the kernel
# package and the installed guest programs; when it matches, nothing is
# rebuilt (--force rebuilds). mkosi's package cache: image/mkosi.cache.
# OUTDIR/packages.txt lists every package in the image with its version.
# Environment: SOURCE_DATE_EPOCH is passed to mkosi when set;
# COCOON_IMAGE_REUSE_MKOSI=1 skips mkosi and reuses OUTDIR/mkosi.output
# (for work on this script only).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
force=0
profile=dev
while [ $# -gt 0 ]; do
	case "$1" in
	--force) force=1; shift ;;
	--profile) profile=${2:?--profile needs a name}; shift 2 ;;
	--profile=*) profile=${1#--profile=}; shift ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "build.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ -f "$here/mkosi.profiles/$profile.conf" ] || [ -f "$here/mkosi.profiles/$profile/mkosi.conf" ] ||
	{ echo "build.sh: no profile '$profile' (image/mkosi.profiles/ has: $(cd "$here/mkosi.profiles" && ls | sed 's/\.conf$//' | tr '\n' ' '))" >&2; exit 2; }
out=${1:-$here/out/$profile}
mkdir -p "$out"
out=$(cd "$out" && pwd)
export PATH=$PATH:/usr/sbin:/sbin

# 1. pinned packages from outside the image's sources: the kernel
#    (image/kernel.pin) and the profile's own *.pin files (gpu: the kernel
#    headers DKMS needs). Blocks of package=, version=, [arch=,] sha256=;
#    each .deb is fetched into mkosi.packages/ and refused unless its SHA-256
#    is the pinned one.
pins=("$here/kernel.pin")
for f in "$here/mkosi.profiles/$profile/"*.pin; do [ -f "$f" ] && pins+=("$f"); done
pin_hashes=
fetch_pin() { # dir package version arch sha256; sets deb
	local dir=$1 got
	shift
	deb=$dir/${1}_${2#*:}_${3}.deb
	pin_hashes="$pin_hashes $4"
	if [ -s "$deb" ] && [ "$(sha256sum <"$deb" | cut -d' ' -f1)" = "$4" ]; then return 0; fi
	echo "build.sh: fetching $1=$2"
	mkdir -p "$dir"
	rm -f "$deb"
	(cd "$dir" && apt-get download -q "$1=$2") ||
		{ echo "build.sh: cannot fetch $1=$2: is its suite (bookworm-backports, trixie) in the host's apt sources (scripts/install-deps.sh image)? If the mirror dropped this version, update the pin" >&2; exit 1; }
	got=$(sha256sum <"$deb" | cut -d' ' -f1)
	if [ "$got" != "$4" ]; then
		rm -f "$deb"
		echo "build.sh: $1 $2 has SHA-256 $got, the pin says $4: refused" >&2
		exit 1
	fi
}
read_pin() { # file dir: fetches each block's package into dir
	local f=$1 pkg= ver= arch=amd64 sum= line
	while IFS= read -r line || [ -n "$line" ]; do
		case "$line" in
		package=*) pkg=${line#package=} ;;
		version=*) ver=${line#version=} ;;
		arch=*) arch=${line#arch=} ;;
		sha256=*) sum=${line#sha256=}
			[ -n "$pkg" ] && [ -n "$ver" ] || { echo "build.sh: $f: sha256= before package= and version=" >&2; exit 1; }
			fetch_pin "$2" "$pkg" "$ver" "$arch" "$sum"
			pin_versions="$pin_versions $pkg=$ver"
			pkg= ver= arch=amd64 sum= ;;
		'#'*|'') ;;
		*) echo "build.sh: $f: unknown line '$line'" >&2; exit 1 ;;
		esac
	done <"$f"
}
pin_versions=
for f in "${pins[@]}"; do read_pin "$f" "$here/mkosi.packages"; done
# the firmware is not a package of the image: its own directory
read_pin "$here/ovmf.pin" "$here/firmware"
ovmf_deb=$deb

# 2. the guest programs and units, built from this tree
bld=$src/build-image
[ -f "$bld/build.ninja" ] || meson setup "$bld" "$src" -Dbuildtype=release -Dtests=false \
	--prefix=/usr -Db_pie=true >/dev/null
ninja -C "$bld" >/dev/null
stage=$out/guest-tree
rm -rf "$stage"
meson install -C "$bld" --tags guest --destdir "$stage" --no-rebuild --quiet
stage_hash=$(cd "$stage" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)

inputs_hash() {
	(cd "$here" && find . \( -path ./mkosi.output -o -path ./mkosi.cache -o -path ./mkosi.packages -o -path ./firmware -o -path ./out \) -prune -o \
		\( -type f -o -type l \) -print | LC_ALL=C sort | while read -r f; do
		if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; else echo "$f $(sha256sum <"$f")"; fi
	done) | sha256sum | cut -d' ' -f1
}

want=$( (inputs_hash; echo "$profile $pin_hashes $stage_hash") | sha256sum | cut -d' ' -f1)
if [ $force = 0 ] && [ "$(cat "$out/inputs.sha256" 2>/dev/null)" = "$want" ] &&
	[ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ] && [ -s "$out/rootfs.img" ] && [ -s "$out/cmdline" ] &&
	[ -s "$out/OVMF.fd" ] && [ -s "$out/measurements.json" ]; then
	echo "build.sh: $out is up to date with image/ ($want)"
	exit 0
fi
rm -f "$out/inputs.sha256" "$out/cmdline" "$out/measurements.json"

command -v mkosi >/dev/null || { echo "build.sh: mkosi missing: scripts/install-deps.sh image" >&2; exit 1; }
mk=$out/mkosi.output
mkdir -p "$mk"
if [ "${COCOON_IMAGE_REUSE_MKOSI:-0}" = 1 ] && [ -s "$mk/cocoon-guest.raw" ]; then
	echo "build.sh: COCOON_IMAGE_REUSE_MKOSI=1: reusing $mk (no mkosi run)"
else
	t0=$(date +%s)
	mkosi -C "$here" --force --profile "$profile" --output-dir "$mk" \
		--extra-tree "$stage:/" --manifest-format json build
	echo "build.sh: mkosi build took $(($(date +%s) - t0)) s"
fi

disk=$mk/cocoon-guest.raw
for f in "$disk" "$mk/cocoon-guest.vmlinuz" "$mk/cocoon-guest.initrd"; do
	[ -s "$f" ] || { echo "build.sh: mkosi did not write $f" >&2; exit 1; }
done

# The GPT of the disk: the root (x86-64) and root verity (x86-64) partitions.
read -r data_no data_start data_size hash_no hash_start hash_size < <(
	sfdisk --json "$disk" | python3 -c '
import json, sys
t = json.load(sys.stdin)["partitiontable"]
ss = t.get("sectorsize", 512)
parts = {p["type"].upper(): (n, p) for n, p in enumerate(t["partitions"], 1)}
dn, d = parts["4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"]   # root x86-64
hn, h = parts["2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5"]   # root verity x86-64
print(dn, d["start"] * ss, d["size"] * ss, hn, h["start"] * ss, h["size"] * ss)
')
(( data_size % 4096 == 0 )) || { echo "build.sh: the root partition ($data_size bytes) is not a whole number of 4 KiB blocks" >&2; exit 1; }

# The dm-verity hash tree, made again here (cocoon-verity, built above with
# the guest programs; the same bytes veritysetup writes) with a fixed salt
# and 4 KiB blocks. systemd-repart 254 formats it with a random salt (so the root hash
# changed with every build even when the root file system did not) and with
# 512-byte blocks (eight times the hashing at every read). The salt and the
# superblock UUID are derived from the image's repart Seed= in mkosi.conf.
# The partitions are then renamed after the new root hash, as repart names
# them (data partition UUID = its first half, hash partition = its second),
# which is where systemd's veritysetup generator looks for them.
seed=$(sed -n 's/^Seed=//p' "$here/mkosi.conf")
[[ $seed =~ ^[0-9a-f-]{36}$ ]] || { echo "build.sh: no Seed= UUID in $here/mkosi.conf" >&2; exit 1; }
salt=$(printf 'cocoon-guest verity salt %s' "$seed" | sha256sum | cut -d' ' -f1)
uuid_of() { echo "$1" | sed -E 's/(.{8})(.{4})(.{4})(.{4})(.{12})/\1-\2-\3-\4-\5/'; }
vuuid=$(uuid_of "$(printf 'cocoon-guest verity uuid %s' "$seed" | sha256sum | cut -c1-32)")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dd if="$disk" of="$tmp/data" bs=1M iflag=skip_bytes,count_bytes skip="$data_start" count="$data_size" status=none
"$bld/host/cocoon-verity/cocoon-verity" format --hash sha256 --data-block-size 4096 \
	--hash-block-size 4096 --salt "$salt" --uuid "$vuuid" "$tmp/data" "$tmp/hash" >"$tmp/format"
roothash=$(sed -n 's/^Root hash:[[:space:]]*//p' "$tmp/format")
[[ $roothash =~ ^[0-9a-f]{64}$ ]] || { echo "build.sh: cocoon-verity format printed no root hash:" >&2; cat "$tmp/format" >&2; exit 1; }
tree=$(stat -c %s "$tmp/hash")
((tree <= hash_size)) || { echo "build.sh: the hash tree ($tree bytes) does not fit the verity partition ($hash_size bytes)" >&2; exit 1; }
truncate -s "$hash_size" "$tmp/hash"
dd if="$tmp/hash" of="$disk" bs=1M oflag=seek_bytes seek="$hash_start" conv=notrunc status=none
sfdisk -q --part-uuid "$disk" "$data_no" "$(uuid_of "${roothash:0:32}")"
sfdisk -q --part-uuid "$disk" "$hash_no" "$(uuid_of "${roothash:32:32}")"

# Check the hash against the partitions as they now lie in the disk image,
# with veritysetup: a second implementation.
dd if="$disk" of="$tmp/hash" bs=1M iflag=skip_bytes,count_bytes skip="$hash_start" count="$hash_size" status=none
veritysetup verify "$tmp/data" "$tmp/hash" "$roothash"
echo "build.sh: veritysetup verify: root hash $roothash (salt $salt, 4096-byte blocks, tree $tree bytes)"
rm -rf "$tmp"
# repart's own split partition files carry its random-salt tree: not outputs
rm -f "$mk"/cocoon-guest.root-*.raw "$mk"/cocoon-guest.*verity*.raw

python3 - "$mk/cocoon-guest.manifest" >"$out/packages.txt" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for p in sorted(m.get("packages", []), key=lambda p: p["name"]):
    print(p["name"], p["version"])
PY
echo "build.sh: $(wc -l <"$out/packages.txt") packages (OUTDIR/packages.txt)"
ln -f "$mk/cocoon-guest.vmlinuz" "$out/vmlinuz"
ln -f "$mk/cocoon-guest.initrd" "$out/initrd.img"
ln -f "$disk" "$out/rootfs.img"
# the profile may add words (gpu: cocoon_gpu, the GPU ready gate)
cmdfiles=("$here/cmdline.in")
[ -f "$here/mkosi.profiles/$profile/cmdline.in" ] && cmdfiles+=("$here/mkosi.profiles/$profile/cmdline.in")
base=$(cat "${cmdfiles[@]}" | grep -v '^#' | tr '\n' ' ' | tr -s ' ' | sed 's/^ //; s/ $//')
echo "$base root=/dev/mapper/root roothash=$roothash" >"$out/cmdline"

# The firmware: OVMF.fd of the pinned ovmf package, refused unless it carries
# the TDX metadata (the footer GUID table's TDX metadata offset entry pointing
# at a "TDVF" descriptor) that QEMU's tdx-guest needs.
dpkg-deb --fsys-tarfile "$ovmf_deb" | tar -xO ./usr/share/ovmf/OVMF.fd >"$out/OVMF.fd.tmp"
python3 "$here/measurements.py" tdvf "$out/OVMF.fd.tmp"
mv "$out/OVMF.fd.tmp" "$out/OVMF.fd"
python3 "$here/measurements.py" write "$out" "$profile" $pin_versions >"$out/measurements.json.tmp"
mv "$out/measurements.json.tmp" "$out/measurements.json"
echo "$want" >"$out/inputs.sha256"
echo "build.sh: wrote $out/{vmlinuz,initrd.img,rootfs.img,cmdline,OVMF.fd,measurements.json}"
cat "$out/cmdline"
