#!/usr/bin/env bash
# The host's systemd units as installed by the packages: make deb's
# cocoon-host and cocoon-guest installed with apt in a fresh bookworm root,
# booted with systemd as PID 1 (systemd-nspawn --boot), then:
#   - systemd-analyze verify of seal-server.service, cocoon-launch@NAME and
#     cocoon-gpu-vfio@NAME;
#   - seal-server.service started with its /etc/cocoon/seal-server.conf (the
#     listen address set to unix:/run/cocoon/seal.sock: never vsock here),
#     `systemctl status` active (running), seal-client (sim, from cocoon-guest)
#     gets a 32-byte key twice, the same again after a restart (the secrets
#     kept in /var/lib/cocoon), a clean stop (Result=success, exit 0);
#   - cocoon-launch@bad.service with a configuration it refuses: failed with
#     exit 1 and not restarted (RestartPreventExitStatus);
#   - the container powered off through systemd.
# A development CVM is not started through cocoon-launch@ here (docs/units.md).
#
# Usage: tests/integration/units_nspawn.sh SRC
# Exit 0 when every check held, 77 when not root or without systemd-nspawn.
# Downloads are kept in COCOON_FRESH_APT_CACHE as for fresh_check.sh.
set -euo pipefail
src=$(cd "${1:?usage: units_nspawn.sh SRC}" && pwd)
if [ "$(id -u)" != 0 ]; then echo "units_nspawn: skipped: needs root"; exit 77; fi
command -v systemd-nspawn >/dev/null || { echo "units_nspawn: skipped: no systemd-nspawn (scripts/install-deps.sh image)"; exit 77; }
cache=${COCOON_FRESH_APT_CACHE:-$HOME/.cache/cocoon-test/fresh-apt}
mkdir -p "$cache/partial"
work=$(mktemp -d /var/tmp/cocoon-units.XXXXXX)
root=$work/root
nspawn=
cleanup() {
	[ -n "$nspawn" ] && kill "$nspawn" 2>/dev/null && wait "$nspawn" 2>/dev/null
	umount -l "$root/proc" "$root/var/cache/apt/archives" 2>/dev/null || true
	[ "${COCOON_UNITS_KEEP:-0}" = 1 ] && { echo "units_nspawn: kept $work"; return; }
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT
fail() { echo "units_nspawn: FAIL: $*" >&2; exit 1; }
now() { date +%s; }
. "$(dirname "$0")/freshroot.sh"
t0=$(now)

"$src/scripts/build-deb.sh" "$work/deb" >"$work/build-deb.log" 2>&1 ||
	{ tail -n 30 "$work/build-deb.log" >&2; fail "make deb (scripts/build-deb.sh) failed"; }
echo "units_nspawn: packages built in $(($(now) - t0)) s"

t1=$(now)
fresh_root "$root" "$cache" "$work/mmdebstrap.log" systemd,systemd-sysv,dbus || fail "mmdebstrap"
cp "$work"/deb/cocoon-host_*.deb "$work"/deb/cocoon-guest_*.deb "$root/tmp/"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount --bind "$cache" "$root/var/cache/apt/archives"
chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends /tmp/cocoon-host_*.deb /tmp/cocoon-guest_*.deb' >"$work/apt.log" 2>&1 ||
	{ tail -n 20 "$work/apt.log" >&2; fail "apt-get install of the .debs"; }
umount "$root/var/cache/apt/archives" "$root/proc"
echo "units_nspawn: bookworm root with the packages installed in $(($(now) - t1)) s"
[ -f "$root/etc/cocoon/seal-server.conf" ] || fail "cocoon-host did not install /etc/cocoon/seal-server.conf"
sed -i 's|^SEAL_LISTEN=.*|SEAL_LISTEN=unix:/run/cocoon/seal.sock|' "$root/etc/cocoon/seal-server.conf"
mkdir -p "$root/etc/cocoon/cvm"
printf '[node]\nno_such_key = 1\n' >"$root/etc/cocoon/cvm/bad.conf"

# systemd as PID 1; nothing registered with the host (no systemd there)
systemd-nspawn -D "$root" --boot --register=no --keep-unit --console=pipe -q >"$work/boot.log" 2>&1 &
nspawn=$!
pid1=
for _ in $(seq 100); do
	pid1=$(pgrep -P "$nspawn" 2>/dev/null | head -n 1 || true)
	[ -n "$pid1" ] && [ "$(cat "/proc/$pid1/comm" 2>/dev/null)" = systemd ] && break
	pid1=
	sleep 0.3
done
[ -n "$pid1" ] || { cat "$work/boot.log" >&2; fail "systemd did not start as PID 1 in systemd-nspawn"; }
inside() { nsenter -t "$pid1" -a "$@"; }
# systemctl answers once PID 1 has its private socket; then wait for the boot
for _ in $(seq 120); do inside test -S /run/systemd/private && break; sleep 0.5; done
state=$(timeout 120 nsenter -t "$pid1" -a systemctl is-system-running --wait 2>&1 || true)
echo "units_nspawn: systemd in the container: $state"
case $state in running | degraded) ;; *) inside systemctl --failed --no-pager >&2 || true; fail "system state '$state'" ;; esac

