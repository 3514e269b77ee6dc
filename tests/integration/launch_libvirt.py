#!/usr/bin/env python3
"""A real libvirtd defines and starts the dev domain of `cocoon-launch --libvirt-xml`.

Usage: launch_libvirt.py LAUNCHER COCOON_SPEC TESTINIT

The domain is the launcher's output as is (type='qemu': TCG, 9p shares, vport
channels, no port forwards so no passt, serial console to a file). It boots the
test initramfs (tests/guest/testinit.c); the test plays seal-server's echo peer on
the seal channel's socket and asks `json status` on the health channel like the
launcher does, then waits for libvirt to report the domain shut off and reads
the in-guest checks from the serial log file (virtlogd writes it).

virtlogd and libvirtd are started here, in the foreground as children of this
script, and stopped at the end; when a libvirtd already runs, it is used and left
alone. QEMU runs as libvirt's qemu user (dynamic ownership): the temporary
directory is world-readable, the data share and run directory world-writable.
Exit 77 (skip) without root or without libvirt's programs.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import launch_boot  # noqa: E402  (fetch, spec_digest, seal_peer, framing)

URI = "qemu:///system"
T0 = time.monotonic()


def stamp(what):
    print(f"launch_libvirt: {time.monotonic() - T0:6.1f} s {what}", flush=True)
CHECKS = ("cmdline-tee-sim", "spec-mounted-ro", "spec-write-refused", "spec-content",
          "spec-tree", "data-writable", "persistent-disk", "root-disk-ro",
          "vport-seal-roundtrip", "vport-health-request")


def virsh(*args, check=True):
    r = subprocess.run(["virsh", "-q", "-c", URI] + list(args), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"virsh {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout.strip()


def wait_path(path, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path):
            return True
        time.sleep(0.1)
    return False


def reap_orphans(stop):
    """libvirt runs QEMU with -daemonize: it is orphaned, and where PID 1 does not
    reap (as in these sandboxes) its zombie looks alive to libvirt, which then
    waits on it for many seconds per probe and per domain. As a child subreaper
    this script gets those orphans and reaps them; its own children (Popen) are
    left to subprocess."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    me = os.getpid()

    def loop():
        while not stop.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    comm, st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)
                except OSError:
                    continue
                st = st.split()
                if "(qemu-system" in comm and st[0] == "Z" and int(st[1]) == me:
                    try:
                        os.waitpid(int(pid), os.WNOHANG)
                    except ChildProcessError:
                        pass
            time.sleep(0.2)

    threading.Thread(target=loop, daemon=True).start()


def start_daemons(t):
    """virtlogd then libvirtd, unless a libvirtd answers already; returns what we started"""
    if subprocess.run(["virsh", "-c", URI, "version"], capture_output=True).returncode == 0:
        print("launch_libvirt: using the libvirtd that already runs")
        return []
    procs = []
    for prog, sock in (("virtlogd", "/run/libvirt/virtlogd-sock"),
                       ("libvirtd", "/run/libvirt/libvirt-sock")):
        log = open(os.path.join(t, prog + ".log"), "w")
        procs.append(subprocess.Popen(["/usr/sbin/" + prog], stdout=log, stderr=log))
        if not wait_path(sock, 30):
            raise RuntimeError(f"{prog} did not make {sock}; see its log")
    end = time.monotonic() + 30
    while subprocess.run(["virsh", "-c", URI, "version"], capture_output=True).returncode:
        if time.monotonic() > end:
            raise RuntimeError("libvirtd does not answer on " + URI)
        time.sleep(0.2)
    return procs


def stop_daemons(procs):
    # libvirtd takes up to two minutes over SIGTERM here; with no domain left,
    # a short grace is enough before SIGKILL
    for p in reversed(procs):
        p.terminate()
        try:
            p.wait(5)
            stamp(f"{p.args[0]} ended")
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            stamp(f"{p.args[0]} killed")


def ask_health(path, out):
    """the launcher's readiness question on the health channel QEMU listens on"""
    if not wait_path(path, 60):
        out.append("no health socket")
        return
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(90)
    try:
        s.connect(path)
        launch_boot.frame(s, b"json status")
        n = int.from_bytes(launch_boot.read_exact(s, 4), "little")
        out.append(launch_boot.read_exact(s, n).decode())
    except (OSError, EOFError) as e:
        out.append(f"health: {e}")
    finally:
        s.close()


# what cocoon-launch names the domain of [node] type = client, instance = 7
DOMAIN = "cocoon-client-7"


def main():
    launcher, cocoon_spec, testinit = sys.argv[1:4]
    if os.geteuid() != 0 or not shutil.which("virsh") or not os.path.exists("/usr/sbin/libvirtd"):
        print("launch_libvirt: needs root and libvirt (scripts/install-deps.sh vm)")
        sys.exit(77)
    kdir = launch_boot.fetch("kernel")
    t = tempfile.mkdtemp(prefix="lv.", dir="/tmp")
    os.chmod(t, 0o755)
    procs = []
    name = None
    stop = threading.Event()
    reap_orphans(stop)
    try:
        procs = start_daemons(t)
        stamp("libvirtd answers")
        # the domain this test defines; also a stale one a killed run left behind
        name = DOMAIN
        virsh("destroy", name, check=False)
        virsh("undefine", name, check=False)
        name, err = run(launcher, cocoon_spec, testinit, kdir, t)
        name = DOMAIN
    except RuntimeError as e:
        err = str(e)
    finally:
        if name:
            virsh("destroy", name, check=False)
            stamp("domain destroyed")
            virsh("undefine", name, check=False)
            stamp("domain undefined")
        stop_daemons(procs)
        stamp("daemons stopped")
        stop.set()
        shutil.rmtree(t, ignore_errors=True)
    if err:
        sys.exit("launch_libvirt: " + err)


