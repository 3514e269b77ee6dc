#!/usr/bin/env python3
"""The checks image/build.sh makes on its pinned firmware, and measurements.json.

Usage: image_pins.py BUILD_DIR CASE     run one case
       image_pins.py none list          the case names (for meson)

The firmware is the real one: OVMF.fd of trixie's ovmf in the trixie root of
tests/integration/qemu_tdx.py, at the version image/ovmf.pin names (checked).
  ovmf-tdvf          image/measurements.py tdvf takes it (TDVF descriptor found)
  ovmf-no-tdx        a copy whose TDX metadata GUID is changed is refused
  ovmf-not-ovmf      SeaBIOS (no OVMF footer table) is refused
  measurements-json  measurements.py write on an OUTDIR with that OVMF.fd: each
                     SHA-384 is the one coreutils' sha384sum prints
Exit 77 (skip) without root or mmdebstrap (the root).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
MEAS = os.path.join(SRC, "image", "measurements.py")
sys.path.insert(0, HERE)
import qemu_tdx  # noqa: E402

CASES = ["ovmf-tdvf", "ovmf-no-tdx", "ovmf-not-ovmf", "measurements-json"]
TDX_GUID = uuid.UUID("e47a6535-984a-4798-865e-4685a7bf8ec2").bytes_le


def pin_version(path, package):
    v, pkg = None, None
    for line in open(path):
        if line.startswith("package="):
            pkg = line.strip().split("=", 1)[1]
        elif line.startswith("version=") and pkg == package:
            v = line.strip().split("=", 1)[1]
    return v


def meas(*args):
    return subprocess.run([sys.executable, MEAS] + list(args), capture_output=True, text=True)


def sha384sum(path):
    return subprocess.run(["sha384sum", path], capture_output=True, text=True,
                          check=True).stdout.split()[0]


def main():
    build, case = sys.argv[1:3]
    if case == "list":
        print("\n".join(CASES))
        return
    if os.geteuid() != 0 or not shutil.which("mmdebstrap"):
        print("image_pins: needs root and mmdebstrap (the trixie root of qemu_tdx.py)")
        sys.exit(77)
    root = qemu_tdx.trixie_root(os.path.abspath(build))
    want = pin_version(os.path.join(SRC, "image", "ovmf.pin"), "ovmf")
    have = subprocess.run(["chroot", root, "dpkg-query", "-W", "-f=${Version}", "ovmf"],
                          capture_output=True, text=True).stdout
    if have != want:
        sys.exit(f"image_pins: the root has ovmf {have}, image/ovmf.pin says {want}: "
                 "make the two pins agree")
    ovmf = os.path.join(root, "usr/share/ovmf/OVMF.fd")
    t = tempfile.mkdtemp(prefix="image-pins.")
    try:
        if case == "ovmf-tdvf":
            r = meas("tdvf", ovmf)
            print(r.stdout + r.stderr)
            if r.returncode != 0 or "TDVF descriptor" not in r.stdout:
                sys.exit(f"image_pins: trixie's OVMF.fd {want} was refused")
        elif case in ("ovmf-no-tdx", "ovmf-not-ovmf"):
            bad = os.path.join(t, "firmware.fd")
            if case == "ovmf-no-tdx":
                d = bytearray(open(ovmf, "rb").read())
                at = d.rfind(TDX_GUID)
                if at < 0:
                    sys.exit("image_pins: no TDX metadata GUID in OVMF.fd to change")
                d[at] ^= 0xFF
                open(bad, "wb").write(d)
                msg = "no TDX metadata in the footer table"
            else:
                shutil.copy(os.path.join(root, "usr/share/seabios/bios-256k.bin"), bad)
                msg = "no OVMF GUIDed structure table"
            r = meas("tdvf", bad)
            print(r.stdout + r.stderr)
            if r.returncode == 0 or msg not in r.stderr:
                sys.exit(f"image_pins: {case}: expected a refusal with '{msg}'")
        elif case == "measurements-json":
            shutil.copy(ovmf, os.path.join(t, "OVMF.fd"))
            for f in ("vmlinuz", "initrd.img"):
                open(os.path.join(t, f), "wb").write(os.urandom(70000))
            text = "console=hvc0 ro root=/dev/mapper/root roothash=" + "ab" * 32
            open(os.path.join(t, "cmdline"), "w").write(text + "\n")
            r = meas("write", t, "dev", "ovmf=" + want, "linux-image-x=1.0")
            if r.returncode != 0:
                sys.exit(f"image_pins: measurements.py write: {r.stderr}")
            m = json.loads(r.stdout)
            print(r.stdout)
            open(os.path.join(t, "c"), "w").write(text)
            open(os.path.join(t, "c0"), "wb").write(text.encode() + b"\0")
            checks = [(m["firmware"]["sha384"], sha384sum(os.path.join(t, "OVMF.fd"))),
                      (m["kernel"]["sha384"], sha384sum(os.path.join(t, "vmlinuz"))),
                      (m["initrd"]["sha384"], sha384sum(os.path.join(t, "initrd.img"))),
                      (m["cmdline"]["sha384"], sha384sum(os.path.join(t, "c"))),
                      (m["cmdline"]["sha384_nul"], sha384sum(os.path.join(t, "c0"))),
                      (m["root"]["roothash"], "ab" * 32),
                      (m["firmware"]["version"], want),
                      (m["kernel"]["package"], "linux-image-x")]
            for got, exp in checks:
                if got != exp:
                    sys.exit(f"image_pins: measurements.json has {got}, expected {exp}")
            print(f"image_pins: {len(checks)} fields agree with sha384sum and the inputs")
        else:
            sys.exit(f"unknown case {case}")
    finally:
        shutil.rmtree(t, ignore_errors=True)


if __name__ == "__main__":
    main()