inside systemd-analyze verify --man=no seal-server.service cocoon-launch@x.service cocoon-gpu-vfio@x.service ||
	fail "systemd-analyze verify of the units"

prop() { inside systemctl show -p "$2" --value "$1"; }
inside systemctl start seal-server.service || { inside journalctl -u seal-server --no-pager >&2; fail "systemctl start seal-server"; }
for _ in $(seq 50); do inside test -S /run/cocoon/seal.sock && break; sleep 0.2; done
status=$(inside systemctl status seal-server.service --no-pager) || true
echo "$status" | sed 's/^/  /'
echo "$status" | grep -q 'Active: active (running)' || fail "seal-server is not active (running)"
echo "$status" | grep -q -- '--listen unix:/run/cocoon/seal.sock' || fail "seal-server did not take SEAL_LISTEN from /etc/cocoon/seal-server.conf"
[ -z "$(prop seal-server.service CapabilityBoundingSet)" ] || fail "seal-server runs with capabilities"
getkey() {
	local i
	for i in $(seq 50); do inside test -S /run/cocoon/seal.sock && break; sleep 0.2; done
	inside rm -f "/tmp/key-$1"
	inside seal-client --tee sim --connect unix:/run/cocoon/seal.sock -o "/tmp/key-$1" -q ||
		fail "seal-client could not get a key from seal-server.service ($1)"
	inside sha256sum "/tmp/key-$1" | cut -d' ' -f1
}
k1=$(getkey 1)
k2=$(getkey 2)
[ "$(inside stat -c %s /tmp/key-1)" = 32 ] || fail "the key is not 32 bytes"
[ "$k1" = "$k2" ] || fail "two requests gave different keys"
inside systemctl restart seal-server.service
k3=$(getkey 3)
[ "$k1" = "$k3" ] || fail "the key changed across a restart (the secrets were not kept in /var/lib/cocoon)"
echo "units_nspawn: seal-client got the same key three times, across a restart"
inside systemctl stop seal-server.service
r="$(prop seal-server.service ActiveState) $(prop seal-server.service Result) $(prop seal-server.service ExecMainStatus)"
[ "$r" = "inactive success 0" ] || fail "seal-server stop: ActiveState Result ExecMainStatus = $r, expected inactive success 0"
echo "units_nspawn: seal-server stopped cleanly ($r)"

inside systemctl start cocoon-launch@bad.service 2>/dev/null || true
sleep 20 # past RestartSec=15s: a restart would have happened by now
r="$(prop cocoon-launch@bad.service ActiveState) $(prop cocoon-launch@bad.service ExecMainStatus) $(prop cocoon-launch@bad.service NRestarts)"
[ "$r" = "failed 1 0" ] || { inside journalctl -u cocoon-launch@bad --no-pager >&2; fail "cocoon-launch@bad: ActiveState ExecMainStatus NRestarts = $r, expected failed 1 0"; }
inside journalctl -u cocoon-launch@bad --no-pager | grep -q "bad.conf:2: unknown key 'no_such_key'" ||
	fail "cocoon-launch@bad's journal does not name the bad key"
echo "units_nspawn: cocoon-launch@bad refused its configuration (exit 1), not restarted"

inside systemctl poweroff
for _ in $(seq 120); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.5; done
kill -0 "$nspawn" 2>/dev/null && fail "the container did not power off within 60 s"
wait "$nspawn" || fail "systemd-nspawn exited $?"
nspawn=
echo "units_nspawn: passed in $(($(now) - t0)) s"
