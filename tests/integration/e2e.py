#!/usr/bin/env python3
"""End to end: the dev guest image, cocoon-init, Docker and the demo workload,
booted by `cocoon-launch --dev` (TCG unless E2E_ACCEL says otherwise).

Usage: e2e.py BUILD_DIR LAUNCHER COCOON_SPEC SEAL_SERVER HEALTH_CLIENT COCOON_VERIFY CASE
       e2e.py list

Five boots serve every case. The first case to run makes them (under a lock)
and caches what they showed in BUILD_DIR/e2e-<key>.json (key: the image's
inputs hash, the host programs, the demo workload and this script), so each
case then only reads the cache. One seal-server (sim backend) serves all.

  demo      the demo spec (scripts/demo-workload.py: examples/demo-hello as an
            OCI archive in the data share), a blank disk A, and
            cocoon.e2e_probe=1 (the dev image's probe unit then asks dockerd
            for pulls the spec does not allow). The service is asked through
            the host port forward: its answer, and a TCP connection from inside
            the container to a host port that listens but is not in
            x-cocoon.egress; health-client status and containers; health-client
            attest and the owner's cocoon-verify cvm --allow-sim on that evidence
            with the demo spec (every claim passes) and with a changed copy of
            it (the spec claim fails); SIGTERM.
  second    the same spec and disk A again: the visit counter the service keeps
            on its named volume (on the encrypted disk) goes on from boot 1.
  changed   a spec with one egress rule more (another spec.tree, so other
            sealed keys) on disk A: the boot stops at the disk step, the
            launcher exits 4, disk A's SHA-256 is unchanged.
  egress    that spec on a blank disk B: the allowed address:port connects from
            inside the container, another port of the same address does not.
  verity    the demo spec with one byte of the root file system flipped (a copy
            of rootfs.img): the guest stops at dm-verity, cocoon-init never
            runs, the launcher exits 4.
"""
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import bootcache  # noqa: E402
sys.path.insert(0, os.path.join(ROOT, "tests", "hostile"))
import hostilerows  # noqa: E402
CASES = ["demo-service-answers", "demo-health-status", "demo-health-containers",
         "demo-stops-cleanly", "docker-pull-denied", "egress-refused", "second-boot-volume-kept",
         "changed-spec-disk-untouched", "egress-allowed-rule", "verity-byte-flip",
         "demo-attest-verified"]
ROOT_TYPE = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"  # root x86-64
BOOT_LIMIT = int(os.environ.get("E2E_BOOT_LIMIT", "900"))


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Listener:
    """A host TCP port that accepts (the guest reaches it as 10.0.2.2)."""

    def __init__(self):
        self.s = socket.socket()
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(16)
        self.port = self.s.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            self.accepted += 1
            c.close()


def http_get(port, path, timeout=20):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.read().decode(errors="replace").strip()
    except Exception as e:  # noqa: BLE001 - the error is the result
        return f"ERROR {e}"


def build_image():
    cache = os.environ.get("COCOON_TEST_CACHE", os.path.expanduser("~/.cache/cocoon-test"))
    out = os.path.join(cache, "image-dev")
    os.makedirs(out, exist_ok=True)
    env = dict(os.environ, PATH=os.environ["PATH"] + ":/usr/sbin:/sbin")
    start = time.monotonic()
    with open(os.path.join(cache, ".image.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        r = subprocess.run([os.path.join(ROOT, "image", "build.sh"), "--profile", "dev", out],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sys.stdout.write(r.stdout[-3000:])
    if r.returncode != 0:
        sys.exit("image/build.sh failed (exit %d)" % r.returncode)
    print("e2e: image ready after %.1f s" % (time.monotonic() - start))
    return out


def flip_root_byte(src, dst):
    subprocess.run(["cp", "--sparse=always", src, dst], check=True)
    t = json.loads(subprocess.run(["sfdisk", "--json", dst], capture_output=True, text=True,
                                  check=True, env=dict(os.environ, PATH=os.environ["PATH"] +
                                                       ":/usr/sbin:/sbin")).stdout)
    t = t["partitiontable"]
    start = next(p["start"] for p in t["partitions"] if p["type"].upper() == ROOT_TYPE)
    # a byte in the root file system's first 4 KiB block (the EROFS superblock
    # lies at 1024), which the mount reads first
    off = start * t.get("sectorsize", 512) + 0x400 + 0x78
    with open(dst, "r+b") as f:
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ 0x01]))
    return off


