#!/usr/bin/env python3
"""The guest programs in TCG guests booted by `cocoon-launch --dev`.

Usage: guest_runs.py BUILD_DIR LAUNCHER COCOON_SPEC TESTINIT SEAL_SERVER SEAL_CLIENT
                     HEALTH_MONITOR HEALTH_CLIENT COCOON_DISK CASE
       guest_runs.py list

Three boots serve every case; the first case to run makes them (under a lock)
and caches what they showed in BUILD_DIR/guest-runs-<key>.json, where the key
is the SHA-256 of the programs, the test init and these scripts, so a rebuild
boots again. Each case then only reads the cache.

The host side: one `seal-server --backend sim` on a unix socket (the launcher's
seal channel connects QEMU's chardev to it); the test initramfs holds
seal-client, seal-server, health-monitor and cocoon-disk (dynamic, with their
libraries), the kernel modules for vsock loopback and dm-crypt, and the sim
platform key seal-server wrote. testinit.mode=programs runs them (see
tests/guest/testinit.c):

  boot 1  spec A, blank persistent disk: sealed key over the vport, both seal
          ends inside the guest over vsock loopback, cocoon-disk formats the
          disk, a marker is written through dm-crypt, closed; health-client
          asks health-monitor from the host; SIGTERM -> power button -> off.
  boot 2  spec A again: the same key; the disk opens (--no-format), marker intact.
  boot 3  spec B (other content, so another spec.tree in RTMR3): another key;
          cocoon-disk open must refuse it and the image's SHA-256 must not change.
"""
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bootcache  # noqa: E402
import launch_boot  # noqa: E402  (fetch)

CASES = ["seal-same-spec-same-key", "seal-changed-spec-other-key", "seal-vsock-loopback",
         "health-status", "health-sys", "health-containers", "disk-format-write",
         "disk-reopen-intact", "disk-wrong-key-refused"]
MODULES = ["vsock_loopback", "dm_crypt", "xts", "ecb", "aesni_intel", "algif_skcipher",
           "sha512_generic"]
MARKER = b"cocoon test data, written through dm-crypt in the first boot\n"
HEALTH = ["status", "sys", "containers"]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def make_spec(d, text):
    os.makedirs(d)
    open(os.path.join(d, "docker-compose.yml"), "w").write(
        "services:\n  hello:\n    image: demo/hello@sha256:" + "ab" * 32 + "\n")
    open(os.path.join(d, "README"), "w").write(text)


def boot(p, t, n, spec, disk, ask_health):
    """one cocoon-launch --dev boot; returns what it showed"""
    run_dir = os.path.join(t, "run")
    args = [p["launcher"], "--dev", "--accel", "tcg", "--transport", "vport", "--fs", "9p",
            "--image-dir", os.path.join(t, "image"),
            "--cmdline", "console=ttyS0 panic=-1 loglevel=1",
            "--append", f"testinit.mode=programs testinit.disk={disk}",
            "--spec", spec, "--data", os.path.join(t, "data"),
            "--persistent", os.path.join(t, "persistent.img"), "--persistent-size", "64M",
            "--memory", "1G", "--cpus", "1", "--run-dir", run_dir,
            "--seal", "unix:" + os.path.join(t, "seal.sock"),
            "--ready-timeout", "90", "--stop-timeout", "20"]
    start = time.monotonic()
    lp, lines, th = bootcache.start_launcher(args, f"boot {n}")
    res = {"health": {}}
    end = time.monotonic() + 200
    while time.monotonic() < end and lp.poll() is None:
        if any("guest ready" in x for x in lines):
            break
        time.sleep(0.2)
    res["ready_s"] = round(time.monotonic() - start, 1)
    if ask_health and lp.poll() is None:
        for cmd in HEALTH:
            for js in (False, True):
                a = [p["health_client"], "--connect", "unix:" + os.path.join(run_dir, "health.sock"),
                     "--timeout", "30000"] + (["--json"] if js else []) + [cmd]
                t0 = time.monotonic()
                r = subprocess.run(a, capture_output=True, text=True)
                res["health"][("json " if js else "") + cmd] = {
                    "rc": r.returncode, "out": r.stdout, "err": r.stderr,
                    "ms": round(1000 * (time.monotonic() - t0))}
    if lp.poll() is None:
        lp.send_signal(signal.SIGTERM)
    try:
        res["rc"] = lp.wait(timeout=120)
    except subprocess.TimeoutExpired:
        lp.kill()
        res["rc"] = "killed"
    th.join(5)
    out = "".join(lines)
    res["seconds"] = round(time.monotonic() - start, 1)
    res["pass"] = re.findall(r"TESTINIT: PASS ([A-Za-z0-9_.-]+)", out)
    res["fail"] = re.findall(r"TESTINIT: FAIL (.*)", out)
    m = re.search(r"TESTINIT: RESULT seal-key-sha256 ([0-9a-f]{64})", out)
    res["key_sha256"] = m.group(1) if m else None
    return res


