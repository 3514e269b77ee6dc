#!/usr/bin/env python3
"""cocoon-init on generated guest trees, one case per run.

usage: init_cases.py [--hostile-rows FILE] COCOON_INIT SEAL_SERVER COCOON_SPEC CASE
       (CASE 'list' prints the names; with --hostile-rows, a case that is an
       attack appends its row for `make hostile` to FILE)

Each case builds a guest / in a temporary directory: /proc/cmdline, the spec
share at /mnt/spec (a spec prepared by the real cocoon-spec), the sim platform
key, the persistent disk as an image file at /dev/disk/by-id/virtio-persistent,
and stand-in scripts for mount, systemctl and nvidia-smi that only log their
arguments. The GPU gate opens the fake NVML library of the unit tests
(tests/unit/fake_nvml.c, $FAKE_NVML) in place of libnvidia-ml.so.1: the
H200's recorded answers ($GPU_FIXTURES) or evidence signed with a P-384
chain made here by the openssl program. A real seal-server (sim backend) answers
on a unix socket. cocoon-init runs with --root on the tree and the sim TEE;
its boot state, event log, sim RTMR file, keys and the disk image are checked
afterwards. There is no device-mapper here, so the disk is checked with
--disk-check-only (the key opens it, or a blank one is formatted; nothing is
activated or mounted); failures are checked by the image's SHA-256.
"""
import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile"))
import hostilerows  # noqa: E402

INIT = SEAL_SERVER = COCOON_SPEC = None
CASES = {}
DISK_SIZE = 40 << 20

COMPOSE = """services:
  web:
    image: registry-1.docker.io/library/nginx@sha256:%s
    restart: always
x-cocoon:
  engine: docker
  registries: [registry-1.docker.io]
  egress:
    - cidr: 10.0.2.2/32
      ports: [11001]
      proto: tcp
"""
ALLOWED_RULE = "ip daddr 10.0.2.2/32 tcp dport { 11001 } accept"


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def sha256_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


