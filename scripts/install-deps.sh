#!/usr/bin/env bash
# Installs every Debian package the project needs, idempotently.
#
# Usage: scripts/install-deps.sh [GROUP...]     (default: build test)
#   build  compiler, Meson/Ninja and the -dev libraries lib/ links against
#   test   what the test suite drives for real: git, cmocka, clang's libFuzzer
#   vm     what the launcher's tests drive: QEMU 10 (backports), libvirt
#          (virt-xml-validate, libvirtd), cpio and mmdebstrap for the test
#          guest and the trixie virtiofsd root
#   image  what image/build.sh needs to build the guest image: mkosi 24
#          (backports) and the tools it runs (systemd-repart, veritysetup,
#          mkfs.erofs for the root, sfdisk, zstd for the initrd)
#   demo   what the development CVM needs (the vm group and the image tools)
#   deb    what make deb needs beside the build group: debhelper, lintian,
#          help2man (the manual pages, from each program's --help)
#
# The extra Debian suites the project needs (bookworm-backports, trixie, the
# contrib/non-free components) are added as files of this project's own under
# /etc/apt/sources.list.d/ and pinned so that nothing is taken from them unless
# asked for by name. Nothing is downloaded when everything is already there.
set -euo pipefail

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(build test)

pkgs_build=(build-essential meson ninja-build pkg-config clang clang-format
	libssl-dev libjson-c-dev libyaml-dev libinih-dev libcurl4-openssl-dev
	libmicrohttpd-dev libcryptsetup-dev libblkid-dev)
pkgs_test=(git libcmocka-dev libclang-rt-14-dev cryptsetup-bin e2fsprogs python3
	docker.io docker-registry nftables iproute2 podman nodejs)
# the dcap peer test runs npm @phala/dcap-qvl under node; npm is its own
# Debian package, but comes inside nodejs where that is NodeSource's
command -v npm >/dev/null 2>&1 || pkgs_test+=(npm)
pkgs_vm=(cpio kmod mmdebstrap libvirt-clients libvirt-daemon-system libvirt-daemon-driver-qemu
	dpkg-dev)
pkgs_image=(systemd systemd-container bubblewrap fdisk cryptsetup-bin e2fsprogs erofs-utils zstd cpio
	debian-archive-keyring python3 reprepro)
pkgs_deb=(debhelper dpkg-dev lintian help2man)
pkgs_demo=("${pkgs_vm[@]}" "${pkgs_image[@]}" curl)
# packages that must come from bookworm-backports ("name" installed with -t)
bpo_vm=(qemu-system-x86)
bpo_image=(mkosi)
bpo_demo=("${bpo_vm[@]}" "${bpo_image[@]}")

want=()
bpo=()
for g in "${groups[@]}"; do
	case "$g" in
	build) want+=("${pkgs_build[@]}") ;;
	test) want+=("${pkgs_test[@]}") ;;
	vm) want+=("${pkgs_vm[@]}"); bpo+=("${bpo_vm[@]}") ;;
	image) want+=("${pkgs_image[@]}"); bpo+=("${bpo_image[@]}") ;;
	demo) want+=("${pkgs_demo[@]}"); bpo+=("${bpo_demo[@]}") ;;
	deb) want+=("${pkgs_deb[@]}") ;;
	*) echo "install-deps: unknown group '$g' (known: build test vm image demo deb)" >&2; exit 2 ;;
	esac
done

missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed || echo "$p"
	done
}

need=$(missing "${want[@]}")
need_bpo=$(missing "${bpo[@]+"${bpo[@]}"}")
if [ -z "$need" ] && [ -z "$need_bpo" ]; then
	echo "install-deps: all packages for '${groups[*]}' are installed"
	exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
	sudo=sudo
fi

src=/etc/apt/sources.list.d/cocoon-docker-tdx.sources
pin=/etc/apt/preferences.d/cocoon-docker-tdx
if ! grep -q "format 2" "$src" 2>/dev/null; then
	echo "install-deps: adding $src (bookworm-backports, trixie; all components)"
	$sudo tee "$src" >/dev/null <<'SRC'
# Added by cocoon-docker-tdx scripts/install-deps.sh (format 2)
# bookworm main comes from the machine's own sources.
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: contrib non-free non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main contrib non-free non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main contrib non-free non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	$sudo tee "$pin" >/dev/null <<'PIN'
# Added by cocoon-docker-tdx scripts/install-deps.sh: take trixie only when asked.
Package: *
Pin: release n=trixie
Pin-Priority: 50
PIN
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: apt-get update"
# Unreachable third-party sources on the machine only warn; a broken Debian
# source shows up as a failed install below.
$sudo apt-get -o DPkg::Lock::Timeout=900 update -qq || echo "install-deps: apt-get update reported errors (continuing)" >&2
if [ -n "$need" ]; then
	echo "install-deps: installing" $need
	$sudo apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends $need
fi
if [ -n "$need_bpo" ]; then
	echo "install-deps: installing from bookworm-backports" $need_bpo
	$sudo apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends -t bookworm-backports $need_bpo
fi
left=$(missing "${want[@]}" "${bpo[@]+"${bpo[@]}"}")
if [ -n "$left" ]; then
	echo "install-deps: still missing after install:" $left >&2
	exit 1
fi
echo "install-deps: done"