def make_runs(p):
    kdir = launch_boot.fetch("kernel")
    t = tempfile.mkdtemp(prefix="gr.", dir="/tmp")
    srv = None
    try:
        os.makedirs(os.path.join(t, "data"))
        os.makedirs(os.path.join(t, "image"))
        os.symlink(os.path.join(kdir, "vmlinuz"), os.path.join(t, "image", "vmlinuz"))
        with open(os.path.join(t, "image", "rootfs.img"), "wb") as f:
            f.truncate(1 << 20)
        pk = os.path.join(t, "platform.key")
        srv = subprocess.Popen([p["seal_server"], "--backend", "sim", "--listen",
                                "unix:" + os.path.join(t, "seal.sock"), "--secret-file",
                                os.path.join(t, "seal-sim.key"), "--write-platform-key", pk])
        for _ in range(100):
            if os.path.exists(pk):
                break
            time.sleep(0.1)
        mk = [os.path.join(launch_boot.GUEST, "mkinitramfs.sh"), kdir, p["testinit"],
              os.path.join(t, "image", "initrd.img"), "--file", pk, "/sim-platform-key"]
        for m in MODULES:
            mk += ["--module", m]
        for b in ("seal_client", "seal_server", "health_monitor", "cocoon_disk"):
            mk += ["--bin", p[b]]
        subprocess.run(mk, check=True)
        print("guest_runs: initramfs %d KiB" %
              (os.path.getsize(os.path.join(t, "image", "initrd.img")) >> 10))
        spec_a, spec_b = os.path.join(t, "spec-a"), os.path.join(t, "spec-b")
        make_spec(spec_a, "spec A\n")
        make_spec(spec_b, "spec B: other content, other spec.tree\n")
        runs = {}
        runs["boot1"] = boot(p, t, 1, spec_a, "format", True)
        img = os.path.join(t, "persistent.img")
        runs["marker_in_image"] = MARKER in open(img, "rb").read()
        runs["boot2"] = boot(p, t, 2, spec_a, "reopen", False)
        runs["image_before_boot3"] = sha256_file(img)
        runs["boot3"] = boot(p, t, 3, spec_b, "refuse", False)
        runs["image_after_boot3"] = sha256_file(img)
        for s in (spec_a, spec_b):
            runs["tree_" + os.path.basename(s)] = subprocess.run(
                [p["cocoon_spec"], "hash", s], capture_output=True, text=True).stdout.strip()
        return runs
    finally:
        if srv:
            srv.terminate()
            srv.wait(10)
        shutil.rmtree(t, ignore_errors=True)


def boot_ok(b, *names):
    if b["rc"] != 0:
        return f"launcher exit {b['rc']}"
    if b["fail"]:
        return "in-guest failures: " + "; ".join(b["fail"])
    for n in names:
        if n not in b["pass"]:
            return f"check {n} did not pass"
    return None


