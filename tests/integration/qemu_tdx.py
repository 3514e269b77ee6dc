#!/usr/bin/env python3
"""A real QEMU with TDX (11.1, trixie-backports) parses every command line cocoon-launch makes.

Usage: qemu_tdx.py BUILD_DIR COCOON_LAUNCH CASE     run one case
       qemu_tdx.py none none list                   the case names (for meson)

The QEMU is trixie-backports' qemu-system-x86 in a trixie root that mmdebstrap
makes from the versions in tests/integration/launch/trixie-root.pin, cached in
BUILD_DIR (trixie-root-KEY, KEY from that file) so only the first run builds it.
It runs by chroot in private mount and network namespaces (this script re-runs
itself under `unshare --mount --net`; /proc is mounted in the root there and goes
with the process; the hostfwd ports are bound in the case's own namespace).

Each configuration's argv is the real `cocoon-launch --print-only` output for a
config made from tests/integration/launch/prod-2gpu.ini or dev.ini; only host
paths that do not exist here are replaced by ones that do (a directory in the
root with OVMF.fd from the root's ovmf, the cached test kernel, sparse disks,
the run directory, and the shares, which trixie's virtiofsd serves). Production
(prod-*) is checked in five steps:

  as-is     the exact argv stops at the first missing capability: /dev/iommu
            with a GPU (QEMU makes the iommufd objects before the accelerator),
            else KVM
  tdx       under TCG (-accel tcg), with the vfio-pci, iommufd and
            vhost-user-fs-pci parts left out (their chardevs stay, connected to
            virtiofsd), QEMU stops at exactly "cannot set up private guest memory
            for tdx-guest: KVM required": every option before the board parsed and
            every backend (memfd, drives, chardevs, netdev, the tdx-guest object
            with its quote-generation-socket) was made
  devices   the same without the TDX parts (no confidential-guest-support, no
            tdx-guest object, -cpu max, -S), vhost-user-fs-pci back in, only
            vhost-vsock-pci and the GPUs left out: QEMU realizes every other
            device and answers QMP query-status with "prelaunch"
  parts     each part left out, put back alone into the devices argv, stops at
            its own missing capability (/dev/iommu, /dev/vhost-vsock)
  props     each -device, -object and -machine property is one that QEMU's
            `-device NAME,help` (`-object TYPE,help`, `-machine q35,help`)
            lists; tdx-guest's help is empty without KVM, so the tdx step
            judges that object

Development (dev-*) configs run as-is with -S added (they are TCG already):
every device realizes, or stops at /dev/vhost-vsock with vsock; then props.
The negative cases misspell one property in a copy of the production argv and
must be refused. Exit 77 (skip) without root or mmdebstrap.
"""
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CONF = os.path.join(HERE, "launch")
PIN = os.path.join(CONF, "trixie-root.pin")
GUEST = os.path.join(os.path.dirname(HERE), "guest")
MIRROR = "http://deb.debian.org/debian"
T0 = time.monotonic()

KVM_REQUIRED = "cannot set up private guest memory for tdx-guest: KVM required"
NO_IOMMU = "/dev/iommu does not exist"
NO_KVM = ("-accel kvm: Could not access KVM kernel module: No such file or directory",
          "-accel kvm: failed to initialize kvm: No such file or directory")
NO_VHOST_VSOCK = "Could not open '/dev/vhost-vsock': No such file or directory"


def stamp(what):
    print(f"qemu_tdx: {time.monotonic() - T0:6.1f} s {what}", flush=True)


# ---- the trixie root --------------------------------------------------------

