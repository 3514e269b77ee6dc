#!/usr/bin/env python3
"""Two builds of the dev image from the same inputs give the same root hash.

The root hash, and every file cocoon-launch reads (the kernel, the initrd, the
whole disk image), must be identical; the test names what differs.

usage: image_repro.py

The first build is the cached one the e2e cases use
(~/.cache/cocoon-test/image-dev, built now if missing or out of date); the
second is `image/build.sh --force --profile dev` into a fresh directory.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e  # noqa: E402  (build_image, ROOT)


def roothash(d):
    for w in open(os.path.join(d, "cmdline")).read().split():
        if w.startswith("roothash="):
            return w[len("roothash="):]
    sys.exit(f"no roothash= in {d}/cmdline")


def main():
    if not shutil.which("mkosi"):
        sys.exit("mkosi is missing: run scripts/install-deps.sh image")
    first = e2e.build_image()
    t = tempfile.mkdtemp(prefix="repro.", dir="/var/tmp")
    try:
        start = time.monotonic()
        env = dict(os.environ, PATH=os.environ["PATH"] + ":/usr/sbin:/sbin")
        r = subprocess.run([os.path.join(e2e.ROOT, "image", "build.sh"), "--force", "--profile",
                            "dev", t], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        sys.stdout.write(r.stdout[-1500:])
        if r.returncode != 0:
            sys.exit(f"the second build failed (exit {r.returncode})")
        print(f"image_repro: second build took {time.monotonic() - start:.0f} s")
        a, b = roothash(first), roothash(t)
        print(f"image_repro: root hash, cached build: {a}")
        print(f"image_repro: root hash, second build: {b}")
        bad = []
        if a != b:
            bad.append("root hash")
        for f in ("vmlinuz", "initrd.img", "rootfs.img", "cmdline"):
            x, y = e2e.sha256_file(os.path.join(first, f)), e2e.sha256_file(os.path.join(t, f))
            print(f"image_repro: {f}: {x} / {y}")
            if x != y:
                bad.append(f)
        pa = open(os.path.join(first, "packages.txt")).read()
        pb = open(os.path.join(t, "packages.txt")).read()
        if pa != pb:
            print("image_repro: the package lists differ (the mirror moved between the builds)")
        if bad:
            sys.exit("image_repro: differ: " + ", ".join(bad))
        print("image_repro: identical")
    finally:
        shutil.rmtree(t, ignore_errors=True)


if __name__ == "__main__":
    main()
