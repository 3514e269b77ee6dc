#!/bin/sh
# run-h200.sh - what ran on the GPU machine (docs/hardware-runs.md): the GPU
# gate's evidence collection and checks, the NVML layout check, and a GPU
# container started by crun from the CDI spec cocoon-gpu generates, running a
# checked CUDA computation. Read-only towards the GPU: queries and CUDA work.
# Expects $H (default ./build-hw, carried): bin/cocoon-gpu (a release build),
# lib/ (its shared libraries and crun's libyajl, from Debian 12), crun/
# (Debian's crun 1.8.1, dpkg -x), rootfs/ (busybox-static, glibc, cuda_check
# built with nvcc 13.0 -cudart static), and $OUT. The device tool sends the
# session's own checkout, so these and this folder travel as one ignored
# folder there: H=that/folder, the scripts beside it (D).
set -u
H=${H:-$(pwd)/build-hw}
D=$(dirname "$0")
export LD_LIBRARY_PATH=$H/lib
say() { echo; echo "\$ $*"; }
echo "## machine"; uname -r; nvidia-smi --query-gpu=name,pci.bus_id,driver_version --format=csv,noheader
nvidia-smi conf-compute -f
say ls -l /dev/nvidia*; ls -l /dev/nvidia* 2>&1
echo "## nvml.h"
H_NVML=$(find / -xdev -name nvml.h 2>/dev/null | head -1)
echo "nvml.h: ${H_NVML:-none}"
if [ -n "$H_NVML" ]; then
  gcc -I"$(dirname "$H_NVML")" -o /tmp/nvml_layout "$D"/nvml_layout.c && /tmp/nvml_layout
fi
echo "## gate"
say cocoon-gpu attest --count 1; $H/bin/cocoon-gpu attest --count 1 --evidence-out $OUT/h200-evidence.json; echo "rc=$?"
say cocoon-gpu attest --count 1 --json; $H/bin/cocoon-gpu attest --count 1 --json; echo "rc=$?"
say cocoon-gpu attest --count 2; $H/bin/cocoon-gpu attest --count 2; echo "rc=$?"
echo "## CDI"
say cocoon-gpu cdi; $H/bin/cocoon-gpu cdi > $OUT/nvidia-cdi.json; echo "rc=$?"
grep -c containerPath $OUT/nvidia-cdi.json
echo "## container"
B=/tmp/bundle; mkdir -p $B; cp -a $H/rootfs $B/rootfs
python3 "$D"/cdi2oci.py $OUT/nvidia-cdi.json all $B/rootfs /bin/sh -c \
  'echo "in the container: $(hostname)"; ls /dev | grep nvidia | tr "\n" " "; echo; nvidia-smi -L; /cuda_check' > $B/config.json
cp $B/config.json $OUT/config.json
CRUN=$H/crun/usr/bin/crun
say crun --version; $CRUN --version
F=""
say crun run gpu-test; $CRUN run --bundle $B gpu-test; rc=$?; echo "rc=$rc"
if [ $rc -ne 0 ]; then
  F=--cgroup-manager=disabled
  say crun $F run gpu-test2; $CRUN $F run --bundle $B gpu-test2; echo "rc=$?"
fi
echo "## the same container without the CDI edits (no GPU)"
python3 - $B/config.json > $B/nogpu.json <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["linux"]["devices"] = []
c["mounts"] = [m for m in c["mounts"] if m["type"] != "bind"]
c["process"]["args"] = ["/cuda_check"]
json.dump(c, sys.stdout)
PY
mkdir -p /tmp/b2 && cp $B/nogpu.json /tmp/b2/config.json
say crun $F run nogpu; $CRUN $F run --bundle /tmp/b2 nogpu; echo "rc=$?"
