#!/usr/bin/env bash
# Runs trixie's virtiofsd from a root made by fetch.sh (bookworm has no
# virtiofsd, and trixie's needs a newer glibc), as cocoon-launch would run
# an installed one: the same arguments. In a private mount namespace (the
# mounts vanish with the process) it mounts /proc, binds the socket's
# directory and the shared directory into the root, and execs virtiofsd
# there with --sandbox=chroot (the namespace sandbox fails inside a chroot).
# Usage: VIRTIOFSD_ROOT=DIR virtiofsd-chroot.sh --socket-path=S --shared-dir=D [...]
set -euo pipefail
root=${VIRTIOFSD_ROOT:?set VIRTIOFSD_ROOT to the root from fetch.sh virtiofsd}
sock= shared= rest=()
for a in "$@"; do
	case "$a" in
	--socket-path=*) sock=${a#*=} ;;
	--shared-dir=*) shared=${a#*=} ;;
	--sandbox=*) ;;
	*) rest+=("$a") ;;
	esac
done
sockdir=$(dirname "$sock")
export root sock shared sockdir
exec unshare --mount --propagation private bash -c '
	set -e
	mount -t proc proc "$root/proc"
	mkdir -p "$root$sockdir" "$root/share"
	mount --bind "$sockdir" "$root$sockdir"
	mount --bind "$shared" "$root/share"
	exec chroot "$root" /usr/libexec/virtiofsd --socket-path="$sock" --shared-dir=/share \
		--sandbox=chroot "$@"' virtiofsd "${rest[@]}"