def pins():
    out = []
    for line in open(PIN):
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def trixie_root(build):
    """the cached root for the pinned versions, made once (under a lock)"""
    key = hashlib.sha256(open(PIN, "rb").read()).hexdigest()[:16]
    root = os.path.join(build, "trixie-root-" + key)
    os.makedirs(build, exist_ok=True)
    with open(os.path.join(build, "trixie-root.lock"), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(root, "done")):
            stamp(f"cached root {root}")
            return root
        failed = root + ".failed"
        if os.path.exists(failed) and time.time() - os.path.getmtime(failed) < 900:
            # the other cases of this run wait on the lock: one failed build is enough
            sys.exit("qemu_tdx: the root's build failed for an earlier case minutes ago:\n"
                     + open(failed).read())
        for old in os.listdir(build):
            if old.startswith("trixie-root-"):
                shutil.rmtree(os.path.join(build, old), ignore_errors=True)
        tmp = root + ".tmp"
        start = time.monotonic()
        # explicit versions: apt takes them from trixie-backports despite its low priority
        hook = ('chroot "$1" apt-get install -y --no-install-recommends -t trixie-backports '
                + " ".join(shlex.quote(p) for p in pins()))
        r = subprocess.run(["mmdebstrap", "--quiet", "--variant=apt", "trixie", tmp,
                            f"deb {MIRROR} trixie main", f"deb {MIRROR} trixie-backports main",
                            "--customize-hook=" + hook], capture_output=True, text=True)
        if r.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            msg = (f"qemu_tdx: mmdebstrap failed (a version in {PIN} may have left the "
                   f"archive: put the current one there):\n{r.stderr[-3000:]}")
            open(failed, "w").write(msg)
            sys.exit(msg)
        names = [p.split("=")[0] for p in pins()]
        v = subprocess.run(["chroot", tmp, "dpkg-query", "-W"] + names, capture_output=True,
                           text=True, check=True).stdout
        open(os.path.join(tmp, "versions"), "w").write(v)
        os.rename(tmp, root)
        open(os.path.join(root, "done"), "w").write(f"{time.monotonic() - start:.1f}\n")
        stamp(f"built {root} in {time.monotonic() - start:.1f} s")
        return root


# ---- argv handling ----------------------------------------------------------

def opt_split(v):
    """QEMU's key=value,key=value with ',,' for a comma inside a value"""
    parts, cur, i = [], "", 0
    while i < len(v):
        if v[i] == ",":
            if v[i + 1:i + 2] == ",":
                cur += ","
                i += 2
                continue
            parts.append(cur)
            cur = ""
        else:
            cur += v[i]
        i += 1
    parts.append(cur)
    return parts


def print_only(launcher, ini):
    """(virtiofsd argvs, QEMU argv) from cocoon-launch --print-only"""
    r = subprocess.run([launcher, "--print-only", ini], capture_output=True, text=True,
                       env=dict(os.environ, COCOON_LOG_LEVEL="warn"), timeout=60)
    if r.returncode != 0:
        sys.exit(f"qemu_tdx: cocoon-launch --print-only {ini}: exit {r.returncode}\n{r.stderr}")
    helpers, qemu = r.stdout.split("# QEMU\n", 1)
    fsd = [shlex.split(b.replace("\\\n", " ")) for b in
           re.findall(r"# virtiofsd for '[a-z]+' .*?\n(.*?)(?:\n\n|\Z)", helpers, re.S)]
    return fsd, shlex.split(qemu.replace("\\\n", " "))


def pairs(argv):
    """(option, value) for each option of a QEMU argv (value None for a flag)"""
    out, i = [], 1
    while i < len(argv):
        if i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            out.append((argv[i], argv[i + 1]))
            i += 2
        else:
            out.append((argv[i], None))
            i += 1
    return out


def unpairs(prog, ps):
    argv = [prog]
    for o, v in ps:
        argv += [o] if v is None else [o, v]
    return argv


def drop(ps, *prefixes):
    return [(o, v) for o, v in ps
            if not (o in ("-device", "-object", "-chardev") and v.startswith(prefixes))]


def replace(ps, opt, fn):
    return [(o, fn(v) if o == opt else v) for o, v in ps]


# ---- running QEMU in the root ------------------------------------------------

def unix_sock(path, listen=False):
    """a unix socket bound to or connected to PATH, which may be longer than
    sun_path (the root is deep in the build directory): by its directory"""
    s = socket.socket(socket.AF_UNIX)
    cwd = os.getcwd()
    os.chdir(os.path.dirname(path))
    try:
        if listen:
            s.bind(os.path.basename(path))
            s.listen(8)
        else:
            s.connect(os.path.basename(path))
    except OSError:
        s.close()
        raise
    finally:
        os.chdir(cwd)
    return s