def run(launcher, cocoon_spec, testinit, kdir, t):
    img = os.path.join(t, "image")
    os.makedirs(img, 0o755)
    shutil.copy(os.path.join(kdir, "vmlinuz"), os.path.join(img, "vmlinuz"))
    subprocess.run([os.path.join(launch_boot.GUEST, "mkinitramfs.sh"), kdir, testinit,
                    os.path.join(img, "initrd.img")], check=True)
    with open(os.path.join(img, "rootfs.img"), "wb") as f:
        f.truncate(1 << 20)
    spec, data, run_dir = (os.path.join(t, d) for d in ("spec", "data", "run"))
    os.makedirs(spec)
    open(os.path.join(spec, "docker-compose.yml"), "w").write(
        "services:\n  hello:\n    image: demo/hello@sha256:" + "ab" * 32 + "\n")
    open(os.path.join(spec, "README"), "w").write("test spec for libvirt\n")
    for d in (data, run_dir):
        os.makedirs(d)
        os.chmod(d, 0o777)
    persistent = os.path.join(t, "persistent.img")
    with open(persistent, "wb") as f:
        f.truncate(64 << 20)
    serial = os.path.join(t, "serial.log")
    seal_sock = os.path.join(t, "seal.sock")
    tree = subprocess.run([cocoon_spec, "hash", spec], capture_output=True, text=True,
                          check=True).stdout.strip()
    # what cocoon-launch does before it starts QEMU: the prepared spec in the run dir
    subprocess.run([cocoon_spec, "prepare", spec, os.path.join(run_dir, "spec")], check=True,
                   capture_output=True)
    # the dev domain hands the guest a sim platform key by fw_cfg: give it one
    # of its own (libvirt's unprivileged QEMU must be able to read it)
    simkey = os.path.join(t, "sim-platform-key")
    with open(simkey, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(simkey, 0o644)
    cfg = os.path.join(t, "dev.ini")
    open(cfg, "w").write(f"""[node]
type = client
instance = 7
persistent = {persistent}
image_dir = {img}

[docker]
spec = {spec}
data = {data}
memory = 512M
cpus = 1

[launch]
dev = yes
accel = tcg
transport = vport
fs = 9p
seal = unix:{seal_sock}
run_dir = {run_dir}
console = {serial}
sim_platform_key = {simkey}
cmdline = console=ttyS0 panic=-1 loglevel=1
append = testinit.spec_sha256={launch_boot.spec_digest(spec)} testinit.spec_tree={tree}
""")
    r = subprocess.run([launcher, "--libvirt-xml", cfg], capture_output=True, text=True)
    if r.returncode != 0:
        return None, f"--libvirt-xml failed: {r.stderr}"
    xml = os.path.join(t, "domain.xml")
    open(xml, "w").write(r.stdout)
    name = DOMAIN
    got = []
    srv = launch_boot.seal_peer(seal_sock, got)
    os.chmod(seal_sock, 0o777)
    stamp("initramfs and spec ready")
    virsh("define", xml)
    start = time.monotonic()
    virsh("start", name)
    health = []
    th = threading.Thread(target=ask_health, args=(os.path.join(run_dir, "health.sock"), health),
                          daemon=True)
    th.start()
    state = ""
    while time.monotonic() - start < 120:
        state = virsh("domstate", name, check=False)
        if state == "shut off":
            break
        time.sleep(0.5)
    elapsed = time.monotonic() - start
    th.join(5)
    srv.close()
    log = open(serial, errors="replace").read() if os.path.exists(serial) else ""
    sys.stdout.write(log)
    print(f"launch_libvirt: domain {name} {state} {elapsed:.1f} s after virsh start; "
          f"health answer {health}")
    reason = virsh("domstate", "--reason", name, check=False)
    if state != "shut off":
        return name, f"the domain is '{state}' after 120 s"
    fails = [x for x in log.splitlines() if "TESTINIT: FAIL" in x]
    if fails:
        return name, "checks failed in the guest:\n" + "\n".join(fails)
    for c in CHECKS:
        if f"TESTINIT: PASS {c}" not in log:
            return name, f"check {c} did not pass (serial log above)"
    if "TESTINIT: ALL PASSED" not in log:
        return name, "the guest did not finish its checks"
    if got != [b"ping from the guest"]:
        return name, f"seal peer got {got}"
    if not health or '"ready":true' not in health[0]:
        return name, f"health answer {health}"
    if open(os.path.join(data, "guest-wrote.txt")).read() != "hello from the guest\n":
        return name, "data/guest-wrote.txt not written by the guest"
    print(f"launch_libvirt: shut off reason: {reason}")
    return name, None


if __name__ == "__main__":
    main()
