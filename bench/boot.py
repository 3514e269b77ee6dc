#!/usr/bin/env python3
"""bench/boot: boot-to-ready of the development CVM, split by phase and by
cocoon-init step.

usage: bench/boot.py [RUNS]     (default 1; run from the repository root as root)

Each run is `make demo`'s flow (scripts/demo.sh: the dev image, the demo
workload, seal-server, cocoon-launch --dev) with a fresh persistent disk, under
TCG unless COCOON_DEMO_ACCEL says otherwise. The split comes from the guest
console (kernel timestamps; cocoon-init logs each step with its duration) and
the launcher's "guest ready N ms after QEMU started". The shares are of the
launcher's boot-to-ready time, the named baseline every phase is compared
with. The first run also builds the image when image/ changed (not timed).
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
TS = r"\[\s*(\d+\.\d+)\]"


def first(pattern, text):
    m = re.search(TS + r".*" + pattern, text)
    return float(m.group(1)) if m else None


def one_run(n):
    work = tempfile.mkdtemp(prefix="bench-boot.", dir="/var/tmp")
    env = dict(os.environ, COCOON_DEMO_DIR=work, COCOON_DEMO_ACCEL=os.environ.get(
        "COCOON_DEMO_ACCEL", "tcg"), COCOON_DEMO_PORT=str(18180 + n))
    r = subprocess.run([os.path.join(ROOT, "scripts", "demo.sh")], env=env, cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace")
    console = open(os.path.join(work, "console.log"), errors="replace").read()
    subprocess.run(["rm", "-rf", work])
    if r.returncode != 0:
        sys.stdout.write(r.stdout[-3000:])
        sys.exit(f"bench/boot: run {n}: scripts/demo.sh exited {r.returncode}")
    m = re.search(r"guest ready (\d+) ms after QEMU started", r.stdout)
    if not m:
        sys.exit("bench/boot: no 'guest ready' line from cocoon-launch")
    ph = {"ready (launcher, from QEMU start)": int(m.group(1)) / 1000}
    t_init = first(r"Run /init as init process", console)
    t_switch = first(r"initrd-switch-root.service: Deactivated", console)
    t_ci = first(r"cocoon-init: mode:", console)
    t_ready = first(r"cocoon-init: \[step 10/10\]", console)
    if None in (t_init, t_switch, t_ci, t_ready):
        sys.exit("bench/boot: the console lacks a phase marker")
    ph["firmware + kernel (until /init)"] = ph["ready (launcher, from QEMU start)"] - t_ready + t_init
    ph["initrd: dm-verity root, switch root"] = t_switch - t_init
    ph["systemd until cocoon-init"] = t_ci - t_switch
    for num, name, ms in re.findall(r"cocoon-init: \[step (\d+)/10\] (\w+) (?:done|SKIPPED)"
                                    r".*\((\d+) ms\)", console):
        ph[f"cocoon-init step {num} {name}"] = int(ms) / 1000
    ph["cocoon-init total"] = t_ready - t_ci
    return ph


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    if os.geteuid() != 0:
        sys.exit("bench/boot: needs root (9p shares of root-owned files, QEMU networking)")
    results = [one_run(i) for i in range(runs)]
    base = "ready (launcher, from QEMU start)"
    total = statistics.median(r[base] for r in results)
    accel = os.environ.get("COCOON_DEMO_ACCEL", "tcg")
    print(f"bench/boot: development CVM, accel {accel}, {runs} run(s), medians; "
          f"baseline = boot-to-ready {total:.1f} s")
    print(f"{'phase':48} {'seconds':>8} {'share':>7}")
    for k in results[0]:
        if k == base:
            continue
        v = statistics.median(r.get(k, 0.0) for r in results)
        print(f"{k:48} {v:8.2f} {v / total:7.1%}")
    print(f"{base:48} {total:8.2f} {1:7.1%}")


if __name__ == "__main__":
    main()