class Root:
    def __init__(self, root, work):
        self.root = root
        self.work = work          # a directory under ROOT/tmp
        self.inside = "/" + os.path.relpath(work, root)
        self.fsd = []
        self.shares = []          # virtiofsd argvs
        self.listeners = []       # stand-ins for the host services QEMU connects to

    def host(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def run(self, argv, timeout=60):
        """QEMU (or another program of the root) to its end; the virtiofsd of the
        shares are started for it (each serves one connection)"""
        self.start_virtiofsd()
        try:
            return subprocess.run(["chroot", self.root] + argv, capture_output=True,
                                  text=True, timeout=timeout)
        finally:
            self.stop_virtiofsd()

    def start_virtiofsd(self):
        """trixie's virtiofsd with the launcher's arguments (self.shares), but
        --sandbox=chroot: the namespace sandbox fails inside a chroot"""
        for argv in self.shares:
            args = [("--sandbox=chroot" if a.startswith("--sandbox=") else a) for a in argv[1:]]
            sock = next(a.split("=", 1)[1] for a in args if a.startswith("--socket-path="))
            if os.path.exists(self.host(sock)):
                os.unlink(self.host(sock))
            log = open(self.host(sock) + ".log", "w")
            p = subprocess.Popen(["chroot", self.root, "/usr/libexec/virtiofsd"] + args,
                                 stdout=log, stderr=log)
            self.fsd.append(p)
            end = time.monotonic() + 20
            while not os.path.exists(self.host(sock)):
                if p.poll() is not None or time.monotonic() > end:
                    sys.exit(f"qemu_tdx: virtiofsd for {sock} did not start: "
                             f"{open(self.host(sock) + '.log').read()}")
                time.sleep(0.05)

    def stop_virtiofsd(self):
        for p in self.fsd:
            p.terminate()
            p.wait(10)
        self.fsd = []

    def prelaunch(self, argv, qmp):
        """QEMU with -S: None once QMP says prelaunch (then quit), else its error"""
        self.start_virtiofsd()
        p = subprocess.Popen(["chroot", self.root] + argv, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        path = self.host(qmp)
        status = None
        end = time.monotonic() + 60
        while p.poll() is None and time.monotonic() < end and status is None:
            try:
                s = unix_sock(path)
            except OSError:
                time.sleep(0.05)
                continue
            f = s.makefile("rw")
            try:
                f.readline()
                for cmd in ("qmp_capabilities", "query-status"):
                    f.write(json.dumps({"execute": cmd}) + "\n")
                    f.flush()
                    ans = json.loads(f.readline())
                status = ans.get("return", {}).get("status")
                f.write(json.dumps({"execute": "quit"}) + "\n")
                f.flush()
            except (OSError, ValueError):
                pass
            s.close()
        try:
            out, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        self.stop_virtiofsd()
        if status == "prelaunch":
            return None
        return f"exit {p.returncode}, status {status}: {err.strip()}"


def expect_error(r, want, what):
    """QEMU exited 1 and its error lines are WANT (a string: one line)"""
    want = (want,) if isinstance(want, str) else want
    lines = [x for x in r.stderr.strip().splitlines() if x.strip()]
    if r.returncode != 1 or len(lines) != len(want) or not all(
            w in x for w, x in zip(want, lines)):
        return [f"{what}: expected exit 1 with the error {' / '.join(want)!r}, got exit "
                f"{r.returncode}:\n{r.stderr.strip()}"]
    print(f"  {what}: " + " / ".join(lines))
    return []


# ---- property names against QEMU's own help ----------------------------------

HELP = {}
# what qdev_device_add takes for every -device besides the driver's properties
# (the devices step realizes them); `-device NAME,help` lists only the latter
QDEV_GENERIC = {"id", "bus"}


def help_props(rt, kind, name):
    """the property names QEMU's help lists: `KIND NAME,help`; for -machine also
    the -machine and -accel options of `qemu -help`: QEMU hands a machine's
    kernel-irqchip to the accelerator, and 11.1 documents it under -accel"""
    key = (kind, name)
    if key not in HELP:
        r = subprocess.run(["chroot", rt.root, "qemu-system-x86_64", kind, name + ",help"],
                           capture_output=True, text=True, timeout=60)
        have = set(re.findall(r"^\s+([A-Za-z0-9_.-]+)=", r.stdout, re.M))
        if kind == "-machine" and have:
            h = subprocess.run(["chroot", rt.root, "qemu-system-x86_64", "-help"],
                               capture_output=True, text=True, timeout=60).stdout
            for opt in ("-machine", "-accel"):
                block = re.search(r"^" + opt + r" .*?\n((?:[ \t].*\n)*)", h, re.M).group(1)
                have |= set(re.findall(r"^\s+([a-z0-9-]+)=", block, re.M))
        HELP[key] = have
    return HELP[key]


def check_props(rt, ps):
    bad, n = [], 0
    for o, v in ps:
        if o not in ("-device", "-object", "-machine") or v.startswith("{"):
            continue
        parts = opt_split(v)
        name = parts[0]
        have = help_props(rt, o, name)
        if not have:
            bad.append(f"{o} {name}: QEMU's {o} {name},help lists no properties")
            continue
        for kv in parts[1:]:
            k = kv.split("=", 1)[0]
            if (o == "-object" and k == "id") or (o == "-device" and k in QDEV_GENERIC):
                continue
            n += 1
            if k not in have:
                bad.append(f"{o} {name}: QEMU has no property '{k}' ({o} {name},help)")
    if not bad:
        print(f"  props: {n} property names are in QEMU's help")
    return bad


# ---- the configurations --------------------------------------------------------

def ini_text(base, drop_keys=(), add=None):
    out = []
    for line in open(os.path.join(CONF, base)):
        k = line.split("=")[0].strip()
        if k in drop_keys:
            continue
        out.append(line)
        if add and line.strip() == "[launch]":
            out += [f"{k} = {v}\n" for k, v in add.items()]
    return "".join(out)


PROD = {
    "prod-2gpu": ini_text("prod-2gpu.ini"),
    "prod-1gpu": ini_text("prod-2gpu.ini", ("gpu",)).replace("[node]\n", "[node]\ngpu = 0000:3a:00.0\n"),
    "prod-nogpu": ini_text("prod-2gpu.ini", ("gpu",)),
}
DEV = {
    "dev-vport-virtiofs": ini_text("dev.ini"),
    "dev-vport-9p": ini_text("dev.ini", ("fs",), {"fs": "9p"}),
    "dev-vsock-virtiofs": ini_text("dev.ini", ("transport", "seal"), {"transport": "vsock"}),
    "dev-vsock-9p": ini_text("dev.ini", ("transport", "seal", "fs"),
                             {"transport": "vsock", "fs": "9p"}),
}
NEGATIVE = ["misspelt-device-property", "misspelt-object-property"]
CASES = list(PROD) + list(DEV) + NEGATIVE


def host_paths(text):
    """the absolute paths a config names, as directories to recreate in the root"""
    return sorted(set(re.findall(r"= *(/[^ \n]*)", text)))


def materialize(rt, fsd, argv, kernel):
    """make the host paths of the argv exist under the work directory; returns the
    mapped (virtiofsd argvs, QEMU argv)"""
    host = re.compile(r"(?<![\w.-])(/opt/cocoon|/var/lib/cocoon|/run/cocoon-launch|/run/cocoon|"
                      r"/srv/cocoon|/tmp/cocoon-dev)/")

    def m(s):
        return host.sub(lambda x: rt.inside + x.group(0), s)
    argv = [m(a) for a in argv]
    fsd = [[m(a) for a in f] for f in fsd]
    for o, v in pairs(argv):
        if o in ("-bios", "-kernel", "-initrd"):
            path = rt.host(v)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            src = {"-bios": rt.host("/usr/share/ovmf/OVMF.fd"), "-kernel": kernel}.get(o)
            if src:
                shutil.copy(src, path)
            else:
                open(path, "wb").write(b"\0" * 4096)
        elif o == "-drive":
            path = rt.host(dict(kv.split("=", 1) for kv in opt_split(v))["file"])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.truncate(64 << 20)
        elif o == "-fw_cfg" and ",file=" in v:
            path = rt.host(v.split(",file=", 1)[1])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "wb").write(os.urandom(32))
        elif o in ("-qmp", "-chardev", "-fsdev"):
            for kv in opt_split(v):
                if kv.startswith(("path=", "unix:")):
                    os.makedirs(os.path.dirname(rt.host(kv.split("=", 1)[-1].split(":", 1)[-1])),
                                exist_ok=True)
            if o == "-fsdev":
                d = dict(kv.split("=", 1) for kv in opt_split(v) if "=" in kv)["path"]
                os.makedirs(rt.host(d), exist_ok=True)
    socks = set()
    for f in fsd:
        for a in f:
            if a.startswith("--shared-dir="):
                os.makedirs(rt.host(a.split("=", 1)[1]), exist_ok=True)
            if a.startswith("--socket-path="):
                socks.add(a.split("=", 1)[1])
    # a socket QEMU connects to that no virtiofsd serves (vport's seal-server):
    # one that listens stands in for it
    for o, v in pairs(argv):
        kv = dict(x.split("=", 1) for x in opt_split(v)[1:] if "=" in x) if v else {}
        if o == "-chardev" and v.startswith("socket,") and kv.get("server") != "on" \
                and kv.get("path") not in socks:
            rt.listeners.append(unix_sock(rt.host(kv["path"]), listen=True))
    return fsd, argv


def qmp_path(ps):
    return next(v for o, v in ps if o == "-qmp").split(",")[0][len("unix:"):]


def check_prod(rt, fsd, argv):
    prog, ps = argv[0], pairs(argv)
    bad = []
    rt.shares = fsd
    gpu = any(o == "-object" and v.startswith("iommufd") for o, v in ps)
    # 1. as is
    bad += expect_error(rt.run(argv), NO_IOMMU if gpu else NO_KVM, "as-is")
    # 2. TCG, the VFIO, iommufd and vhost-user-fs parts left out
    tcg = replace(ps, "-accel", lambda v: "tcg")
    tdx = drop(tcg, "vfio-pci", "iommufd", "vhost-user-fs-pci")
    bad += expect_error(rt.run(unpairs(prog, tdx)), KVM_REQUIRED, "tdx")
    # 3. the devices, without the TDX parts
    dev = drop(tcg, "{", "vfio-pci", "iommufd", "vhost-vsock-pci")
    dev = replace(dev, "-machine",
                  lambda v: v.replace(",kernel-irqchip=split,confidential-guest-support=tdx", ""))
    dev = replace(dev, "-cpu", lambda v: "max") + [("-S", None)]
    if any(o == "-machine" and "confidential-guest-support" in v for o, v in dev):
        bad.append("devices: the machine still has confidential-guest-support")
    e = rt.prelaunch(unpairs(prog, dev), qmp_path(ps))
    if e:
        bad.append(f"devices: QEMU did not reach prelaunch: {e}")
    else:
        n = sum(1 for o, v in dev if o == "-device")
        print(f"  devices: {n} devices realized, QMP status prelaunch")
    # 4. each left-out part alone
    parts = [("vhost-vsock-pci", [(o, v) for o, v in ps if o == "-device"
                                  and v.startswith("vhost-vsock-pci")], NO_VHOST_VSOCK)]
    if gpu:
        first = [(o, v) for o, v in ps if (o == "-object" and v.startswith("iommufd"))
                 or (o == "-device" and v.startswith("vfio-pci"))][:2]
        parts.append(("vfio-pci", first, NO_IOMMU))
    for name, extra, want in parts:
        if not extra:
            bad.append(f"parts: the argv has no {name}")
            continue
        trial = dev[:-1] + extra + [("-S", None)]
        bad += expect_error(rt.run(unpairs(prog, trial)), want, "parts " + name)
    # 5. property names
    bad += check_props(rt, ps)
    return bad


def check_dev(rt, fsd, argv):
    prog, ps = argv[0], pairs(argv)
    bad = []
    rt.shares = fsd
    s = ps + [("-S", None)]
    if any(o == "-device" and v.startswith("vhost-vsock-pci") for o, v in ps):
        bad += expect_error(rt.run(unpairs(prog, s)), NO_VHOST_VSOCK, "as-is")
        s = drop(ps, "vhost-vsock-pci") + [("-S", None)]
    e = rt.prelaunch(unpairs(prog, s), qmp_path(ps))
    if e:
        bad.append(f"devices: QEMU did not reach prelaunch: {e}")
    else:
        print(f"  devices: {sum(1 for o, v in s if o == '-device')} devices realized, "
              "QMP status prelaunch")
    bad += check_props(rt, ps)
    return bad


def case_args(prog, cases):
    """(build, launcher, case) of `PROG BUILD LAUNCHER CASE`; prints the case names
    for `list` and exits; exits 77 (skip) without root or mmdebstrap (the root)"""
    build, launcher, case = sys.argv[1:4]
    if case == "list":
        print("\n".join(cases))
        sys.exit(0)
    if case not in cases:
        sys.exit(f"unknown case {case}")
    if os.geteuid() != 0 or not shutil.which("mmdebstrap"):
        print(f"{prog}: needs root and mmdebstrap (scripts/install-deps.sh vm)")
        sys.exit(77)
    return build, launcher, case


def main():
    build, launcher, case = case_args("qemu_tdx", CASES)
    if os.environ.get("QEMU_TDX_NS") != "1":
        # the root is made (or found) before the network namespace: mmdebstrap
        # needs the mirror, the namespace has no route to it
        trixie_root(os.path.abspath(build))
        # a private mount namespace for /proc in the root, and a network namespace
        # of its own: the hostfwd ports then clash with nothing (other cases, tests)
        os.execvpe("unshare", ["unshare", "--mount", "--propagation", "private", "--net",
                               sys.executable] + sys.argv,
                   dict(os.environ, QEMU_TDX_NS="1"))
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    root = trixie_root(os.path.abspath(build))
    print("qemu_tdx: " + open(os.path.join(root, "versions")).read().replace("\n", "; "))
    subprocess.run(["mount", "-t", "proc", "proc", os.path.join(root, "proc")], check=True)
    kernel = os.path.join(subprocess.run([os.path.join(GUEST, "fetch.sh"), "kernel"],
                                         capture_output=True, text=True,
                                         check=True).stdout.strip(), "vmlinuz")
    work = tempfile.mkdtemp(prefix="qemu-tdx.", dir=os.path.join(root, "tmp"))
    rt = Root(root, work)
    try:
        name = {"misspelt-device-property": "prod-2gpu",
                "misspelt-object-property": "prod-2gpu"}.get(case, case)
        text = PROD.get(name) or DEV[name]
        ini = os.path.join(work, name + ".ini")
        open(ini, "w").write(text)
        fsd, argv = print_only(launcher, ini)
        stamp(f"{name}: {len(argv)} QEMU arguments from cocoon-launch --print-only, "
              f"{len(fsd)} virtiofsd")
        fsd, argv = materialize(rt, fsd, argv, kernel)
        typo = None
        if case == "misspelt-device-property":
            typo = "serail"
            argv = [a.replace("drive=root,serial=root", "drive=root,serail=root") for a in argv]
        elif case == "misspelt-object-property":
            typo = "quote-generation-sockt"
            argv = [a.replace('"quote-generation-socket"', '"quote-generation-sockt"')
                    for a in argv]
        if typo and not any(typo in a for a in argv):
            sys.exit(f"qemu_tdx: {case}: the argv has nothing to misspell")
        bad = (check_prod if name in PROD else check_dev)(rt, fsd, argv)
        if case in NEGATIVE:
            if not any(typo in b for b in bad):
                sys.exit(f"qemu_tdx: {case}: the misspelt property '{typo}' was not refused")
            print("qemu_tdx: refused as it must be:\n  " + "\n  ".join(bad))
        elif bad:
            sys.exit("qemu_tdx: " + name + ":\n  " + "\n  ".join(bad))
        stamp(f"{case}: passed")
    finally:
        rt.stop_virtiofsd()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