class SealServer:
    def __init__(self, d):
        self.sock = os.path.join(d, "seal.sock")
        self.pk = os.path.join(d, "platform.key")
        self.log = open(os.path.join(d, "seal-server.log"), "w+")
        self.p = subprocess.Popen(
            [SEAL_SERVER, "--listen", "unix:" + self.sock, "--secret-file",
             os.path.join(d, "seal-state", "seal-sim.key"), "--write-platform-key", self.pk],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise AssertionError("seal-server exited:\n" + self.text())
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(self.sock)
                s.close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("seal-server did not listen:\n" + self.text())

    def text(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            self.p.wait(20)


STANDIN = """#!/bin/sh
echo "$(basename "$0") $*" >> "%s"
exit 0
"""

UNIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "guest",
                    "cocoon-init", "cocoon-workload.service")

# systemctl: logs its arguments; `start cocoon-workload.service` runs the
# guest's /usr/bin/cocoon-workload (a fake) in the background with the
# shipped unit's ExecStart arguments and environment file, as systemd would;
# `is-active` answers from whether and how it exited.
SYSTEMCTL_STANDIN = """#!/bin/sh
echo "systemctl $*" >> "%(calls)s"
case "$1 $2" in
"start cocoon-workload.service")
  rm -f "%(rc)s"
  setsid sh -c '. "%(root)s/run/cocoon/workload.env"; export COCOON_WORKLOAD_SOCKET; %(exec)s; echo $? > "%(rc)s"' </dev/null >/dev/null 2>&1 &
  ;;
"is-active cocoon-workload.service")
  [ -e "%(rc)s" ] || { echo active; exit 0; }
  if [ "$(cat "%(rc)s")" = 0 ]; then echo inactive; else echo failed; fi
  exit 3 ;;
esac
exit 0
"""

# the fake cocoon-workload: logs its arguments, then per mode
WORKLOAD_FAKE = """#!/bin/sh
echo "cocoon-workload $*" >> "%(calls)s"
case "%(mode)s" in
ok)    sleep 0.3; printf '%%s' '{"version":1,"services":[{"name":"web","state":"running","error":""}]}' > "%(root)s/run/cocoon/workload-state.json.tmp"
       mv "%(root)s/run/cocoon/workload-state.json.tmp" "%(root)s/run/cocoon/workload-state.json"; sleep 3 ;;
fail)  echo "cocoon-workload: image registry-1.docker.io/library/nginx: digest mismatch" >&2; exit 1 ;;
stuck) printf '%%s' '{"version":1,"services":[{"name":"web","state":"restarting","error":"exit 1"}]}' > "%(root)s/run/cocoon/workload-state.json"; sleep 5 ;;
esac
"""


def unit_exec():
    """The shipped unit's ExecStart, for sh, with its ${VAR} kept as a variable."""
    with open(UNIT) as f:
        for line in f:
            if line.startswith("ExecStart="):
                return line[len("ExecStart="):].strip().replace("${COCOON_WORKLOAD_SOCKET}",
                                                                '"$COCOON_WORKLOAD_SOCKET"')
    raise AssertionError("no ExecStart in " + UNIT)


# nft -f FILE: keeps a copy of the ruleset it was given
NFT_STANDIN = """#!/bin/sh
echo "nft $*" >> "%s"
[ "$1" = "-f" ] && cat "$2" >> "%s"
exit 0
"""


class Guest:
    """A generated guest tree."""

    def __init__(self, d, name, seal, spec_files=None, words="cocoon.tee=sim cocoon.debug=1",
                 disk=None, seal_addr=None, workload="ok", sim_key="run"):
        self.d = d
        self.root = os.path.join(d, name)
        self.calls = os.path.join(d, name + "-calls.log")
        r = self.root
        for sub in ("proc", "mnt", "run/cocoon", "dev/disk/by-id", "bin", "var/log"):
            os.makedirs(os.path.join(r, sub), exist_ok=True)
        addr = seal_addr or "unix:" + seal.sock
        with open(os.path.join(r, "proc/cmdline"), "w") as f:
            f.write("console=ttyS0 root=/dev/vda ro %s cocoon.seal=%s\n" % (words, addr))
        # the spec as the host shares it: prepared by cocoon-spec
        src = os.path.join(d, name + "-src")
        os.makedirs(src)
        files = spec_files if spec_files is not None else {"docker-compose.yml": COMPOSE % ("a" * 64)}
        for p, content in files.items():
            os.makedirs(os.path.dirname(os.path.join(src, p)) or src, exist_ok=True)
            with open(os.path.join(src, p), "w") as f:
                f.write(content)
        out = subprocess.run([COCOON_SPEC, "prepare", src, os.path.join(r, "mnt/spec")],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        self.spec_hash = out.stdout.strip().split()[-1]
        # the sim platform key: in /run/cocoon already (as a test initramfs
        # has it), or as cocoon-launch --dev hands it in, by fw_cfg
        self.fw_cfg_key = os.path.join(r, "sys/firmware/qemu_fw_cfg/by_name/opt/cocoon/sim-platform-key/raw")
        if sim_key == "run":
            shutil.copy(seal.pk, os.path.join(r, "run/cocoon/sim-platform-key"))
        elif sim_key is not None:
            os.makedirs(os.path.dirname(self.fw_cfg_key))
            shutil.copy(seal.pk if sim_key == "fwcfg" else sim_key, self.fw_cfg_key)
        self.disk = disk or os.path.join(d, name + "-disk.img")
        if not os.path.exists(self.disk):
            with open(self.disk, "wb") as f:
                f.truncate(DISK_SIZE)
        os.symlink(self.disk, os.path.join(r, "dev/disk/by-id/virtio-persistent"))
        self.cmds = {}
        for tool in ("mount", "systemctl", "nvidia-smi", "mkfs.ext4"):
            p = os.path.join(d, name + "-" + tool)
            with open(p, "w") as f:
                f.write(STANDIN % self.calls)
            os.chmod(p, 0o755)
            self.cmds[tool] = p
        rc = os.path.join(d, name + "-workload.rc")
        execl = unit_exec().replace("/usr/bin/cocoon-workload", r + "/usr/bin/cocoon-workload", 1)
        with open(self.cmds["systemctl"], "w") as f:
            f.write(SYSTEMCTL_STANDIN % {"calls": self.calls, "rc": rc, "root": r, "exec": execl})
        os.makedirs(os.path.join(r, "usr/bin"), exist_ok=True)
        with open(os.path.join(r, "usr/bin/cocoon-workload"), "w") as f:
            f.write(WORKLOAD_FAKE % {"calls": self.calls, "root": r, "mode": workload})
        os.chmod(os.path.join(r, "usr/bin/cocoon-workload"), 0o755)
        self.nft_rules = os.path.join(d, name + "-nft-rules.txt")
        self.cmds["nft"] = os.path.join(d, name + "-nft")
        with open(self.cmds["nft"], "w") as f:
            f.write(NFT_STANDIN % (self.calls, self.nft_rules))
        os.chmod(self.cmds["nft"], 0o755)

    def run(self, *extra, check_only=True):
        args = self.run_args(*extra, check_only=check_only)
        self.result = subprocess.run(args, capture_output=True, text=True, timeout=120)
        sys.stdout.write("--- cocoon-init exited %d\n%s%s" % (
            self.result.returncode, self.result.stdout, self.result.stderr))
        return self.result

    def run_args(self, *extra, check_only=True):
        args = [INIT, "--root", self.root, "--mount-cmd", self.cmds["mount"],
                "--systemctl-cmd", self.cmds["systemctl"], "--nvidia-smi-cmd",
                self.cmds["nvidia-smi"], "--gpu-nvml", os.environ.get("FAKE_NVML", "/nonexistent"),
                "--mkfs-cmd", self.cmds["mkfs.ext4"], "--nft-cmd", self.cmds["nft"],
                "--seal-timeout-ms", "3000",
                "--cmd-timeout-ms", "10000"]
        if check_only:
            args.append("--disk-check-only")
        return args + list(extra)

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def state(self):
        with open(self.path("/run/cocoon/boot-state")) as f:
            return f.read()

    def call_log(self):
        try:
            with open(self.calls) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def ruleset(self):
        try:
            with open(self.nft_rules) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def key(self, name):
        with open(self.path("/run/cocoon/keys/" + name), "rb") as f:
            return f.read()

    def evlog(self):
        with open(self.path("/var/log/tdx-attestation.log")) as f:
            return f.read().splitlines()

    def rtmr3(self):
        with open(self.path("/run/cocoon/sim-rtmr"), "rb") as f:
            data = f.read()
        assert len(data) == 192, len(data)
        return data[144:192]

    def assert_failed(self, step, *words):
        r = self.result
        assert r.returncode == 1, r.returncode
        st = self.state()
        assert st.startswith("failed: %s: " % step), st
        assert st.count("\n") == 1 and st.endswith("\n"), repr(st)
        lines = [l for l in r.stderr.splitlines() if "FAILED" in l]
        assert len(lines) == 1 and (" %s FAILED: " % step) in lines[0], r.stderr
        for w in words:
            assert w in st, (w, st)
        # nothing after the failed step ran
        assert "ready" not in r.stderr.split("FAILED")[1], r.stderr


def replay(lines):
    rtmr = bytes(48)
    for m in lines:
        rtmr = hashlib.sha384(rtmr + hashlib.sha384(m.encode()).digest()).digest()
    return rtmr


def with_seal(fn):
    def wrapped():
        with tempfile.TemporaryDirectory(prefix="cocoon-init-") as d:
            seal = SealServer(d)
            try:
                fn(d, seal)
            finally:
                seal.stop()
    wrapped.__name__ = fn.__name__
    return wrapped


@case
@with_seal
def happy_path(d, seal):
    g = Guest(d, "g", seal)
    r = g.run()
    assert r.returncode == 0, r.returncode
    assert g.state() == "ready\n", g.state()
    for i, name in enumerate(["mounts", "spec", "gpu", "keys", "disk", "inited", "egress",
                              "engine", "workload", "ready"]):
        assert "[step %d/10] %s " % (i + 1, name) in r.stderr, name
    ev = g.evlog()
    assert ev == ["cocoon:spec.tree=" + g.spec_hash, "cocoon:cocoon_debug", "cocoon:tee=sim",
                  "cocoon:tdx_inited"], ev
    assert replay(ev) == g.rtmr3(), "the event log does not replay to the sim RTMR3"
    st = os.stat(g.path("/run/cocoon/keys/app"))
    assert stat.S_IMODE(st.st_mode) == 0o400, oct(st.st_mode)
    assert st.st_size == 32
    assert stat.S_IMODE(os.stat(g.path("/run/cocoon/keys")).st_mode) == 0o700
    # the disk key was needed by step 5 only: wiped and unlinked after it
    assert not os.path.exists(g.path("/run/cocoon/keys/disk_encryption"))
    assert "the disk key wiped from memory and /run/cocoon/keys" in r.stderr, r.stderr
    # the copy is what was hashed, and it is the share's content
    with open(g.path("/spec/docker-compose.yml")) as a, open(g.path("/mnt/spec/docker-compose.yml")) as b:
        assert a.read() == b.read()
    calls = g.call_log()
    assert "mount -t virtiofs -o ro,nosuid,nodev,noexec,nosymfollow spec %s" % g.path("/mnt/spec") in calls, calls
    assert "mount -t virtiofs -o nosuid,nodev,noexec,nosymfollow data %s" % g.path("/data") in calls, calls
    assert "mount -t tmpfs" in calls
    assert calls.index("systemctl start cocoon-authz.service") < calls.index("systemctl start docker.service"), calls
    assert "nvidia-smi" not in calls and "gpu-attest" not in calls, calls
    with open(g.path("/etc/docker/daemon.json")) as f:
        dj = f.read()
    assert "cocoon-authz" in dj and "unix:///var/run/docker.sock" in dj, dj
    assert os.path.exists(g.path("/run/systemd/system/docker.service.d/cocoon.conf"))
    # a blank disk was formatted as LUKS2
    with open(g.disk, "rb") as f:
        assert f.read(6) == b"LUKS\xba\xbe"
    assert "WARNING" in r.stderr and "sim" in r.stderr
    # step 7 applied the spec's egress firewall, before the engine started
    assert "[step 7/10] egress done" in r.stderr, r.stderr
    assert "not in this build: refusing" not in r.stderr and "lib/egress" not in r.stderr
    rules = g.ruleset()
    assert rules.count("table inet cocoon_egress {\n") == 1, rules
    assert ALLOWED_RULE in rules, rules
    for chain in ("output", "forward"):
        assert "type filter hook %s priority filter; policy drop;" % chain in rules, rules
    assert rules.count(ALLOWED_RULE) == 2, rules  # output and forward
    assert calls.index("nft -f ") < calls.index("systemctl start cocoon-authz.service"), calls
    # step 9: the unit after the engine, with the documented arguments, and
    # ready only once the state file showed the service running
    assert calls.index("systemctl start docker.service") < calls.index(
        "systemctl start cocoon-workload.service"), calls
    assert ("cocoon-workload --spec /spec --socket /var/run/docker.sock --images /data/images "
            "--work /persist/cocoon-images --state /run/cocoon/workload-state.json") in calls, calls
    with open(g.path("/run/cocoon/workload.env")) as f:
        assert f.read() == "COCOON_WORKLOAD_SOCKET=/var/run/docker.sock\n"
    assert "[step 9/10] workload done: 1 service running" in r.stderr, r.stderr
    assert "SKIPPED" not in r.stderr.replace("[step 3/10] gpu SKIPPED", ""), r.stderr


@case
@with_seal
def egress_host_unresolvable(d, seal):
    spec = (COMPOSE % ("a" * 64)).replace("    - cidr: 10.0.2.2/32", "    - host: nowhere.invalid")
    g = Guest(d, "g", seal, spec_files={"docker-compose.yml": spec})
    g.run()  # a debug boot: step 7 has no debug exception
    g.assert_failed("egress", "x-cocoon.egress", "nowhere.invalid", "does not resolve")
    calls = g.call_log()
    assert "nft" not in calls and "docker.service" not in calls, calls


@case
@with_seal
def egress_nft_refuses(d, seal):
    g = Guest(d, "g", seal)
    with open(g.cmds["nft"], "w") as f:
        f.write("#!/bin/sh\necho 'Error: Could not process rule: No such file or directory' >&2\nexit 1\n")
    g.run()
    g.assert_failed("egress", "refused the egress ruleset", "Could not process rule")
    assert "docker.service" not in g.call_log()


@case
@with_seal
def workload_fails(d, seal):
    g = Guest(d, "g", seal, workload="fail")
    g.run()
    g.assert_failed("workload", "cocoon-workload.service is failed", "journalctl -u cocoon-workload")
    assert "cocoon-workload --spec /spec" in g.call_log()


@case
@with_seal
def workload_not_running_in_time(d, seal):
    g = Guest(d, "g", seal, workload="stuck")
    g.run("--workload-wait-ms", "1500")
    g.assert_failed("workload", "did not all run within 1500 ms", "service web is restarting: exit 1")
    assert "systemctl stop cocoon-workload.service" in g.call_log(), g.call_log()


@case
@with_seal
def sim_key_from_fw_cfg(d, seal):
    g = Guest(d, "g", seal, sim_key="fwcfg")
    r = g.run()
    assert r.returncode == 0, g.state()
    p = g.path("/run/cocoon/sim-platform-key")
    with open(p, "rb") as a, open(seal.pk, "rb") as b:
        assert a.read() == b.read()
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o400, oct(os.stat(p).st_mode)
    assert "fw_cfg opt/cocoon/sim-platform-key" in r.stderr and "protects nothing" in r.stderr
    # the copy was there before the keys were fetched (step 4)
    assert r.stderr.index("fw_cfg opt/cocoon") < r.stderr.index("[step 4/10]"), r.stderr


@case
@with_seal
def sim_key_fw_cfg_wrong_size(d, seal):
    short = os.path.join(d, "short.key")
    with open(short, "wb") as f:
        f.write(b"\x01" * 16)
    g = Guest(d, "g", seal, sim_key=short)
    g.run()
    g.assert_failed("spec", "fw_cfg", "16 bytes", "sim_platform_key")
    assert not os.path.exists(g.path("/run/cocoon/sim-platform-key"))


@case
@with_seal
def sim_key_missing(d, seal):
    g = Guest(d, "g", seal, sim_key=None)
    g.run()
    g.assert_failed("spec", "sim platform key")
    assert not os.path.exists(g.path("/run/cocoon/keys/app"))


@case
@with_seal
def reboot_same_spec_same_key(d, seal):
    g1 = Guest(d, "g1", seal)
    assert g1.run().returncode == 0
    g2 = Guest(d, "g2", seal, disk=g1.disk)
    assert g2.run().returncode == 0, g2.state()
    # the same key: g2's disk key opened the disk g1's formatted
    assert g1.key("app") == g2.key("app")
    assert "[step 5/10] disk done: opened" in g2.result.stderr, g2.result.stderr


@case
@with_seal
def spec_change_changes_key(d, seal):
    g1 = Guest(d, "g1", seal)
    g2 = Guest(d, "g2", seal, spec_files={"docker-compose.yml": COMPOSE % ("b" * 64)})
    assert g1.run().returncode == 0
    assert g2.run().returncode == 0
    assert g1.spec_hash != g2.spec_hash
    assert g1.key("app") != g2.key("app")
    # (the disk keys differ too: disk_other_key_untouched)


@case
@with_seal
def disk_other_key_untouched(d, seal):
    g1 = Guest(d, "g1", seal)
    assert g1.run().returncode == 0  # formats the disk with spec A's key
    before = sha256_file(g1.disk)
    g2 = Guest(d, "g2", seal, spec_files={"docker-compose.yml": COMPOSE % ("c" * 64)},
               disk=g1.disk)
    g2.run()
    g2.assert_failed("disk", "does not open", "untouched")
    assert sha256_file(g1.disk) == before, "the disk image changed"
    assert "systemctl" not in g2.call_log()
    hostilerows.row("tampered spec: another spec.tree, so another disk key, on the same disk",
                    "cocoon-init step 5 (lib/luks: the key does not open it)",
                    "disk image sha256 %s.. before = after; no engine started" % before[:12])


@case
@with_seal
def disk_key_wiped(d, seal):
    """the disk key file is there from step 4 until step 5 is over: opened
    or refused, it is gone after; the app key stays. The disk's by-id link
    appears late (step 5 waits for it, as for udev), so that the file is
    seen while step 5 waits."""
    g = Guest(d, "g", seal)
    key = g.path("/run/cocoon/keys/disk_encryption")
    link = g.path("/dev/disk/by-id/virtio-persistent")
    os.unlink(link)
    p = subprocess.Popen(g.run_args("--disk-wait-ms", "20000"), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    while not os.path.exists(key) and time.time() < deadline and p.poll() is None:
        time.sleep(0.02)
    assert os.path.exists(key), "no disk key file while step 5 waited"
    assert os.stat(key).st_size == 32
    os.symlink(g.disk, link)
    out, errs = p.communicate(timeout=120)
    sys.stdout.write(errs)
    assert p.returncode == 0, errs
    assert not os.path.exists(key), "the disk key file is still there after step 5"
    assert os.path.exists(g.path("/run/cocoon/keys/app"))
    assert "[step 5/10] disk done: formatted (key checked only); the disk key wiped" in errs, errs
    # refused at step 5 (another spec's key): gone as well, the disk untouched
    before = sha256_file(g.disk)
    g2 = Guest(d, "g2", seal, spec_files={"docker-compose.yml": COMPOSE % ("e" * 64)},
               disk=g.disk)
    g2.run()
    g2.assert_failed("disk", "does not open")
    assert not os.path.exists(g2.path("/run/cocoon/keys/disk_encryption"))
    assert sha256_file(g.disk) == before
    hostilerows.row("disk key left on the guest's tmpfs after step 5",
                    "cocoon-init step 5 (zeros, fsync, unlink; memory wiped)",
                    "keys/disk_encryption: 32 B while step 5 waited, absent after it "
                    "(opened and refused boot); disk sha256 %s.. same" % before[:12])


@case
@with_seal
def disk_not_luks_untouched(d, seal):
    disk = os.path.join(d, "other.img")
    with open(disk, "wb") as f:
        f.truncate(DISK_SIZE)
        f.seek(4096)
        f.write(b"somebody's data")
    before = sha256_file(disk)
    g = Guest(d, "g", seal, disk=disk)
    g.run()
    g.assert_failed("disk", "untouched")
    assert sha256_file(disk) == before, "the disk image changed"


@case
@with_seal
def disk_missing(d, seal):
    """no persistent disk: step 5 waits --disk-wait-ms for udev's link, then
    stops naming the device; nothing after it runs"""
    g = Guest(d, "g", seal)
    os.unlink(g.path("/dev/disk/by-id/virtio-persistent"))
    start = time.monotonic()
    g.run("--disk-wait-ms", "500")
    took = time.monotonic() - start
    g.assert_failed("disk", "virtio-persistent", "did not appear within 500 ms")
    assert took >= 0.5, "it did not wait"
    assert "systemctl" not in g.call_log()


@case
@with_seal
def seal_unreachable(d, seal):
    g = Guest(d, "g", seal, seal_addr="unix:" + os.path.join(d, "nobody.sock"))
    g.run()
    g.assert_failed("keys", "disk_encryption", "nobody.sock")
    assert "retrying" in g.result.stderr
    assert not os.path.exists(g.path("/run/cocoon/keys/disk_encryption"))
    assert sha256_file(g.disk) == hashlib.sha256(bytes(DISK_SIZE)).hexdigest()


@case
def seal_server_late():
    # the seal-server comes up 1.5 s after cocoon-init started: step 4 retries
    with tempfile.TemporaryDirectory(prefix="cocoon-init-") as d:
        first = SealServer(d)  # only for the platform key and the secret
        first.stop()
        assert not os.path.exists(first.sock)
        g = Guest(d, "g", first)
        args = g.run_args()
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        seal = SealServer(d)
        try:
            out, errs = p.communicate(timeout=60)
        finally:
            seal.stop()
        sys.stdout.write(errs)
        assert p.returncode == 0, errs
        assert "retrying" in errs
        assert g.state() == "ready\n"


@case
@with_seal
def spec_symlink_refused(d, seal):
    g = Guest(d, "g", seal)
    os.symlink("/etc/passwd", g.path("/mnt/spec/passwd"))
    g.run()
    g.assert_failed("spec", "symlink", "passwd")
    assert not os.path.exists(g.path("/var/log/tdx-attestation.log")), "measured anyway"
    assert not os.path.exists(g.path("/spec/passwd"))
    assert not os.path.exists(g.path("/run/cocoon/keys"))
    hostilerows.row("spec share: a symlink to /etc/passwd", "cocoon-init step 2 (spec copy)",
                    "nothing measured (no event log), no key fetched, no /spec/passwd")


@case
@with_seal
def spec_fifo_refused(d, seal):
    g = Guest(d, "g", seal)
    os.mkfifo(g.path("/mnt/spec/pipe"))
    g.run()
    g.assert_failed("spec", "pipe", "not a regular file")
    assert not os.path.exists(g.path("/var/log/tdx-attestation.log")), "measured anyway"
    assert not os.path.exists(g.path("/run/cocoon/keys"))
    hostilerows.row("spec share: a FIFO", "cocoon-init step 2 (spec copy)",
                    "nothing measured (no event log), no key fetched; no wait for a writer")


# init.h INIT_SPEC_MAX_DIRS
SPEC_MAX_DIRS = 4096


def entries_below(top):
    n = 0
    for _, dirs, files in os.walk(top):
        n += len(dirs) + len(files)
    return n


@case
@with_seal
def spec_many_dirs_refused(d, seal):
    # a hostile share of empty directories (no file at all, so the file bound
    # never trips): the copy stops at the directory bound, says so, and
    # leaves the target as it found it
    g = Guest(d, "g", seal)
    share = g.path("/mnt/spec")
    before = entries_below(share)
    for i in range(SPEC_MAX_DIRS + 200):
        os.mkdir(os.path.join(share, "d%05d" % i))
    for i in range(40):
        os.makedirs(os.path.join(share, "d00000", *["n"] * (i % 8 + 1), str(i)), exist_ok=True)
    t0 = time.monotonic()
    g.run()
    took = time.monotonic() - t0
    g.assert_failed("spec", "more than %d directories" % SPEC_MAX_DIRS)
    assert not os.path.exists(g.path("/var/log/tdx-attestation.log")), "measured anyway"
    left = entries_below(g.path("/spec"))
    assert left == 0, "%d entries left in /spec after the refusal" % left
    assert entries_below(share) == before + SPEC_MAX_DIRS + 200 + 40 + 8, "the share was changed"
    print("spec_many_dirs_refused: %d directories refused in %.2f s, /spec empty"
          % (SPEC_MAX_DIRS + 248, took))
    hostilerows.row("spec share of %d empty directories (inode exhaustion of /spec)"
                    % (SPEC_MAX_DIRS + 248),
                    "cocoon-init spec copy (INIT_SPEC_MAX_DIRS %d)" % SPEC_MAX_DIRS,
                    "/spec empty after the refusal, share unchanged, nothing measured "
                    "(no event log)")


@case
@with_seal
def spec_dirs_at_the_bound_accepted(d, seal):
    # exactly INIT_SPEC_MAX_DIRS directories below the root (the prepared
    # spec's own count included) are copied and the guest comes up
    g = Guest(d, "g", seal)
    share = g.path("/mnt/spec")
    have = sum(len(dirs) for _, dirs, _ in os.walk(share))
    for i in range(SPEC_MAX_DIRS - have):
        os.mkdir(os.path.join(share, "d%05d" % i))
    g.run()
    assert g.result.returncode == 0, g.result.stderr
    assert sum(len(dirs) for _, dirs, _ in os.walk(g.path("/spec"))) == SPEC_MAX_DIRS
    # the fake workload ends (writing its exit status beside the tree) before
    # the big tree is removed
    rc = os.path.join(d, "g-workload.rc")
    end = time.monotonic() + 20
    while not os.path.exists(rc) and time.monotonic() < end:
        time.sleep(0.1)


@case
@with_seal
def spec_big_file_refused(d, seal):
    g = Guest(d, "g", seal)
    with open(g.path("/mnt/spec/big.bin"), "wb") as f:
        f.truncate(10 * 1024 * 1024 + 1)
    g.run()
    g.assert_failed("spec", "big.bin")


@case
@with_seal
def spec_rules_checked_in_guest(d, seal):
    g = Guest(d, "g", seal, spec_files={"docker-compose.yml": (COMPOSE % ("a" * 64)).replace(
        "restart: always", "privileged: true")})
    g.run()
    g.assert_failed("spec", "privileged")


@case
@with_seal
def production_measurements(d, seal):
    # No cocoon_debug: nothing says debug in the event log. The disk is not
    # blank and not LUKS, so step 5 refuses it before anything would be
    # activated (a production boot activates the disk through device-mapper,
    # which this test must not do to the machine it runs on). That the egress
    # and workload steps fail closed without debug is in unit/cocoon_init.
    disk = os.path.join(d, "other.img")
    with open(disk, "wb") as f:
        f.truncate(DISK_SIZE)
        f.write(b"\x01")
    before = sha256_file(disk)
    g = Guest(d, "g", seal, words="cocoon.tee=sim", disk=disk)
    g.run(check_only=False)
    g.assert_failed("disk", "untouched")
    ev = g.evlog()
    assert ev == ["cocoon:spec.tree=" + g.spec_hash, "cocoon:tee=sim"], ev
    assert replay(ev) == g.rtmr3()
    assert sha256_file(disk) == before


@case
@with_seal
def check_only_refused_without_debug(d, seal):
    g = Guest(d, "g", seal, words="cocoon.tee=sim")
    g.run()
    g.assert_failed("disk", "debug")
    assert sha256_file(g.disk) == hashlib.sha256(bytes(DISK_SIZE)).hexdigest()


def gpu_tree(g):
    """/dev/nvidiactl and /dev/nvidia0 (character devices: 1,3 is /dev/null),
    and a driver's libraries, as the CDI spec generator looks for them."""
    for n in ("nvidiactl", "nvidia0"):
        try:
            os.mknod(g.path("/dev/" + n), stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except PermissionError:
            print("SKIP: no mknod here (not root)")
            sys.exit(77)
    lib = g.path("/usr/lib/x86_64-linux-gnu")
    os.makedirs(lib, exist_ok=True)
    for name in ("libcuda", "libnvidia-ml"):
        with open(os.path.join(lib, name + ".so.580.159.04"), "w") as f:
            f.write("not a library")
        os.symlink(name + ".so.580.159.04", os.path.join(lib, name + ".so.1"))


def gpu_pki(d):
    """A P-384 root and a leaf signed by it (openssl(1)), like a GPU's chain."""
    def ossl(*a):
        subprocess.run(["openssl", *a], check=True, capture_output=True)
    k = lambda n: os.path.join(d, n)
    for n in ("root", "leaf"):
        ossl("ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", k(n + ".key"))
    ossl("req", "-x509", "-new", "-key", k("root.key"), "-subj", "/CN=test Device Identity CA",
         "-days", "3650", "-sha384", "-out", k("root.pem"),
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    ossl("req", "-new", "-key", k("leaf.key"), "-subj", "/CN=test GH100 attestation", "-out", k("leaf.csr"))
    with open(k("ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n")
    ossl("x509", "-req", "-in", k("leaf.csr"), "-CA", k("root.pem"), "-CAkey", k("root.key"),
         "-CAcreateserial", "-days", "3650", "-sha384", "-extfile", k("ext"), "-out", k("leaf.pem"))
    ossl("pkcs8", "-topk8", "-nocrypt", "-in", k("leaf.key"), "-out", k("leaf.pk8"))
    rd = lambda n: open(k(n)).read()
    return k("root.pem"), rd("leaf.pem") + rd("root.pem"), rd("leaf.pk8")


def gpu_fixture(d, chain, key, tamper=False):
    import json
    fx = {"driver": "580.159.04", "init": {"rc": 0},
          "state": {"rc": 0, "environment": 2, "ccFeature": 1, "devToolsMode": 0},
          "settings": {"rc": 0, "environment": 2, "ccFeature": 1, "devToolsMode": 0, "multiGpuMode": 0},
          "count": {"rc": 0, "count": 1},
          "gpus": [{"uuid": "GPU-12345678-1111-2222-3333-444444444444",
                    "certificate": {"rc": 0, "attestationCertChain": chain.encode().hex()},
                    "sign": {"key": key, "measurements": ["aa" * 48, "bb" * 48], "tamper": tamper}}]}
    p = os.path.join(d, "nvml-fixture.json")
    with open(p, "w") as f:
        json.dump(fx, f)
    os.environ["FAKE_NVML_FIXTURE"] = p


@case
@with_seal
def gpu_gate(d, seal):
    g = Guest(d, "g", seal, words="cocoon.tee=sim cocoon.debug=1 cocoon_gpu")
    gpu_tree(g)
    root, chain, key = gpu_pki(d)
    gpu_fixture(d, chain, key)
    r = g.run("--gpu-root-pem", root)
    assert r.returncode == 0, g.state()
    calls = g.call_log()
    assert "nvidia-smi conf-compute -srs 1" in calls, calls
    ev = g.evlog()
    assert ev[3].startswith("cocoon:gpu[0]=uuid=GPU-12345678-1111-2222-3333-444444444444;"
                            "evidence=sha384:") and ev[3].endswith(";verdict=pass"), ev
    assert ev[-1] == "cocoon:tdx_inited", ev
    assert replay(ev) == g.rtmr3()
    import json
    with open(g.path("/var/run/cdi/nvidia.json")) as f:
        cdi = json.load(f)
    assert cdi["kind"] == "nvidia.com/gpu", cdi
    assert [x["name"] for x in cdi["devices"]] == ["0", "all"], cdi
    paths = {m["containerPath"] for m in cdi["containerEdits"]["mounts"]}
    assert "/usr/lib/x86_64-linux-gnu/libcuda.so.1" in paths, paths


@case
@with_seal
def gpu_driver_missing(d, seal):
    g = Guest(d, "g", seal, words="cocoon.tee=sim cocoon.debug=1 cocoon_gpu")
    g.run("--gpu-wait-ms", "300")
    g.assert_failed("gpu", "nvidia driver")
    assert "nvidia-smi" not in g.call_log()


@case
@with_seal
def gpu_attestation_fails(d, seal):
    """A report that does not verify: its event is measured with the verdict,
    the boot stops, no ready state, no keys."""
    g = Guest(d, "g", seal, words="cocoon.tee=sim cocoon.debug=1 cocoon_gpu")
    gpu_tree(g)
    root, chain, key = gpu_pki(d)
    gpu_fixture(d, chain, key, tamper=True)
    g.run("--gpu-root-pem", root)
    g.assert_failed("gpu", "GPU attestation", "signature does not verify")
    assert g.evlog()[3].endswith(";verdict=signature"), g.evlog()
    assert "nvidia-smi" not in g.call_log()
    assert not os.path.exists(g.path("/run/cocoon/keys/app"))


@case
@with_seal
def gpu_cc_off_h200(d, seal):
    """What NVML answered on the real H200 (CC off), replayed: refused with
    that reason, before any event or key."""
    g = Guest(d, "g", seal, words="cocoon.tee=sim cocoon.debug=1 cocoon_gpu")
    gpu_tree(g)
    os.environ["FAKE_NVML_FIXTURE"] = os.path.join(os.environ["GPU_FIXTURES"], "h200-cc-off.json")
    g.run()
    g.assert_failed("gpu", "confidential computing is off")
    assert not any(e.startswith("cocoon:gpu") for e in g.evlog()), g.evlog()
    assert "nvidia-smi" not in g.call_log()
    assert not os.path.exists(g.path("/run/cocoon/keys/app"))


@case
@with_seal
def gpu_no_nvml(d, seal):
    g = Guest(d, "g", seal, words="cocoon.tee=sim cocoon.debug=1 cocoon_gpu")
    gpu_tree(g)
    g.run("--gpu-nvml", "/nonexistent/libnvidia-ml.so.1")
    g.assert_failed("gpu", "NVML not available")


@case
@with_seal
def ninep_shares(d, seal):
    g = Guest(d, "g", seal, words="cocoon.tee=sim cocoon.debug=1 cocoon.fs=9p")
    assert g.run().returncode == 0
    calls = g.call_log()
    assert "mount -t 9p -o trans=virtio,version=9p2000.L,ro,nosuid,nodev,noexec,nosymfollow spec" in calls, calls
    assert "mount -t 9p -o trans=virtio,version=9p2000.L,nosuid,nodev,noexec,nosymfollow data" in calls, calls


@case
@with_seal
def mount_fails(d, seal):
    g = Guest(d, "g", seal)
    with open(g.cmds["mount"], "w") as f:
        f.write("#!/bin/sh\necho 'mount: unknown filesystem type virtiofs' >&2\nexit 32\n")
    g.run()
    g.assert_failed("mounts", "unknown filesystem type")


@case
@with_seal
def bad_cmdline(d, seal):
    g = Guest(d, "g", seal, words="cocoon.tee=sev cocoon.debug=1")
    r = g.run()
    assert r.returncode == 1
    assert g.state().startswith("failed: cmdline: "), g.state()
    assert "cocoon.tee=sev" in g.state()


def main():
    global INIT, SEAL_SERVER, COCOON_SPEC
    hostilerows.take(sys.argv)
    if len(sys.argv) == 2 and sys.argv[1] == "list" or len(sys.argv) == 5 and sys.argv[4] == "list":
        print("\n".join(CASES))
        return 0
    INIT, SEAL_SERVER, COCOON_SPEC, name = sys.argv[1:5]
    CASES[name]()
    print("PASS", name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
