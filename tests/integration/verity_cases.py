#!/usr/bin/env python3
"""cocoon-verity against the real veritysetup: one case per invocation.

usage: verity_cases.py COCOON_VERITY CASE   (CASE 'list' prints the names)

Compatibility cases make a data file, run `veritysetup format` and
`cocoon-verity format` with the same parameters (salt and UUID given), and
require the same root hash and the same hash file byte for byte; then each
tool verifies the other's output (`veritysetup verify`, `cocoon-verity
verify`). Refusal cases check the exit status, a message that names the file,
and that no file changed and no temporary file was left behind.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

TOOL = None
CASES = {}
UUID = "0b3f0e1c-5c7a-4d2e-9f4b-1a2b3c4d5e6f"
COCOON_SALT = "00010203040506070809101a1b1c1d1e1f"


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def veritysetup():
    for d in ("/usr/sbin", "/sbin", "/usr/bin"):
        p = os.path.join(d, "veritysetup")
        if os.access(p, os.X_OK):
            return p
    raise AssertionError("veritysetup is missing: scripts/install-deps.sh test (cryptsetup-bin)")


def run(*args, check=None):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)
    if check is not None and p.returncode != check:
        raise AssertionError("%s: exit %d, expected %d\nstdout: %s\nstderr: %s" % (
            " ".join(map(str, args)), p.returncode, check, p.stdout, p.stderr))
    return p


def data_file(d, blocks, bs=4096, name="data", extra=0):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(os.urandom(blocks * bs + extra))
    return path


def formatted(d, blocks):
    """DATA of random blocks and its HASH by cocoon-verity: (data, hash, root hash)"""
    data = data_file(d, blocks)
    h = os.path.join(d, "hash")
    return data, h, root_of(run(TOOL, "format", data, h, check=0).stdout)


def flip(path, off, bit=0x01):
    with open(path, "r+b") as f:
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ bit]))


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def root_of(out):
    for line in out.splitlines():
        if line.startswith("Root hash:"):
            return line.split()[-1]
    raise AssertionError("no 'Root hash:' line in:\n" + out)


def vs_args(salt, dbs, hbs, hash_name, fmt, data_blocks):
    a = ["--salt", salt, "--uuid", UUID, "--data-block-size", dbs, "--hash-block-size", hbs,
         "--hash", hash_name, "--format", fmt]
    if data_blocks:
        a += ["--data-blocks", data_blocks]
    return a


def compare(blocks, dbs=4096, hbs=4096, hash_name="sha256", fmt=1, salt=COCOON_SALT,
            threads=None, data_blocks=None, extra=0):
    """both tools on the same data: same root hash, same bytes, each verifies the other's"""
    with tempfile.TemporaryDirectory(prefix="verity.") as d:
        data = data_file(d, blocks, dbs, extra=extra)
        ours, theirs = os.path.join(d, "ours"), os.path.join(d, "theirs")
        args = vs_args(salt, dbs, hbs, hash_name, fmt, data_blocks)
        j = ["--threads", threads] if threads else []
        p = run(TOOL, "format", *args, *j, data, ours, check=0)
        a = root_of(p.stdout)
        vsalt = "-" if salt == "-" else salt
        p = run(veritysetup(), "format", *vs_args(vsalt, dbs, hbs, hash_name, fmt, data_blocks),
                data, theirs, check=0)
        b = root_of(p.stdout)
        print(f"root hash: cocoon-verity {a}, veritysetup {b}")
        if a != b:
            raise AssertionError("the root hashes differ")
        if sha(ours) != sha(theirs):
            raise AssertionError("the hash files differ: %d / %d bytes" % (
                os.path.getsize(ours), os.path.getsize(theirs)))
        print(f"hash files identical: {os.path.getsize(ours)} bytes, sha256 {sha(ours)}")
        run(veritysetup(), "verify", data, ours, a, check=0)
        run(TOOL, "verify", *j, data, theirs, b, check=0)
        print("veritysetup verify (ours) and cocoon-verity verify (theirs): ok")
        return a


@case
def one_block():
    compare(1)  # no tree: the root hash is the block's hash


@case
def blocks_127():
    compare(127)


@case
def blocks_128():
    compare(128)  # exactly one full hash block at level 0


@case
def blocks_129():
    compare(129)  # a second level


@case
def three_levels_threads():
    compare(16385, threads=3)  # 129 level-0 hash blocks in 9 chunks across 3 threads


@case
def sha1_padded_digests():
    compare(300, hash_name="sha1")  # 20-byte digests in 32-byte slots


@case
def sha512():
    compare(300, hash_name="sha512")


@case
def format0_chromeos():
    compare(300, fmt=0)  # salt after the block


@case
def small_data_blocks():
    compare(3000, dbs=512)


