#!/usr/bin/env bash
# make demo: the development CVM running the demo workload, end to end.
#
#   1. builds the guest image (image/build.sh --profile dev; cached in
#      image/out/dev, rebuilt when image/ or a guest program changes)
#   2. builds the demo workload: examples/demo-hello as an OCI archive in the
#      data share, the demo spec with its digest (scripts/demo-workload.py)
#   3. starts seal-server (sim backend) and cocoon-launch --dev: QEMU without
#      TDX or GPU (KVM when usable, else TCG), sim TEE
#   4. waits until cocoon-init reports ready and the service answers through
#      the host port forward; prints its answer, `health-client status` and
#      `health-client containers`; fetches the CVM's evidence for a fresh
#      nonce (`health-client attest`)
#   5. powers the VM down
#   6. the owner's check: `cocoon-verify cvm --allow-sim` on that evidence and
#      the demo spec (every claim must pass), then on a copy of the spec with
#      one file more (the spec claim must fail)
#
# Environment: COCOON_DEMO_PORT (host port, default 18080), COCOON_DEMO_DIR
# (work directory, default a new one under /tmp, removed at the end),
# COCOON_DEMO_ACCEL (auto|kvm|tcg, default auto), COCOON_DEMO_KEEP=1 (leave
# the work directory), COCOON_DEMO_APPEND (words for the kernel command line),
# COCOON_DEMO_PROFILE (dev, the default, runs the workload under Docker;
# podman builds the podman image and sets the spec's x-cocoon.engine to
# podman), COCOON_DEMO_IMAGE_DIR (where the image is built and booted from,
# default image/out/PROFILE; build.sh does nothing when it is up to date).
# Exit 0 when the service answered.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${COCOON_BUILD:-build}
port=${COCOON_DEMO_PORT:-18080}
accel=${COCOON_DEMO_ACCEL:-auto}
profile=${COCOON_DEMO_PROFILE:-dev}
case $profile in
dev) engine=docker ;;
podman) engine=podman ;;
*) echo "demo: COCOON_DEMO_PROFILE=$profile: dev or podman (the gpu profile needs a GPU host)" >&2; exit 2 ;;
esac
imgdir=${COCOON_DEMO_IMAGE_DIR:-image/out/$profile}
step() { printf '\n== %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

work=${COCOON_DEMO_DIR:-$(mktemp -d /tmp/cocoon-demo.XXXXXX)}
mkdir -p "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ "${COCOON_DEMO_KEEP:-0}" = 1 ] || [ -n "${COCOON_DEMO_DIR:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

step "1/6 guest image (image/build.sh --profile $profile)"
image/build.sh --profile "$profile" "$imgdir"

step "2/6 demo workload (examples/demo-hello → OCI archive on the data share)"
digest=$(scripts/demo-workload.py "$work")
echo "image cocoon-demo/hello@$digest"
if [ "$engine" != docker ]; then
	sed -i "s/^  engine: docker\$/  engine: $engine/" "$work/spec/docker-compose.yml"
	grep -q "^  engine: $engine\$" "$work/spec/docker-compose.yml" ||
		die "could not set x-cocoon.engine to $engine in $work/spec/docker-compose.yml"
fi
"$B/host/cocoon-spec/cocoon-spec" validate "$work/spec"

step "3/6 seal-server (sim) and cocoon-launch --dev"
"$B/host/seal-server/seal-server" --backend sim --listen "unix:$work/seal.sock" \
	--secret-file "$work/seal-sim.key" --write-platform-key "$work/sim-platform.key" -q &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/sim-platform.key" ] && break; sleep 0.1; done
[ -s "$work/sim-platform.key" ] || die "seal-server did not start"
: >"$work/console.log"
"$B/host/cocoon-launch/cocoon-launch" --dev --name demo --accel "$accel" --transport vport \
	--fs 9p --image-dir "$imgdir" --spec "$work/spec" --data "$work/data" \
	--persistent "$work/persistent.img" --persistent-size 2G --memory 2G --cpus 2 \
	--forward "127.0.0.1:$port:8080" --seal "unix:$work/seal.sock" \
	--sim-platform-key "$work/sim-platform.key" --run-dir "$work/run" \
	--console "$work/console.log" --ready-timeout 900 --stop-timeout 60 \
	${COCOON_DEMO_APPEND:+--append "$COCOON_DEMO_APPEND"} &
launcher=$!
pids+=($launcher)
# progress: what cocoon-init logs on the console
tail -n +1 -F "$work/console.log" 2>/dev/null |
	grep --line-buffered -E 'cocoon-init|Kernel panic|verity|Reached target' &
pids+=($!)

step "4/6 waiting for the service on 127.0.0.1:$port"
t0=$(date +%s)
answer=
while kill -0 "$launcher" 2>/dev/null; do
	if grep -q "boot state: failed\|cocoon-init: .*FAILED" "$work/console.log"; then break; fi
	# /health first: a request to / that timed out on a cold service would
	# still count a visit
	if curl -fsS -m 5 "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
		answer=$(curl -fsS -m 60 "http://127.0.0.1:$port/" 2>/dev/null) || answer=
		break
	fi
	sleep 2
done
if [ -z "$answer" ]; then
	echo "demo: the service did not answer; the guest console is in $work/console.log" >&2
	COCOON_DEMO_KEEP=1
	exit 1
fi
echo "the service answered after $(($(date +%s) - t0)) s: $answer"
hc=("$B/host/health-client/health-client" --connect "unix:$work/run/health.sock" --timeout 30000)
echo "-- health-client status"
"${hc[@]}" status
echo "-- health-client containers"
"${hc[@]}" containers

echo "-- health-client attest (a fresh nonce; the evidence goes to $work/evidence)"
nonce=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
"${hc[@]}" attest --nonce "$nonce" --out "$work/evidence"

step "5/6 stopping the VM"
kill -TERM "$launcher"
rc=0
wait "$launcher" || rc=$?
[ $rc = 0 ] || die "cocoon-launch exited $rc"
echo "demo: the VM powered off, cocoon-launch exit 0"

step "6/6 the owner's check of the CVM (cocoon-verify cvm --allow-sim)"
# sim: MRTD and RTMR0..2 are zero (no firmware measures anything); a real
# owner lists the image's values instead (docs/attestation-cvm.md)
z=$(printf '0%.0s' $(seq 96))
printf '{"allow": [{"name": "dev image (sim)", "mrtd": "%s", "rtmr0": "%s", "rtmr1": "%s", "rtmr2": "%s"}]}\n' \
	"$z" "$z" "$z" "$z" >"$work/allowlist.json"
verify=("$B/host/cocoon-verify/cocoon-verify" cvm --evidence "$work/evidence" --nonce "$nonce"
	--allow-sim --allowlist "$work/allowlist.json")
"${verify[@]}" --spec "$work/spec" || die "cocoon-verify cvm: not every claim passed"
echo "-- the same evidence against a spec directory the owner changed (one file more)"
cp -r "$work/spec" "$work/spec-changed"
echo "not what the CVM runs" >"$work/spec-changed/NOTE"
rc=0
"${verify[@]}" --spec "$work/spec-changed" || rc=$?
[ $rc = 1 ] || die "cocoon-verify cvm accepted a changed spec (exit $rc)"
echo "demo: done (the changed spec was refused, as it must be)"