class Boots:
    def __init__(self, p, t, image):
        self.p, self.t, self.image = p, t, image
        self.accel = os.environ.get("E2E_ACCEL", "tcg")

    def boot(self, name, spec, data, disk, image_dir=None, append=None, actions=None):
        """one cocoon-launch --dev boot; actions(port, console) runs once ready"""
        t = self.t
        run_dir = os.path.join(t, "run-" + name)
        console = os.path.join(t, f"console-{name}.log")
        port = free_port()
        args = [self.p["launcher"], "--dev", "--name", "e2e-" + name, "--accel", self.accel,
                "--transport", "vport", "--fs", "9p", "--image-dir", image_dir or self.image,
                "--spec", spec, "--data", data, "--persistent", disk,
                "--persistent-size", "1G", "--memory", "2G", "--cpus", "2",
                "--forward", f"127.0.0.1:{port}:8080", "--run-dir", run_dir,
                "--seal", "unix:" + os.path.join(t, "seal.sock"),
                "--sim-platform-key", os.path.join(t, "platform.key"),
                "--console", console, "--ready-timeout", str(BOOT_LIMIT - 60),
                "--stop-timeout", "60"]
        if append:
            args += ["--append", append]
        start = time.monotonic()
        lp, lines, th = bootcache.start_launcher(args, name)
        res = {"port": port}
        while time.monotonic() - start < BOOT_LIMIT and lp.poll() is None:
            if any("guest ready" in x for x in lines):
                break
            time.sleep(0.5)
        res["ready"] = any("guest ready" in x for x in lines)
        res["ready_s"] = round(time.monotonic() - start, 1)
        if res["ready"] and actions:
            actions(res, port, run_dir, console)
        if lp.poll() is None:
            lp.send_signal(signal.SIGTERM)
        try:
            res["rc"] = lp.wait(timeout=120)
        except subprocess.TimeoutExpired:
            lp.kill()
            res["rc"] = "killed"
        th.join(5)
        res["seconds"] = round(time.monotonic() - start, 1)
        res["launcher"] = "".join(lines)[-6000:]
        text = open(console, errors="replace").read() if os.path.exists(console) else ""
        res["init_lines"] = re.findall(r"cocoon-init: .*", text)
        res["probe_lines"] = re.findall(r"COCOON-E2E: .*", text)
        res["verity_lines"] = [x for x in text.splitlines() if "verity" in x.lower()][-8:]
        res["console_tail"] = text[-4000:]
        print(f"e2e: boot {name}: ready={res['ready']} after {res['ready_s']} s, "
              f"exit {res['rc']}, {res['seconds']} s in all")
        for x in res["init_lines"]:
            print(f"[{name}] {x}")
        return res

    def health(self, res, run_dir):
        hc = [self.p["health_client"], "--connect", "unix:" + os.path.join(run_dir, "health.sock"),
              "--timeout", "30000"]
        res["health"] = {}
        for cmd in ("status", "containers"):
            for js in (False, True):
                r = subprocess.run(hc + (["--json"] if js else []) + [cmd], capture_output=True,
                                   text=True)
                res["health"][("json " if js else "") + cmd] = {
                    "rc": r.returncode, "out": r.stdout, "err": r.stderr}


    def attest(self, res, run_dir, spec):
        """health-client attest, then the owner's cocoon-verify cvm on the demo spec and on a
        copy changed by one file (its spec claim must fail)"""
        ev, nonce = os.path.join(self.t, "evidence"), os.urandom(32).hex()
        z = "0" * 96  # sim: MRTD and RTMR0..2 are zero
        allow = os.path.join(self.t, "allow.json")
        with open(allow, "w") as f:
            json.dump({"allow": [{"name": "dev image (sim)", "mrtd": z, "rtmr0": z, "rtmr1": z,
                                  "rtmr2": z}]}, f)
        r = subprocess.run([self.p["health_client"], "--connect",
                            "unix:" + os.path.join(run_dir, "health.sock"), "--timeout", "30000",
                            "attest", "--nonce", nonce, "--out", ev], capture_output=True,
                           text=True)
        res["attest"] = {"rc": r.returncode, "out": r.stdout + r.stderr}
        changed = os.path.join(self.t, "spec-changed")
        shutil.copytree(spec, changed)
        with open(os.path.join(changed, "NOTE"), "w") as f:
            f.write("not what the CVM measured\n")
        for k, d in (("cvm", spec), ("cvm_changed", changed)):
            r = subprocess.run([self.p["cocoon_verify"], "cvm", "--evidence", ev, "--spec", d,
                                "--nonce", nonce, "--allow-sim", "--allowlist", allow],
                               capture_output=True, text=True)
            res[k] = {"rc": r.returncode, "out": r.stdout + r.stderr}