@case
def small_hash_blocks():
    compare(3000, hbs=1024)


@case
def no_salt():
    compare(200, salt="-")


@case
def long_salt():
    compare(200, salt=os.urandom(256).hex())


@case
def data_blocks_prefix():
    compare(100, data_blocks=64, extra=1234)  # only the first 64 blocks; the rest ignored


@case
def threads_agree():
    with tempfile.TemporaryDirectory(prefix="verity.") as d:
        data = data_file(d, 40000)
        sums = set()
        for t in (1, 2, 5, 16):
            h = os.path.join(d, f"h{t}")
            run(TOOL, "format", "--salt", COCOON_SALT, "--uuid", UUID, "--threads", t, data, h,
                check=0)
            sums.add(sha(h))
            print(f"--threads {t}: {sha(h)}")
        if len(sums) != 1:
            raise AssertionError("the tree depends on the number of threads")


@case
def default_salt_random():
    with tempfile.TemporaryDirectory(prefix="verity.") as d:
        data = data_file(d, 50)
        roots = []
        for n in ("a", "b"):
            p = run(TOOL, "--json", "format", data, os.path.join(d, n), check=0)
            j = json.loads(p.stdout)
            if len(j["salt"]) != 64 or not j["uuid"]:
                raise AssertionError("expected a 32-byte random salt and a UUID: %s" % j)
            dump = json.loads(run(TOOL, "--json", "dump", os.path.join(d, n), check=0).stdout)
            if dump["salt"] != j["salt"] or dump["uuid"] != j["uuid"]:
                raise AssertionError("dump disagrees with format: %s / %s" % (dump, j))
            run(veritysetup(), "verify", data, os.path.join(d, n), j["root_hash"], check=0)
            roots.append(j["root_hash"])
        if roots[0] == roots[1]:
            raise AssertionError("two random salts gave the same root hash")
        print("two formats, two salts, two root hashes; veritysetup verified both")


def refused(args, code, must_name, d, keep):
    """runs, expects the exit code and the name in the message; nothing in d changed"""
    before = {f: sha(os.path.join(d, f)) for f in os.listdir(d)}
    p = run(TOOL, *args)
    print(f"exit {p.returncode}: {p.stderr.strip()}")
    if p.returncode != code:
        raise AssertionError(f"exit {p.returncode}, expected {code}")
    if must_name not in p.stderr:
        raise AssertionError(f"the message does not name {must_name!r}")
    after = {f: sha(os.path.join(d, f)) for f in os.listdir(d)}
    for f in keep:
        if before.get(f) != after.get(f):
            raise AssertionError(f"{f} changed")
    if set(after) != set(before):
        raise AssertionError("files appeared or vanished: %s" % (set(after) ^ set(before)))


@case
def hash_exists_refused():
    with tempfile.TemporaryDirectory(prefix="verity.") as d:
        data = data_file(d, 10)
        h = os.path.join(d, "hash")
        with open(h, "wb") as f:
            f.write(b"precious")
        refused(["format", data, h], 1, h, d, ["data", "hash"])


@case
def hash_is_data_refused():
    with tempfile.TemporaryDirectory(prefix="verity.") as d:
        data = data_file(d, 10)
        os.link(data, os.path.join(d, "alias"))
        refused(["format", "--force", data, os.path.join(d, "alias")], 1, "alias", d,
                ["data", "alias"])


@case
def partial_block_refused():
    with tempfile.TemporaryDirectory(prefix="verity.") as d:
        data = data_file(d, 10, extra=100)
        refused(["format", data, os.path.join(d, "hash")], 1, data, d, ["data"])


@case
def data_blocks_too_many_refused():
    with tempfile.TemporaryDirectory(prefix="verity.") as d:
        data = data_file(d, 10)
        h = os.path.join(d, "hash")
        run(TOOL, "format", data, h, check=0)
        # --force with bad input: the old HASH stays as it was
        refused(["format", "--force", "--data-blocks", "11", data, h], 1, data, d,
                ["data", "hash"])


@case
def bad_parameters_refused():
    with tempfile.TemporaryDirectory(prefix="verity.") as d:
        data = data_file(d, 10)
        h = os.path.join(d, "hash")
        refused(["format", "--hash", "nosuchhash", data, h], 1, "nosuchhash", d, ["data"])
        refused(["format", "--salt", "abc", data, h], 1, "--salt", d, ["data"])
        refused(["format", "--uuid", "not-a-uuid", data, h], 1, "--uuid", d, ["data"])
        refused(["format", "--data-block-size", "3000", data, h], 1, "3000", d, ["data"])
        refused(["format", "--threads", "0", data, h], 2, "--threads", d, ["data"])
        refused(["format", data], 2, "format", d, ["data"])


