#!/usr/bin/env python3
"""The mkosi guest image (image/) booted by cocoon-launch --dev under TCG.

Usage: image_boot.py LAUNCHER CASE
       image_boot.py none list

Cases:
  boot-dev         image/build.sh builds the image (or finds it up to date in
                   the cache); the launcher boots kernel + mkosi's systemd initrd
                   + rootfs.img with the image's cmdline (root hash) and
                   cocoon.boot_marker=1; the initrd opens the root as dm-verity,
                   systemd reaches multi-user.target, cocoon-boot-marker.service
                   prints its marker (root on /dev/mapper/root) and powers off;
                   the launcher exits 0.
  verity-corrupt   the same image with one byte of the root partition flipped
                   (in the ext4 superblock, read at mount): the guest must not
                   reach the marker; the kernel reports the verity failure and
                   panics (panic-on-corruption, -no-reboot), the launcher exits 4.

mkosi missing is a failure, not a skip: `make test` installs it
(scripts/install-deps.sh image). The image is cached under
$COCOON_TEST_CACHE/image (~/.cache/cocoon-test), rebuilt only when a file
under image/ changes (image/build.sh records a hash of image/).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CASES = ["boot-dev", "verity-corrupt"]
MARKER = re.compile(r"COCOON-IMAGE: ready root=(\S+)")
ROOT_TYPE = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"  # root x86-64


def build_image():
    cache = os.environ.get("COCOON_TEST_CACHE", os.path.expanduser("~/.cache/cocoon-test"))
    out = os.path.join(cache, "image")
    os.makedirs(out, exist_ok=True)
    env = dict(os.environ, PATH=os.environ["PATH"] + ":/usr/sbin:/sbin")
    start = time.monotonic()
    with open(os.path.join(cache, ".image.lock"), "w") as lock:
        import fcntl
        fcntl.flock(lock, fcntl.LOCK_EX)
        r = subprocess.run([os.path.join(ROOT, "image", "build.sh"), out], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sys.stdout.write(r.stdout[-4000:])
    if r.returncode != 0:
        sys.exit("image/build.sh failed (exit %d)" % r.returncode)
    print("image ready after %.1f s" % (time.monotonic() - start))
    return out


def root_partition_offset(disk):
    t = json.loads(subprocess.run(["sfdisk", "--json", disk], capture_output=True, text=True,
                                  check=True, env=dict(os.environ, PATH=os.environ["PATH"] +
                                                       ":/usr/sbin:/sbin")).stdout)
    t = t["partitiontable"]
    for p in t["partitions"]:
        if p["type"].upper() == ROOT_TYPE:
            return p["start"] * t.get("sectorsize", 512)
    sys.exit("no root partition in " + disk)


def main():
    launcher, case = sys.argv[1:3]
    if case == "list":
        print("\n".join(CASES))
        return
    if not shutil.which("qemu-system-x86_64"):
        sys.exit("qemu-system-x86_64 is missing: run scripts/install-deps.sh vm")
    if not shutil.which("mkosi"):
        sys.exit("mkosi is missing: run scripts/install-deps.sh image")
    out = build_image()
    t = tempfile.mkdtemp(prefix="ib.", dir="/tmp")
    try:
        sys.exit(run_case(launcher, case, out, t))
    finally:
        shutil.rmtree(t, ignore_errors=True)


def run_case(launcher, case, out, t):
    img = os.path.join(t, "image")
    os.makedirs(img)
    for f in ("vmlinuz", "initrd.img", "cmdline"):
        os.symlink(os.path.join(out, f), os.path.join(img, f))
    if case == "verity-corrupt":
        disk = os.path.join(img, "rootfs.img")
        subprocess.run(["cp", "--sparse=always", os.path.join(out, "rootfs.img"), disk], check=True)
        off = root_partition_offset(disk) + 0x400 + 0x78  # ext4 superblock: s_volume_name
        with open(disk, "r+b") as f:
            f.seek(off)
            b = f.read(1)
            f.seek(off)
            f.write(bytes([b[0] ^ 0x01]))
        print("flipped the byte at offset %d of rootfs.img (root partition, ext4 superblock)" % off)
    else:
        os.symlink(os.path.join(out, "rootfs.img"), os.path.join(img, "rootfs.img"))
    spec = os.path.join(t, "spec")
    os.makedirs(spec)
    open(os.path.join(spec, "README"), "w").write("test spec for image/%s\n" % case)
    data = os.path.join(t, "data")
    os.makedirs(data)
    args = [launcher, "--dev", "--accel", "tcg", "--transport", "vport", "--fs", "9p",
            "--image-dir", img, "--append", "cocoon.boot_marker=1",
            "--spec", spec, "--data", data,
            "--persistent", os.path.join(t, "persistent.img"), "--persistent-size", "64M",
            "--memory", "1G", "--cpus", "2", "--run-dir", os.path.join(t, "run"),
            "--seal", "none", "--ready-timeout", "240", "--stop-timeout", "20"]
    print("cmdline:", open(os.path.join(img, "cmdline")).read().strip())
    start = time.monotonic()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=dict(os.environ, COCOON_LOG_LEVEL="info"), text=True,
                         errors="replace")
    lines = []
    marker_at = [None]

    def pump():
        for line in p.stdout:
            lines.append(line)
            if marker_at[0] is None and MARKER.search(line):
                marker_at[0] = time.monotonic() - start
            sys.stdout.write(line)
            sys.stdout.flush()

    th = threading.Thread(target=pump, daemon=True)
    th.start()
    try:
        rc = p.wait(timeout=280)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return "the launcher did not exit within 280 s"
    th.join(5)
    text = "".join(lines)
    total = time.monotonic() - start
    m = MARKER.search(text)
    if case == "boot-dev":
        if not m:
            return "no boot marker on the console (launcher exit %d)" % rc
        if m.group(1) != "/dev/mapper/root":
            return "the root is %s, not the dm-verity device /dev/mapper/root" % m.group(1)
        if rc != 0:
            return "the launcher exited %d after the marker" % rc
        print("PASS: marker %.1f s after the launcher started, launcher exit 0 after %.1f s"
              % (marker_at[0], total))
        return 0
    # verity-corrupt
    if m:
        return "the guest reached the marker with a corrupted root partition"
    if rc == 0:
        return "the launcher exited 0 with a corrupted root partition"
    if not re.search(r"verity", text, re.I) or not re.search(r"corrupt", text, re.I):
        return "the guest failed (launcher exit %d) but the console shows no verity corruption" % rc
    print("PASS: no marker, verity corruption reported, launcher exit %d after %.1f s" % (rc, total))
    return 0


if __name__ == "__main__":
    main()
