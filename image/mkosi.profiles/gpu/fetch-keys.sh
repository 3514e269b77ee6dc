#!/usr/bin/env bash
# Fetches the signing keys of NVIDIA's two apt repositories that the gpu
# profile builds from, checks them, and writes them as binary keyrings into
# mkosi.pkgmngr/etc/apt/keyrings/ (where the .sources files of
# mkosi.pkgmngr/etc/apt/sources.list.d/ expect them; used at build time only).
#
# Usage: image/mkosi.profiles/gpu/fetch-keys.sh [--inspect]
#   --inspect  download and check the fingerprints, print the SHA-256 of each
#              download, write nothing (to fill in the SHA-256 pins below)
#
# Two checks per key, both pinned here:
#   - the OpenPGP fingerprint of the primary key (the file must hold exactly
#     one primary key, with this fingerprint; only that key is exported);
#   - the SHA-256 of the downloaded file. These were NOT confirmed when the
#     script was written (NVIDIA's servers were out of reach), so they are
#     empty and the script refuses to write keyrings until the operator has
#     filled them in: run --inspect on a trusted machine, compare the output
#     with a second source (another network, a colleague, NVIDIA's pages),
#     then paste the values. A download that later differs (a re-signed or
#     rotated key) stops the script: check it the same way and update.
# Where the fingerprints come from: docs/image-profiles.md.
# Exit codes: 0 keyrings written (or --inspect done), 1 a check failed or a
# download failed, 2 usage error or a pin not filled in.
set -euo pipefail

# NVIDIA's CUDA repository for Debian 12 is signed by the key 3BF863CC
# ("cudatools <cudatools@nvidia.com>"). NVIDIA ships it in the cuda-keyring
# package of that repository; the keyring file is taken out of the package.
CUDA_KEYRING_DEB_URL=https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/cuda-keyring_1.1-1_all.deb
CUDA_KEY_FINGERPRINT=EB693B3035CD5710E231E123A4B469963BF863CC
CUDA_KEYRING_DEB_SHA256=

# NVIDIA's libnvidia-container repository (nvidia-container-toolkit): the key
# "NVIDIA CORPORATION (Open Source Projects) <cudatools@nvidia.com>".
LIBNVC_KEY_URL=https://nvidia.github.io/libnvidia-container/gpgkey
LIBNVC_KEY_FINGERPRINT=C95B321B61E88C1809C4F759DDCAE044F796ECB0
LIBNVC_KEY_SHA256=

here=$(cd "$(dirname "$0")" && pwd)
dest=$here/mkosi.pkgmngr/etc/apt/keyrings
inspect=0
case "${1:-}" in
--inspect) inspect=1 ;;
"") ;;
-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
*) echo "fetch-keys.sh: unknown argument $1 (--inspect or nothing)" >&2; exit 2 ;;
esac

for tool in curl gpg sha256sum dpkg-deb; do
	command -v "$tool" >/dev/null || { echo "fetch-keys.sh: $tool missing" >&2; exit 1; }
done
if [ $inspect = 0 ]; then
	missing=
	[ -n "$CUDA_KEYRING_DEB_SHA256" ] || missing="$missing CUDA_KEYRING_DEB_SHA256"
	[ -n "$LIBNVC_KEY_SHA256" ] || missing="$missing LIBNVC_KEY_SHA256"
	if [ -n "$missing" ]; then
		echo "fetch-keys.sh: not filled in:$missing. Run $0 --inspect, confirm the values with a second source, and set them in this script" >&2
		exit 2
	fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GNUPGHOME=$tmp/gnupg
mkdir -m 700 "$GNUPGHOME"

# fetch URL FILE PINNED_SHA256: download; compare the SHA-256 unless inspecting
fetch() {
	curl -fsSL --proto '=https' --tlsv1.2 -o "$2" "$1" || { echo "fetch-keys.sh: cannot download $1" >&2; exit 1; }
	local got
	got=$(sha256sum <"$2" | cut -d' ' -f1)
	if [ $inspect = 1 ]; then
		echo "$1"
		echo "  sha256 $got"
	elif [ "$got" != "$3" ]; then
		echo "fetch-keys.sh: $1 has SHA-256 $got, the script pins $3: refused" >&2
		exit 1
	fi
}

# keyring KEYFILE FINGERPRINT NAME: exactly one primary key, the pinned one;
# export only it, in binary form, to the staging directory (nothing reaches
# DEST unless both keys pass)
keyring() {
	local fprs
	fprs=$(gpg --batch --with-colons --show-keys "$1" 2>/dev/null |
		awk -F: '$1 == "pub" { want = 1; next } $1 == "fpr" && want { print $10; want = 0 }')
	if [ "$(printf '%s\n' "$fprs" | grep -c .)" -ne 1 ]; then
		echo "fetch-keys.sh: $1 holds $(printf '%s\n' "$fprs" | grep -c .) primary keys (${fprs//$'\n'/ }), expected one: refused" >&2
		exit 1
	fi
	if [ "$fprs" != "$2" ]; then
		echo "fetch-keys.sh: key fingerprint $fprs, the script pins $2: refused" >&2
		exit 1
	fi
	[ $inspect = 1 ] && { gpg --batch --show-keys "$1" 2>/dev/null | sed 's/^/  /'; return 0; }
	gpg --batch --quiet --import "$1" 2>/dev/null
	gpg --batch --export "$2" >"$tmp/stage/$3"
	[ -s "$tmp/stage/$3" ] || { echo "fetch-keys.sh: exporting $2 gave nothing" >&2; exit 1; }
}

mkdir "$tmp/stage"

fetch "$CUDA_KEYRING_DEB_URL" "$tmp/cuda-keyring.deb" "$CUDA_KEYRING_DEB_SHA256"
dpkg-deb -x "$tmp/cuda-keyring.deb" "$tmp/cuda-keyring" ||
	{ echo "fetch-keys.sh: $CUDA_KEYRING_DEB_URL is not a Debian package" >&2; exit 1; }
mapfile -t found < <(find "$tmp/cuda-keyring" -type f -name '*.gpg')
[ ${#found[@]} -eq 1 ] || { echo "fetch-keys.sh: cuda-keyring holds ${#found[@]} .gpg files, expected one: refused" >&2; exit 1; }
keyring "${found[0]}" "$CUDA_KEY_FINGERPRINT" nvidia-cuda.gpg

fetch "$LIBNVC_KEY_URL" "$tmp/libnvidia-container.asc" "$LIBNVC_KEY_SHA256"
keyring "$tmp/libnvidia-container.asc" "$LIBNVC_KEY_FINGERPRINT" nvidia-container-toolkit.gpg

if [ $inspect = 1 ]; then
	echo "fetch-keys.sh: fingerprints match; nothing written (--inspect)"
	exit 0
fi
mkdir -p "$dest"
for f in nvidia-cuda.gpg nvidia-container-toolkit.gpg; do
	install -m 0644 "$tmp/stage/$f" "$dest/$f"
	echo "fetch-keys.sh: wrote $dest/$f"
done