@case
def block_device_hash():
    """HASH a block device (a loop device): only with --force, written in place"""
    with tempfile.TemporaryDirectory(prefix="verity.") as d:
        data = data_file(d, 500)
        img = os.path.join(d, "dev.img")
        with open(img, "wb") as f:
            f.truncate(1 << 20)
        p = run("losetup", "--find", "--show", img)
        if p.returncode != 0:
            raise AssertionError("FAIL: no loop device (this case needs root): " + p.stderr)
        dev = p.stdout.strip()
        try:
            refused(["format", data, dev], 1, dev, d, ["data", "dev.img"])
            root = root_of(run(TOOL, "format", "--force", data, dev, check=0).stdout)
            run(veritysetup(), "verify", data, dev, root, check=0)
            run(TOOL, "verify", data, dev, root, check=0)
            print(f"{dev}: written with --force, verified by veritysetup and cocoon-verity")
        finally:
            run("losetup", "-d", dev)


@case
def data_not_a_file_refused():
    with tempfile.TemporaryDirectory(prefix="verity.") as d:
        out = os.path.join(d, "out")  # the directory watched for changes
        os.mkdir(out)
        os.mkdir(os.path.join(d, "dir"))
        refused(["format", os.path.join(d, "dir"), os.path.join(out, "hash")], 1, "dir", out, [])


@case
def fifo_refused():
    """a FIFO as DATA or HASH: refused at once, not waited on for a writer"""
    with tempfile.TemporaryDirectory(prefix="verity.") as d:
        out = os.path.join(d, "out")  # the directory watched for changes
        os.mkdir(out)
        data = data_file(out, 10)
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        for args in (["format", fifo, os.path.join(out, "hash")],
                     ["verify", data, fifo, "00" * 32], ["dump", fifo]):
            try:
                refused(args, 1, "fifo", out, ["data"])
            except subprocess.TimeoutExpired:
                raise AssertionError(f"{args[0]} waited on the FIFO")


@case
def missing_data():
    with tempfile.TemporaryDirectory(prefix="verity.") as d:
        refused(["format", os.path.join(d, "nothere"), os.path.join(d, "hash")], 3, "nothere",
                d, [])


@case
def verify_flipped_data_byte():
    with tempfile.TemporaryDirectory(prefix="verity.") as d:
        data, h, root = formatted(d, 1000)
        flip(data, 777 * 4096 + 5, 0x40)
        refused(["verify", data, h, root], 1, "data block 777", d, ["data", "hash"])
        # the kernel's answer agrees: veritysetup refuses the same data
        if run(veritysetup(), "verify", data, h, root).returncode == 0:
            raise AssertionError("veritysetup verified the changed data")


@case
def verify_flipped_tree_byte():
    with tempfile.TemporaryDirectory(prefix="verity.") as d:
        data, h, root = formatted(d, 1000)
        flip(h, 4096 * 2 + 32 * 3)  # superblock, top block, then level 0: block 3's digest
        refused(["verify", data, h, root], 1, "data block 3", d, ["data", "hash"])


@case
def verify_wrong_root_hash():
    with tempfile.TemporaryDirectory(prefix="verity.") as d:
        data, h, root = formatted(d, 300)
        wrong = ("0" if root[0] != "0" else "1") + root[1:]
        refused(["verify", data, h, wrong], 1, "root hash is not", d, ["data", "hash"])
        refused(["verify", data, h, root[:10]], 1, "ROOT_HASH", d, ["data", "hash"])


@case
def verify_garbage_hash_file():
    with tempfile.TemporaryDirectory(prefix="verity.") as d:
        data = data_file(d, 30)
        h = os.path.join(d, "hash")
        with open(h, "wb") as f:
            f.write(os.urandom(8192))
        refused(["verify", data, h, "00" * 32], 1, "no verity superblock", d, ["data", "hash"])
        refused(["dump", h], 1, "no verity superblock", d, ["hash"])


@case
def verify_truncated_tree():
    with tempfile.TemporaryDirectory(prefix="verity.") as d:
        data, h, root = formatted(d, 1000)
        os.truncate(h, 4096 * 3)
        refused(["verify", data, h, root], 1, "hash file ends", d, ["data", "hash"])


@case
def verify_short_data():
    with tempfile.TemporaryDirectory(prefix="verity.") as d:
        data, h, root = formatted(d, 1000)
        os.truncate(data, 999 * 4096)
        refused(["verify", data, h, root], 1, data, d, ["data", "hash"])


def main():
    global TOOL
    if len(sys.argv) == 2 and sys.argv[1] == "list":
        print("\n".join(CASES))
        return 0
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        print(__doc__, file=sys.stderr)
        return 2
    TOOL = os.path.abspath(sys.argv[1])
    try:
        CASES[sys.argv[2]]()
    except AssertionError as e:
        print(f"FAIL: {e}")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
