#!/usr/bin/env python3
"""The firmware check and OUTDIR/measurements.json of image/build.sh.

Usage: measurements.py tdvf OVMF.fd
           exit 1 unless the firmware's footer GUID table has the TDX metadata
           offset entry and it points at a "TDVF" descriptor
       measurements.py write OUTDIR PROFILE [PACKAGE=VERSION...]
           prints measurements.json for the files build.sh wrote to OUTDIR
           (docs/image.md, "Measurements", describes every field)
"""
import hashlib
import json
import os
import re
import struct
import sys
import uuid

# OVMF's reset-vector footer: a table of (data, u16 length, GUID) entries read
# backwards from the table's own GUID, which ends 32 bytes before the end of the
# image (edk2 OvmfPkg/ResetVector, "OVMF GUIDed structure table")
TABLE_GUID = uuid.UUID("96b582de-1fb2-45f7-baea-a366c55a082d").bytes_le
TDX_METADATA_GUID = uuid.UUID("e47a6535-984a-4798-865e-4685a7bf8ec2").bytes_le
FORMAT = "cocoon-measurements/1"


def tdvf(path):
    d = open(path, "rb").read()
    end = len(d) - 32
    if len(d) < 64 or d[end - 16:end] != TABLE_GUID:
        return f"{path}: no OVMF GUIDed structure table at the end (not an OVMF image?)"
    (total,) = struct.unpack("<H", d[end - 18:end - 16])
    start = end - total
    if total < 18 or start < 0:
        return f"{path}: the GUIDed structure table claims {total} bytes"
    pos = end - 18
    while pos - 18 >= start:
        guid = d[pos - 16:pos]
        (length,) = struct.unpack("<H", d[pos - 18:pos - 16])
        if length < 18 or pos - length < start:
            break
        if guid == TDX_METADATA_GUID:
            (off,) = struct.unpack("<I", d[pos - 22:pos - 18])
            at = len(d) - off
            if off > len(d) or d[at:at + 4] != b"TDVF":
                return f"{path}: the TDX metadata entry points at no TDVF descriptor"
            sig, size, version, sections = struct.unpack("<4sIII", d[at:at + 16])
            print(f"measurements.py: {path}: TDVF descriptor version {version}, "
                  f"{sections} sections, at offset {at}")
            return None
        pos -= length
    return (f"{path}: no TDX metadata in the footer table: this OVMF has no TDX support "
            "(image/ovmf.pin must name one that has)")


def digest(path):
    h = hashlib.sha384()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def entry(out, name, **extra):
    p = os.path.join(out, name)
    return dict(file=name, size=os.path.getsize(p), sha384=digest(p), **extra)


def write(out, profile, pinned):
    versions = dict(p.split("=", 1) for p in pinned)
    # the package that ships vmlinuz: linux-binary-* where Debian splits the kernel
    # (7.x), else linux-image-*
    kernel_pkg = next((p for p in versions if p.startswith("linux-binary-")),
                      next((p for p in versions if p.startswith("linux-image-")), None))
    text = open(os.path.join(out, "cmdline")).read().rstrip("\n")
    m = re.search(r"(?:^| )roothash=([0-9a-f]{64})(?: |$)", text)
    if not m:
        sys.exit(f"measurements.py: {out}/cmdline has no roothash=")
    doc = {
        "format": FORMAT,
        "profile": profile,
        "firmware": entry(out, "OVMF.fd", package="ovmf", version=versions.get("ovmf")),
        "kernel": entry(out, "vmlinuz", package=kernel_pkg,
                        version=versions.get(kernel_pkg)),
        "initrd": entry(out, "initrd.img"),
        "cmdline": {
            "file": "cmdline",
            "text": text,
            "sha384": hashlib.sha384(text.encode()).hexdigest(),
            "sha384_nul": hashlib.sha384(text.encode() + b"\0").hexdigest(),
        },
        "root": {"file": "rootfs.img", "roothash": m.group(1), "verity_hash": "sha256"},
    }
    json.dump(doc, sys.stdout, indent=2)
    sys.stdout.write("\n")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "tdvf":
        err = tdvf(sys.argv[2])
        if err:
            sys.exit("measurements.py: " + err)
    elif len(sys.argv) >= 4 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