def make_runs(p, image):
    t = tempfile.mkdtemp(prefix="e2e.", dir="/var/tmp")
    srv = None
    try:
        pk = os.path.join(t, "platform.key")
        srv = subprocess.Popen([p["seal_server"], "--backend", "sim", "--listen",
                                "unix:" + os.path.join(t, "seal.sock"), "--secret-file",
                                os.path.join(t, "seal-sim.key"), "--write-platform-key", pk, "-q"])
        for _ in range(100):
            if os.path.exists(pk):
                break
            time.sleep(0.1)
        closed, allowed, other = Listener(), Listener(), Listener()
        demo = os.path.join(t, "demo")
        wl = [sys.executable, os.path.join(ROOT, "scripts", "demo-workload.py")]
        digest = subprocess.run(wl + [demo], check=True, capture_output=True,
                                text=True).stdout.strip()
        eg = os.path.join(t, "egress")
        subprocess.run(wl + [eg, "--egress", f"{{cidr: 10.0.2.2/32, ports: [{allowed.port}]}}"],
                       check=True, capture_output=True)
        runs = {"digest": digest}
        for s in ("demo", "egress"):
            runs["tree_" + s] = subprocess.run([p["cocoon_spec"], "hash", os.path.join(t, s, "spec")],
                                               capture_output=True, text=True).stdout.strip()
        b = Boots(p, t, image)
        disk_a, disk_b = os.path.join(t, "disk-a.img"), os.path.join(t, "disk-b.img")

        def demo_actions(res, port, run_dir, console):
            res["answer"] = http_get(port, "/")
            res["probe_closed"] = http_get(port, f"/probe?10.0.2.2:{closed.port}")
            b.health(res, run_dir)
            b.attest(res, run_dir, os.path.join(demo, "spec"))
            end = time.monotonic() + 120
            while time.monotonic() < end:
                if "COCOON-E2E: done" in open(console, errors="replace").read():
                    break
                time.sleep(1)

        def second_actions(res, port, run_dir, console):
            res["answer"] = http_get(port, "/")

        def egress_actions(res, port, run_dir, console):
            res["answer"] = http_get(port, "/")
            res["probe_allowed"] = http_get(port, f"/probe?10.0.2.2:{allowed.port}")
            res["probe_other"] = http_get(port, f"/probe?10.0.2.2:{other.port}")

        runs["demo"] = b.boot("demo", os.path.join(demo, "spec"), os.path.join(demo, "data"),
                              disk_a, append="cocoon.e2e_probe=1", actions=demo_actions)
        runs["closed_accepted"] = closed.accepted
        runs["second"] = b.boot("second", os.path.join(demo, "spec"),
                                os.path.join(demo, "data"), disk_a, actions=second_actions)
        runs["disk_a_before_changed"] = sha256_file(disk_a)
        runs["changed"] = b.boot("changed", os.path.join(eg, "spec"), os.path.join(eg, "data"),
                                 disk_a)
        runs["disk_a_after_changed"] = sha256_file(disk_a)
        runs["egress"] = b.boot("egress", os.path.join(eg, "spec"), os.path.join(eg, "data"),
                                disk_b, actions=egress_actions)
        runs["allowed_accepted"], runs["other_accepted"] = allowed.accepted, other.accepted
        bad = os.path.join(t, "image-bad")
        os.makedirs(bad)
        for f in ("vmlinuz", "initrd.img", "cmdline"):
            os.symlink(os.path.join(image, f), os.path.join(bad, f))
        runs["flipped_at"] = flip_root_byte(os.path.join(image, "rootfs.img"),
                                            os.path.join(bad, "rootfs.img"))
        runs["verity"] = b.boot("verity", os.path.join(demo, "spec"), os.path.join(demo, "data"),
                                os.path.join(t, "disk-c.img"), image_dir=bad)
        return runs
    finally:
        if srv:
            srv.terminate()
            srv.wait(10)
        shutil.rmtree(t, ignore_errors=True)


