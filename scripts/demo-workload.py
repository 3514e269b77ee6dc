#!/usr/bin/env python3
"""Builds the demo workload: the static HTTP service examples/demo-hello/hello.c
as a one-layer OCI image archive, and the demo spec with its digest.

usage: demo-workload.py OUTDIR [--egress RULE]... [--compose-extra TEXT]

Writes OUTDIR/data/images/<digest>.tar (the archive cocoon-workload verifies
and loads from the data share) and OUTDIR/spec/docker-compose.yml, made from
examples/demo-spec/docker-compose.yml with the image digest filled in (and the
given x-cocoon.egress rules, for make e2e). Prints the digest. The archive is
reproducible: the same compiler gives the same digest.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from ocitar import layer_tar, oci_archive  # noqa: E402

PLACEHOLDER = "sha256:" + "0" * 64


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--egress", action="append", default=[],
                    help="an x-cocoon.egress entry in flow style, e.g. "
                         "'{cidr: 10.0.2.2/32, ports: [8000]}'")
    a = ap.parse_args()
    src = os.path.join(ROOT, "examples", "demo-hello", "hello.c")
    with tempfile.TemporaryDirectory() as t:
        exe = os.path.join(t, "hello")
        subprocess.run(["cc", "-static", "-Os", "-s", "-o", exe, src], check=True)
        binary = open(exe, "rb").read()
    layer = layer_tar([("hello", binary, 0o755), ("state/", None, 0o755)])
    tar, digest, _ = oci_archive(layer, ["/hello", "--listen", ":8080"])
    images = os.path.join(a.outdir, "data", "images")
    os.makedirs(images, exist_ok=True)
    with open(os.path.join(images, digest[7:] + ".tar"), "wb") as f:
        f.write(tar)
    compose = open(os.path.join(ROOT, "examples", "demo-spec", "docker-compose.yml")).read()
    if PLACEHOLDER not in compose:
        sys.exit("demo-workload.py: examples/demo-spec/docker-compose.yml has no placeholder "
                 "digest " + PLACEHOLDER)
    compose = compose.replace(PLACEHOLDER, digest)
    if a.egress:
        rules = "\n".join("    - " + r for r in a.egress)
        compose, n = re.subn(r"^  egress: \[\]$", "  egress:\n" + rules, compose, flags=re.M)
        if n != 1:
            sys.exit("demo-workload.py: no 'egress: []' line in the demo spec")
    spec = os.path.join(a.outdir, "spec")
    os.makedirs(spec, exist_ok=True)
    with open(os.path.join(spec, "docker-compose.yml"), "w") as f:
        f.write(compose)
    print(digest)


if __name__ == "__main__":
    main()
