#!/usr/bin/env bash
# make demo: runs the main job on the embedded default as far as it is built,
# and says plainly what is not built yet. Nothing here is simulated.
set -euo pipefail
cd "$(dirname "$0")/.."
spec_tool=build/host/cocoon-spec/cocoon-spec
out=$(mktemp -d /tmp/cocoon-demo.XXXXXX)
trap 'rm -rf "$out"' EXIT

echo "== 1. validate the demo spec (examples/demo-spec)"
"$spec_tool" validate examples/demo-spec
echo "== 2. prepare it as the launcher will (hash printed)"
hash=$("$spec_tool" prepare examples/demo-spec "$out/spec")
echo "spec.tree = $hash"

missing=()
[ -x build/host/cocoon-launch/cocoon-launch ] || missing+=("cocoon-launch (host launcher, --dev mode under QEMU/TCG)")
[ -f image/mkosi.output/cocoon-guest.initrd ] || missing+=("the bootable guest image (image/: mkosi config started, no initrd yet; see docs/image.md)")
[ -x build/guest/cocoon-init/cocoon-init ] || missing+=("cocoon-init, cocoon-workload, cocoon-authz (guest side)")
if [ ${#missing[@]} -gt 0 ]; then
	echo
	echo "NOT BUILT YET — the development CVM demo cannot run until these exist:"
	for m in "${missing[@]}"; do echo "  - $m"; done
	echo "Steps 1-2 above ran for real; no VM was started."
	exit 1
fi