def judge(runs, case):
    d, s, c, e, v = (runs[k] for k in ("demo", "second", "changed", "egress", "verity"))
    for k in ("demo", "second", "changed", "egress", "verity"):
        r = runs[k]
        print(f"e2e: boot {k}: ready={r['ready']} after {r['ready_s']} s, exit {r['rc']}, "
              f"{r['seconds']} s in all")

    def ready(r, what):
        if not r["ready"]:
            return (f"{what}: the guest never reported ready (exit {r['rc']}); cocoon-init said:\n"
                    + "\n".join(r["init_lines"][-12:]) + "\n--- console tail:\n"
                    + r["console_tail"][-2500:])
        return None

    if case == "demo-service-answers":
        e_ = ready(d, "boot demo")
        if e_:
            return e_
        print("e2e: the service answered:", d["answer"])
        if not d["answer"].startswith("hello from a Cocoon confidential VM, visit 1"):
            return f"unexpected answer {d['answer']!r}"
    elif case in ("demo-health-status", "demo-health-containers"):
        e_ = ready(d, "boot demo")
        if e_:
            return e_
        cmd = case.split("-")[-1]
        for k in (cmd, "json " + cmd):
            h = d["health"][k]
            print(f"--- health-client {k} (exit {h['rc']}):\n{h['out']}{h['err']}")
            if h["rc"] != 0:
                return f"health-client {k}: exit {h['rc']}"
        j = json.loads(d["health"]["json " + cmd]["out"])
        if cmd == "status" and j.get("ready") is not True:
            return f"status is not ready: {j}"
        if cmd == "containers":
            svc = [x for x in json.dumps(j).split('"') if x == "hello"]
            if not svc or "running" not in json.dumps(j):
                return "containers does not show the service 'hello' running"
    elif case == "demo-attest-verified":
        e_ = ready(d, "boot demo")
        if e_:
            return e_
        for k in ("attest", "cvm", "cvm_changed"):
            print(f"--- {k} (exit {d[k]['rc']}):\n{d[k]['out']}")
        if d["attest"]["rc"] != 0:
            return f"health-client attest: exit {d['attest']['rc']}"
        lines = [x for x in d["cvm"]["out"].splitlines() if x.startswith(("PASS", "FAIL"))]
        if d["cvm"]["rc"] != 0 or len(lines) != 7 or not all(x.startswith("PASS sim") for x in lines):
            return "cocoon-verify cvm --allow-sim on the demo spec: not every claim passed"
        bad = [x.split()[2] for x in d["cvm_changed"]["out"].splitlines() if x.startswith("FAIL")]
        if d["cvm_changed"]["rc"] != 1 or bad != ["spec"]:
            return f"a changed spec directory: want only the spec claim to fail, got {bad}"
    elif case == "demo-stops-cleanly":
        if d["rc"] != 0:
            return f"cocoon-launch exited {d['rc']} after SIGTERM (want 0)"
    elif case == "docker-pull-denied":
        e_ = ready(d, "boot demo")
        if e_:
            return e_
        lines = d["probe_lines"]
        print("\n".join(lines))
        pulls = [x for x in lines if "docker pull" in x]
        if len(pulls) != 2:
            return f"the probe unit reported {len(pulls)} pulls, want 2"
        for x in pulls:
            if "exit 0" in x or "cocoon-authz" not in x:
                return f"not denied by cocoon-authz: {x}"
    elif case == "egress-refused":
        e_ = ready(d, "boot demo")
        if e_:
            return e_
        print("e2e:", d["probe_closed"])
        if "failed" not in d["probe_closed"]:
            return f"the container reached a port not in x-cocoon.egress: {d['probe_closed']}"
        if runs["closed_accepted"]:
            return "the host listener accepted a connection from the guest"
    elif case == "second-boot-volume-kept":
        e_ = ready(s, "boot second")
        if e_:
            return e_
        print("e2e: second boot answered:", s["answer"])
        if not s["answer"].startswith("hello from a Cocoon confidential VM, visit 2"):
            return f"want visit 2 (the counter on the named volume), got {s['answer']!r}"
    elif case == "changed-spec-disk-untouched":
        if runs["tree_demo"] == runs["tree_egress"]:
            return "the two specs have the same spec.tree"
        print("e2e: cocoon-init in the changed-spec boot:\n" + "\n".join(c["init_lines"][-6:]))
        if c["ready"] or c["rc"] != 4:
            return f"the changed-spec boot: ready={c['ready']}, exit {c['rc']} (want not ready, 4)"
        if not any("disk FAILED" in x and "does not open" in x for x in c["init_lines"]):
            return "cocoon-init did not stop at the disk step saying the key does not open it"
        if runs["disk_a_before_changed"] != runs["disk_a_after_changed"]:
            return "disk A changed in the changed-spec boot"
        print(f"e2e: disk A sha256 {runs['disk_a_after_changed']} before and after")
    elif case == "egress-allowed-rule":
        e_ = ready(e, "boot egress")
        if e_:
            return e_
        print("e2e:", e["probe_allowed"], "/", e["probe_other"])
        if "connected" not in e["probe_allowed"] or runs["allowed_accepted"] < 1:
            return f"the allowed rule did not let the container connect: {e['probe_allowed']}"
        if "failed" not in e["probe_other"] or runs["other_accepted"]:
            return f"a port outside the rule was reachable: {e['probe_other']}"
    elif case == "verity-byte-flip":
        print(f"e2e: flipped the byte at offset {runs['flipped_at']} of a copy of rootfs.img")
        print("\n".join(v["verity_lines"]))
        if v["ready"] or v["rc"] != 4:
            return f"the corrupted image: ready={v['ready']}, exit {v['rc']} (want not ready, 4)"
        if v["init_lines"]:
            return "cocoon-init ran on a corrupted root"
        if not any("verity" in x.lower() and ("corrupt" in x.lower() or "fail" in x.lower())
                   for x in v["verity_lines"]):
            return "no dm-verity failure on the console"
    return None