def health_case(b, cmd):
    h = b["health"]
    for k in (cmd, "json " + cmd):
        if k not in h:
            return f"health-client {k} not asked (guest not ready?)"
        if h[k]["rc"] != 0:
            return f"health-client {k}: exit {h[k]['rc']}: {h[k]['err']}"
        print(f"--- health-client {k} ({h[k]['ms']} ms):\n{h[k]['out']}")
    j = json.loads(h["json " + cmd]["out"])
    if cmd == "status" and j.get("ready") is not True:
        return f"status not ready: {j}"
    if cmd == "sys" and not any(k in json.dumps(j) for k in ("uptime", "load")):
        return "sys has no uptime/load"
    if cmd == "containers" and "hello" not in json.dumps(j):
        return "containers does not list the service 'hello'"
    if not h[cmd]["out"].strip():
        return f"{cmd}: empty text answer"
    return None


def judge(runs, case):
    b1, b2, b3 = runs["boot1"], runs["boot2"], runs["boot3"]
    for k in ("boot1", "boot2", "boot3"):
        b = runs[k]
        print(f"guest_runs: {k}: exit {b['rc']}, ready after {b['ready_s']} s, "
              f"{b['seconds']} s in all, key sha256 {b['key_sha256']}")
    if case == "seal-same-spec-same-key":
        e = boot_ok(b1, "rtmr3-spec-tree", "seal-vport") or boot_ok(b2, "seal-vport")
        if e:
            return e
        if not b1["key_sha256"] or b1["key_sha256"] != b2["key_sha256"]:
            return "the same spec gave different keys"
    elif case == "seal-changed-spec-other-key":
        if runs["tree_spec-a"] == runs["tree_spec-b"]:
            return "the two specs have the same tree"
        if "seal-vport" not in b3["pass"] or not b3["key_sha256"]:
            return "boot 3 got no key"
        if b3["key_sha256"] == b1["key_sha256"]:
            return "a changed spec gave the same key"
    elif case == "seal-vsock-loopback":
        for b in (b1, b2, b3):
            if "seal-vsock-loopback" not in b["pass"]:
                return "seal over vsock loopback failed: " + "; ".join(b["fail"])
    elif case.startswith("health-"):
        return boot_ok(b1, "health-monitor-started") or health_case(b1, case[len("health-"):])
    elif case == "disk-format-write":
        e = boot_ok(b1, "disk-found", "disk-open", "disk-write", "disk-close")
        if e:
            return e
        if runs["marker_in_image"]:
            return "the marker is in the image in plain text"
    elif case == "disk-reopen-intact":
        return boot_ok(b2, "disk-open", "disk-data-intact", "disk-close")
    elif case == "disk-wrong-key-refused":
        if "disk-wrong-key-refused" not in b3["pass"]:
            return "boot 3: " + "; ".join(b3["fail"])
        if runs["image_before_boot3"] != runs["image_after_boot3"]:
            return "the image changed in boot 3"
        print(f"guest_runs: image sha256 {runs['image_after_boot3']} before and after boot 3")
    return None


def main():
    if sys.argv[1:] == ["list"]:
        print("\n".join(CASES))
        return
    names = ["build", "launcher", "cocoon_spec", "testinit", "seal_server", "seal_client",
             "health_monitor", "health_client", "cocoon_disk"]
    p = dict(zip(names, sys.argv[1:10]))
    case = sys.argv[10]
    if not shutil.which("qemu-system-x86_64"):
        sys.exit("qemu-system-x86_64 is missing: run scripts/install-deps.sh vm")
    files = [{"self": os.path.abspath(__file__),
              "mk": os.path.join(launch_boot.GUEST, "mkinitramfs.sh"),
              "init_src": os.path.join(launch_boot.GUEST, "testinit.c")}.get(k, p.get(k))
             for k in names[1:] + ["self", "mk", "init_src"]]
    runs = bootcache.cached_runs(p["build"], "guest-runs", files, lambda _: make_runs(p))
    print(f"guest_runs: three boots took {runs['total_s']} s")
    err = judge(runs, case)
    if err:
        sys.exit(f"guest_runs: {case}: {err}")
    print(f"guest_runs: {case}: ok")


if __name__ == "__main__":
    main()
