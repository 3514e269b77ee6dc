#!/usr/bin/env python3
"""cocoon-disk on loop devices: one case per invocation.

usage: disk_cases.py COCOON_DISK CASE   (CASE 'list' prints the names)

Each case makes an image file in a temporary directory, attaches it to a loop
device (losetup; this needs root), and runs the real cocoon-disk on the loop
device. Disks in other formats are made with the real tools (cryptsetup,
mkfs.ext4). Every refusal is checked three ways: exit status 1, a message that
names the device, and the image file's SHA-256 unchanged.

If loop devices cannot be used the case FAILS and says why: these tests are
the evidence that a disk is never reformatted, and must not vanish quietly.
The one case that needs device-mapper (the round trip through
/dev/mapper/NAME) reports SKIP (exit 77) with its reason when the kernel has
no device-mapper, as on the build machines.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile"))
import hostilerows  # noqa: E402

DISK = None
CURRENT = ""
CASES = {}
LOOPS = []
SIZE = 64 << 20
SKIP = 77


def have_dm():
    # /dev/mapper/control alone proves nothing: libdevmapper creates it itself
    with open("/proc/misc") as f:
        return any(line.split()[1:] == ["device-mapper"] for line in f)


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def run(*args, check=None, stdin=None):
    p = subprocess.run(list(args), capture_output=True, text=True, input=stdin)
    if check is not None and p.returncode != check:
        raise AssertionError("%s: exit %d, expected %d\nstdout: %s\nstderr: %s" % (
            " ".join(args), p.returncode, check, p.stdout, p.stderr))
    return p


def image(d, name="disk.img", size=SIZE):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def loop(img):
    if os.geteuid() != 0:
        raise AssertionError("FAIL: loop devices need root; run the disk tests as root")
    p = run("losetup", "--find", "--show", img)
    if p.returncode != 0:
        raise AssertionError("FAIL: cannot attach '%s' to a loop device (losetup: %s). The disk "
                             "tests need loop devices (/dev/loop-control, CONFIG_BLK_DEV_LOOP)."
                             % (img, p.stderr.strip()))
    dev = p.stdout.strip()
    LOOPS.append(dev)
    return dev


def key(d, name, data=None):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(data if data is not None else os.urandom(32))
    os.chmod(path, 0o400)
    return path


def sha(img):
    os.sync()
    h = hashlib.sha256()
    with open(img, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def disk(*args, check=None):
    return run(DISK, *args, check=check)


def refused_untouched(img, dev, *args, words=()):
    before = sha(img)
    p = disk("open", dev, *args, check=1)
    if dev not in p.stderr:
        raise AssertionError("message does not name %s: %s" % (dev, p.stderr))
    for w in words:
        if w not in p.stderr:
            raise AssertionError("message lacks %r: %s" % (w, p.stderr))
    if sha(img) != before:
        raise AssertionError("the image changed although the disk was refused")
    hostilerows.row("disk: " + CURRENT.replace("_", " "), "lib/luks (cocoon-disk open)",
                    "image sha256 %s.. before = after, nothing activated" % before[:12])
    return p


@case
def blank_format_reopen(d):
    img, k = image(d), key(d, "k")
    dev = loop(img)
    p = disk("--json", "open", dev, "-k", k, check=0)
    out = json.loads(p.stdout)
    assert out["ok"] and out["done"] == "formatted", out
    out = json.loads(disk("--json", "probe", dev, check=0).stdout)
    assert out["kind"] == "luks2", out
    # the real cryptsetup agrees: LUKS2, aes-xts-plain64, pbkdf2, and our key opens it
    run("cryptsetup", "open", "--test-passphrase", "--key-file", k, dev, check=0)
    dump = run("cryptsetup", "luksDump", dev, check=0).stdout
    for w in ("Version:       \t2", "aes-xts-plain64", "pbkdf2", "cocoon-persist"):
        assert w in dump, (w, dump)
    before = sha(img)
    out = json.loads(disk("--json", "open", dev, "-k", k, check=0).stdout)
    assert out["done"] == "opened", out
    assert sha(img) == before, "reopening with the same key wrote to the disk"


@case
def wrong_key_refused(d):
    img, k, other = image(d), key(d, "k"), key(d, "other")
    dev = loop(img)
    disk("open", dev, "-k", k, check=0)
    refused_untouched(img, dev, "-k", other, words=("does not open", "untouched"))


@case
def luks2_other_key_refused(d):
    img, k, theirs = image(d), key(d, "k"), key(d, "theirs")
    dev = loop(img)
    run("cryptsetup", "luksFormat", "-q", "--type", "luks2", "--pbkdf", "pbkdf2",
        "--pbkdf-force-iterations", "1000", "--key-file", theirs, dev, check=0)
    refused_untouched(img, dev, "-k", k, words=("does not open",))


@case
def luks1_other_key_refused(d):
    img, k, theirs = image(d), key(d, "k"), key(d, "theirs")
    dev = loop(img)
    run("cryptsetup", "luksFormat", "-q", "--type", "luks1", "--pbkdf-force-iterations", "1000",
        "--key-file", theirs, dev, check=0)
    refused_untouched(img, dev, "-k", k, words=("LUKS1",))


@case
def luks1_same_key_refused(d):
    img, k = image(d), key(d, "k")
    dev = loop(img)
    run("cryptsetup", "luksFormat", "-q", "--type", "luks1", "--pbkdf-force-iterations", "1000",
        "--key-file", k, dev, check=0)
    refused_untouched(img, dev, "-k", k, words=("LUKS1",))


@case
def luks2_cipher_null_refused(d):
    # a header the host made with a null data cipher: plaintext on disk
    if not have_dm():
        print("SKIP: cryptsetup needs device-mapper to make a cipher_null disk and this kernel "
              "has none (not in /proc/misc); the refusal was NOT run here")
        return SKIP
    img, k = image(d), key(d, "k")
    dev = loop(img)
    run("cryptsetup", "luksFormat", "-q", "--type", "luks2", "--cipher", "cipher_null-ecb",
        "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--key-file", k, dev, check=0)
    refused_untouched(img, dev, "-k", k, words=("cipher",))


@case
def luks2_header_edit_refused(d):
    """The host edits one copy of the header cocoon-disk wrote (a byte of the
    primary's JSON, then on a second disk of the secondary's): libcryptsetup
    would rewrite that copy from the other on load; cocoon-disk refuses first,
    the image is untouched. The real cryptsetup still opens the disk with the
    key once the byte is put back: nothing else changed."""
    for name, off in (("primary", 0x1000 + 10), ("secondary", 0x4000 + 0x1000 + 10)):
        img, k = image(d, name + ".img"), key(d, "k-" + name)
        dev = loop(img)
        disk("open", dev, "-k", k, check=0)
        with open(img, "r+b") as f:
            f.seek(off)
            b = f.read(1)
            f.seek(off)
            f.write(bytes([b[0] ^ 1]))
        refused_untouched(img, dev, "-k", k, words=("the %s LUKS2 header" % name,
                                                    "checksum", "untouched"))
        with open(img, "r+b") as f:
            f.seek(off)
            f.write(b)
        run("cryptsetup", "open", "--test-passphrase", "--key-file", k, dev, check=0)


@case
def ext4_refused(d):
    img, k = image(d), key(d, "k")
    run("mkfs.ext4", "-q", "-F", img, check=0)
    dev = loop(img)
    refused_untouched(img, dev, "-k", k, words=("ext4",))


@case
def random_first_mib_refused(d):
    img, k = image(d), key(d, "k")
    with open(img, "r+b") as f:
        f.write(os.urandom(1 << 20))
    dev = loop(img)
    refused_untouched(img, dev, "-k", k, words=("neither blank nor LUKS2",))


@case
def one_byte_refused(d):
    img, k = image(d), key(d, "k")
    with open(img, "r+b") as f:
        f.seek(1000)
        f.write(b"\x01")
    dev = loop(img)
    refused_untouched(img, dev, "-k", k, words=("offset 1000",))


@case
def byte_in_last_mib_refused(d):
    img, k = image(d), key(d, "k")
    with open(img, "r+b") as f:
        f.seek(SIZE - 4096)
        f.write(b"data")
    dev = loop(img)
    refused_untouched(img, dev, "-k", k, words=("offset %d" % (SIZE - 4096),))


@case
def no_format_refuses_blank(d):
    img, k = image(d), key(d, "k")
    dev = loop(img)
    refused_untouched(img, dev, "-k", k, "--no-format", words=("blank",))


@case
def bad_key_file(d):
    img = image(d)
    dev = loop(img)
    short = key(d, "short", b"x" * 31)
    before = sha(img)
    p = disk("open", dev, "-k", short, check=3)
    assert "31 bytes" in p.stderr and short in p.stderr, p.stderr
    disk("open", dev, check=2)
    disk("open", dev, "bad/name", "-k", key(d, "k"), check=3)
    disk("frobnicate", dev, check=2)
    assert sha(img) == before


@case
def probe_kinds(d):
    blank = image(d, "blank.img")
    dev = loop(blank)
    out = json.loads(disk("--json", "probe", dev, check=0).stdout)
    assert out["kind"] == "blank" and out["size"] == SIZE, out
    ext4 = image(d, "ext4.img")
    run("mkfs.ext4", "-q", "-F", ext4, check=0)
    out = json.loads(disk("--json", "probe", loop(ext4), check=0).stdout)
    assert out["kind"] == "other" and "ext4" in out["detail"], out


@case
def roundtrip_through_mapper(d):
    if not have_dm():
        print("SKIP: this kernel has no device-mapper (not in /proc/misc), so the "
              "round trip format -> write through /dev/mapper -> close -> reopen -> read was "
              "NOT run here; run this case on a kernel with dm_crypt")
        return SKIP
    img, k, other = image(d), key(d, "k"), key(d, "other")
    dev = loop(img)
    name = "cocoon-test-%d" % os.getpid()
    data = os.urandom(1 << 20)
    disk("open", dev, name, "-k", k, check=0)
    try:
        st = json.loads(disk("--json", "status", name, check=0).stdout)
        assert st["active"] and st["type"] == "LUKS2", st
        with open("/dev/mapper/" + name, "r+b") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    finally:
        disk("close", name, check=0)
    with open(img, "rb") as f:
        assert data[:4096] not in f.read(), "plaintext found in the image"
    refused_untouched(img, dev, name, "-k", other)
    disk("open", dev, name, "-k", k, check=0)
    try:
        with open("/dev/mapper/" + name, "rb") as f:
            assert f.read(len(data)) == data, "data differs after reopening"
    finally:
        disk("close", name, check=0)
    st = json.loads(disk("--json", "status", name, check=0).stdout)
    assert not st["active"], st


def main():
    global DISK, CURRENT
    hostilerows.take(sys.argv)
    if sys.argv[-1] == "list":
        print("\n".join(CASES))
        return 0
    DISK, name = sys.argv[1], sys.argv[2]
    CURRENT = name
    # libdevmapper (under libcryptsetup) makes /dev/mapper/control even on a
    # kernel without device-mapper; remove the dead node we caused
    tidy_dm = not os.path.exists("/dev/mapper") and not have_dm()
    with tempfile.TemporaryDirectory(prefix="disk-") as d:
        try:
            rc = CASES[name](d)
        finally:
            for dev in LOOPS:
                subprocess.run(["losetup", "-d", dev], capture_output=True)
            if tidy_dm and os.path.exists("/dev/mapper/control"):
                os.unlink("/dev/mapper/control")
                os.rmdir("/dev/mapper")
    if rc == SKIP:
        return SKIP
    print("ok", name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