def hostile_row(runs, case):
    """The row of `make hostile` for a case that passed (judge() checked
    what it claims against the boots)."""
    if case == "verity-byte-flip":
        hostilerows.row("tampered root: one byte of the EROFS root flipped (TCG boot)",
                        "dm-verity (the initrd's root mount)",
                        "cocoon-init never ran (no step line), so no key was asked for; "
                        "launcher exit %d" % runs["verity"]["rc"])
    elif case == "changed-spec-disk-untouched":
        hostilerows.row("tampered spec: one egress rule more on the old disk (TCG boot)",
                        "sealed keys follow spec.tree; cocoon-init step 5",
                        "disk A sha256 %s.. before = after" % runs["disk_a_after_changed"][:12])
    elif case == "docker-pull-denied":
        hostilerows.row("unlisted pulls from inside the VM (TCG boot)", "cocoon-authz",
                        "dockerd answered both pulls with the plugin's denial")
    elif case == "egress-refused":
        hostilerows.row("egress: container to a host port not in x-cocoon.egress (TCG boot)",
                        "egress firewall (cocoon-init step 7)",
                        "the host listener accepted no connection")


def main():
    hostilerows.take(sys.argv)
    if sys.argv[1:] == ["list"]:
        print("\n".join(CASES))
        return
    names = ["build", "launcher", "cocoon_spec", "seal_server", "health_client", "cocoon_verify"]
    p = dict(zip(names, sys.argv[1:7]))
    case = sys.argv[7]
    for tool, group in (("qemu-system-x86_64", "vm"), ("mkosi", "image")):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run scripts/install-deps.sh {group}")
    files = [p[k] for k in names[1:]] + [os.path.abspath(__file__),
                                         os.path.join(HERE, "bootcache.py"),
                                         os.path.join(ROOT, "scripts", "demo-workload.py"),
                                         os.path.join(ROOT, "examples", "demo-hello", "hello.c")]

    def prepare():
        image = build_image()
        with open(os.path.join(image, "inputs.sha256"), "rb") as f:
            return f.read(), image

    runs = bootcache.cached_runs(p["build"], "e2e", files, lambda image: make_runs(p, image),
                                 prepare)
    print(f"e2e: five boots took {runs['total_s']} s")
    err = judge(runs, case)
    if err:
        sys.exit(f"e2e: {case}: {err}")
    hostile_row(runs, case)
    print(f"e2e: {case}: ok")


if __name__ == "__main__":
    main()
