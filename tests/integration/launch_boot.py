#!/usr/bin/env python3
"""cocoon-launch --dev booting the test guest under TCG.

Usage: launch_boot.py LAUNCHER COCOON_SPEC TESTINIT CASE
       launch_boot.py none none none list

Cases:
  boot-9p          9p shares (as when virtiofsd is missing): every in-guest check
                   passes, the launcher exits 0 and leaves no socket or directory.
  boot-virtiofs    the same over real virtio-fs (trixie's virtiofsd from a
                   cached mmdebstrap root, tests/guest/fetch.sh).
  sigkill-qemu     QEMU is SIGKILLed mid-run: the launcher says so, cleans up,
                   exits 5.
  sigterm          SIGTERM to the launcher while the guest holds: system_powerdown
                   through QMP, the guest powers off on the power button, exit 0.
  guest-failure    a check fails in the guest (wrong spec hash): it answers
                   not-ready and reboots; the launcher exits 4.
  stale-health-answer  before its answer the guest sends one meant for an
                   earlier peer of the health channel (a text status): the
                   launcher ignores it, sees the guest ready, exits 0.
  hostile-health-answer  before its answer the guest sends hostile ones
                   ({"ready":false,"boot":null}, a string "ready", terminal
                   escapes, two values in one frame): the launcher survives
                   them, takes none for ready, logs them escaped, sees the
                   guest ready, exits 0.

--hostile-rows FILE (anywhere on the command line): the hostile case appends
its row for `make hostile` to FILE (tests/hostile, one JSON object a line).

QEMU missing is a failure, not a skip: `make test` installs it
(scripts/install-deps.sh vm). The kernel and the virtiofsd root are cached
under $COCOON_TEST_CACHE (~/.cache/cocoon-test).
"""
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GUEST = os.path.join(HERE, "..", "guest")
CASES = ["boot-9p", "boot-virtiofs", "sigkill-qemu", "sigterm", "guest-failure",
         "stale-health-answer", "hostile-health-answer"]


def fetch(what):
    r = subprocess.run([os.path.join(GUEST, "fetch.sh"), what], capture_output=True, text=True,
                       env=dict(os.environ, PATH=os.environ["PATH"] + ":/usr/sbin:/sbin"))
    if r.returncode != 0:
        sys.exit(f"fetch.sh {what} failed:\n{r.stderr}")
    return r.stdout.strip()


def spec_digest(d):
    h = hashlib.sha256()
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if not os.path.isfile(p) or name in ("spec.tree", "spec.meta"):
            continue
        h.update(name.encode() + b"\0")
        h.update(open(p, "rb").read())
    return h.hexdigest()


def frame(sock, payload):
    sock.sendall(struct.pack("<I", len(payload)) + payload)


def read_exact(sock, n):
    b = b""
    while len(b) < n:
        c = sock.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b


def seal_peer(path, got):
    """stands in for seal-server on the vport: echoes each frame with 'echo: '"""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            try:
                while True:
                    n = struct.unpack("<I", read_exact(c, 4))[0]
                    msg = read_exact(c, n)
                    got.append(msg)
                    frame(c, b"echo: " + msg)
            except (EOFError, OSError):
                c.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv


def hostile_rows(argv):
    """takes --hostile-rows FILE out of argv; returns FILE or None"""
    if "--hostile-rows" not in argv:
        return None
    i = argv.index("--hostile-rows")
    path = argv[i + 1]
    del argv[i:i + 2]
    # this run's rows only: a row of an earlier run must not stand in
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    open(path, "w").close()
    return path


def main():
    rows = hostile_rows(sys.argv)
    launcher, cocoon_spec, testinit, case = sys.argv[1:5]
    if case == "list":
        print("\n".join(CASES))
        return
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        sys.exit("qemu-system-x86_64 is missing: run scripts/install-deps.sh vm")
    kdir = fetch("kernel")
    t = tempfile.mkdtemp(prefix="lb.", dir="/tmp")
    try:
        res = run_case(launcher, cocoon_spec, testinit, case, kdir, t)
    finally:
        shutil.rmtree(t, ignore_errors=True)
    if rows and case == "hostile-health-answer":
        with open(rows, "a") as f:
            f.write(json.dumps({
                "attack": "hostile guest: health answers {\"ready\":false,\"boot\":null}, "
                          "a string \"ready\", terminal escapes, two values in a frame",
                "stopped_by": "cocoon-launch (health_answer_parse, answer.c)",
                "untouched": "cocoon-launch: alive, none taken for ready, log escaped, "
                             "exit 0 after the real answer" if res == 0 else str(res),
                "ok": res == 0}) + "\n")
    sys.exit(res)


def run_case(launcher, cocoon_spec, testinit, case, kdir, t):
    img = os.path.join(t, "image")
    os.makedirs(img)
    os.symlink(os.path.join(kdir, "vmlinuz"), os.path.join(img, "vmlinuz"))
    subprocess.run([os.path.join(GUEST, "mkinitramfs.sh"), kdir, testinit,
                    os.path.join(img, "initrd.img")], check=True)
    with open(os.path.join(img, "rootfs.img"), "wb") as f:
        f.truncate(1 << 20)
    spec = os.path.join(t, "spec")
    os.makedirs(spec)
    open(os.path.join(spec, "docker-compose.yml"), "w").write(
        "services:\n  hello:\n    image: demo/hello@sha256:" + "ab" * 32 + "\n")
    open(os.path.join(spec, "README"), "w").write("test spec for %s\n" % case)
    data = os.path.join(t, "data")
    os.makedirs(data)
    tree = subprocess.run([cocoon_spec, "hash", spec], capture_output=True, text=True,
                          check=True).stdout.strip()
    digest = spec_digest(spec)
    if case == "guest-failure":
        digest = "0" * 64
    run_dir = os.path.join(t, "run")
    seal_sock = os.path.join(t, "seal.sock")
    got = []
    srv = seal_peer(seal_sock, got)
    append = "testinit.spec_sha256=%s testinit.spec_tree=%s" % (digest, tree)
    if case == "sigterm":
        append += " testinit.hold=1"
    if case == "stale-health-answer":
        append += " testinit.health=stale"
    if case == "hostile-health-answer":
        append += " testinit.health=hostile"
    args = [launcher, "--dev", "--accel", "tcg", "--transport", "vport",
            "--image-dir", img, "--cmdline", "console=ttyS0 panic=-1 loglevel=1",
            "--append", append, "--spec", spec, "--data", data,
            "--persistent", os.path.join(t, "persistent.img"), "--persistent-size", "64M",
            "--memory", "512M", "--cpus", "1", "--run-dir", run_dir,
            "--seal", "unix:" + seal_sock, "--ready-timeout", "60", "--stop-timeout", "20"]
    env = dict(os.environ, COCOON_LOG_LEVEL="debug" if case.startswith("hostile") else "info")
    if case == "boot-virtiofs":
        env["VIRTIOFSD_ROOT"] = fetch("virtiofsd")
        args += ["--fs", "virtiofs", "--virtiofsd", os.path.join(GUEST, "virtiofsd-chroot.sh")]
    else:
        args += ["--fs", "9p"]
    start = time.monotonic()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                         text=True)
    lines = []

    def pump():
        for line in p.stdout:
            lines.append(line)
            sys.stdout.write(line)
            sys.stdout.flush()

    th = threading.Thread(target=pump, daemon=True)
    th.start()

    def wait_for(pattern, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(re.search(pattern, x) for x in lines):
                return True
            if p.poll() is not None:
                time.sleep(0.2)
                return any(re.search(pattern, x) for x in lines)
            time.sleep(0.1)
        return False

    if case == "sigkill-qemu":
        if not wait_for(r"TESTINIT: started", 60):
            p.kill()
            return "the guest did not start"
        qpid = None
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    st = open(f"/proc/{pid}/stat").read()
                    cmd = open(f"/proc/{pid}/cmdline", "rb").read()
                except OSError:
                    continue
                ppid = int(st.rsplit(")", 1)[1].split()[1])
                if ppid == p.pid and b"qemu-system" in cmd:
                    qpid = int(pid)
        if not qpid:
            p.kill()
            return "QEMU child of the launcher not found"
        os.kill(qpid, signal.SIGKILL)
    elif case == "sigterm":
        if not wait_for(r"guest ready", 90):
            p.kill()
            return "the guest did not report ready"
        p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        return "the launcher did not end"
    th.join(5)
    srv.close()
    out = "".join(lines)
    elapsed = time.monotonic() - start
    print(f"launch_boot: {case}: exit {rc} after {elapsed:.1f} s")

    # nothing left behind, in every case
    if os.path.exists(run_dir):
        return f"run directory {run_dir} left behind: {os.listdir(run_dir)}"
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                st = open(f"/proc/{pid}/stat").read()
            except OSError:
                continue
            if int(st.rsplit(")", 1)[1].split()[1]) == p.pid:
                return f"process {pid} of the launcher still runs"

    if case in ("boot-9p", "boot-virtiofs", "sigterm", "stale-health-answer",
                "hostile-health-answer"):
        want = 0
        fails = [x for x in lines if "TESTINIT: FAIL" in x]
        if fails:
            return "checks failed in the guest:\n" + "".join(fails)
        for name in ("cmdline-tee-sim", "spec-mounted-ro", "spec-write-refused", "spec-content",
                     "spec-tree", "data-writable", "persistent-disk", "root-disk-ro",
                     "vport-seal-roundtrip", "vport-health-request"):
            if f"TESTINIT: PASS {name}" not in out:
                return f"check {name} did not pass"
        # the guest's serial console and the launcher's log share one stream: a
        # launcher line may land inside a guest line, so look with them taken out
        guest = re.sub(r"cocoon-launch: [^\n]*\n", "", out)
        if case == "stale-health-answer" and "TESTINIT: PASS vport-health-stale" not in guest:
            return "the guest did not send the stale answer"
        if case == "hostile-health-answer":
            if "TESTINIT: PASS vport-health-hostile" not in guest:
                return "the guest did not send the hostile answers"
            launcher_lines = re.findall(r"cocoon-launch: [^\n]*", out)
            if any("\x1b" in x or "\x07" in x for x in launcher_lines):
                return "a terminal escape of the guest reached the launcher's log unescaped"
            if not any("\\x1b]0;owned" in x for x in launcher_lines):
                return "the hostile answers were not logged (escaped)"
            if sum("guest not ready yet" in x for x in launcher_lines) != 2:
                return "expected two not-ready answers (boot null, the escapes)"
        if case == "boot-virtiofs" and "TESTINIT: PASS spec-host-readonly" not in out:
            return "virtiofsd let the guest write to the spec"
        if "guest ready" not in out:
            return "the launcher did not see the guest ready"
        if open(os.path.join(data, "guest-wrote.txt")).read() != "hello from the guest\n":
            return "data/guest-wrote.txt not written by the guest"
        if got != [b"ping from the guest"]:
            return f"seal peer got {got}"
        if case == "sigterm":
            for s in ("QMP: system_powerdown", "TESTINIT: power button pressed",
                      "the guest powered off after the power button"):
                if s not in out:
                    return f"missing '{s}'"
            if "QMP: quit" in out:
                return "QEMU had to be quit"
    elif case == "sigkill-qemu":
        want = 5
        if "QEMU was killed by signal 9" not in out:
            return "the launcher did not report QEMU's death"
    elif case == "guest-failure":
        want = 4
        if "TESTINIT: FAIL spec-content" not in out or "not ready" not in out:
            return "the guest failure was not reported"
    if rc != want:
        return f"exit {rc}, expected {want}"
    m = re.search(r"starting QEMU (\d+) ms after", out)
    r = re.search(r"guest ready (\d+) ms after", out)
    print("launch_boot: figures: launcher overhead %s ms, QEMU start to ready %s ms" %
          (m.group(1) if m else "?", r.group(1) if r else "?"))
    return 0


if __name__ == "__main__":
    main()
