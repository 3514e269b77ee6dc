#!/usr/bin/env python3
"""health-monitor attest -> health-client attest -> cocoon-verify cvm, one case per invocation.

usage: cvm_cases.py HEALTH_MONITOR HEALTH_CLIENT COCOON_VERIFY FIXTURES CASE
       (CASE 'list' prints the names)

The sim cases run the real health-monitor (--tee sim) on a unix socket with a
sim RTMR file and an event log made here, fetch the evidence with the real
health-client, and judge it with the real cocoon-verify. The oracles are not
our code: the spec hash the log carries is what real git prints for the spec
(git init --object-format=sha256, git add -A, git write-tree), RTMR3 is
replayed here from PROTOCOLS.md, the report data is hashlib's SHA-512 of the
domain string, 0 and the nonce. The tdx cases give cocoon-verify the genuine
Intel-signed quote of tests/fixtures/dcap with its collateral, and an
allowlist made from that quote's bytes at the offsets of PROTOCOLS.md. A fake
monitor speaking the framing sends what a hostile host would, to
health-client attest.
"""
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

MONITOR = CLIENT = VERIFY = FIXTURES = None
CASES = {}
ZERO = "0" * 96
NONCE = "00112233445566778899aabbccddeeff0123456789abcdef0011223344556677"


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def git_tree(spec):
    """The spec hash by its definition: git's sha256 tree of the directory."""
    with tempfile.TemporaryDirectory() as g:
        env = dict(os.environ, GIT_DIR=g + "/.git", GIT_WORK_TREE=spec)
        run = lambda *a: subprocess.run(["git", *a], env=env, check=True, capture_output=True,
                                        text=True).stdout.strip()
        run("init", "-q", "--object-format=sha256")
        run("add", "-A")
        return run("write-tree")


def replay(events):
    r = bytes(48)
    for e in events:
        r = hashlib.sha384(r + hashlib.sha384(e.encode()).digest()).digest()
    return r


def make_spec(d, gpu=False):
    spec = os.path.join(d, "spec")
    os.makedirs(spec)
    svc = {"image": "r/app@sha256:" + "1" * 64}
    if gpu:
        svc["gpus"] = "all"
    with open(os.path.join(spec, "docker-compose.yml"), "w") as f:
        json.dump({"services": {"app": svc}}, f)  # JSON is YAML
    with open(os.path.join(spec, "README"), "w") as f:
        f.write("the owner's spec\n")
    return spec


class Guest:
    """A sim guest: event log, RTMR file, platform key, and the real monitor."""

    def __init__(self, d, events):
        self.d = d
        self.key = os.path.join(d, "sim.key")
        with open(self.key, "wb") as f:
            f.write(os.urandom(32))
        self.evlog = os.path.join(d, "evlog")
        with open(self.evlog, "w") as f:
            f.write("".join(e + "\n" for e in events))
        with open(os.path.join(d, "rtmr"), "wb") as f:
            f.write(bytes(144) + replay(events))
        self.addr = "unix:" + os.path.join(d, "health.sock")
        self.log = open(os.path.join(d, "monitor.log"), "w+")
        self.p = subprocess.Popen(
            [MONITOR, "--listen", self.addr, "--tee", "sim", "--sim-rtmr",
             os.path.join(d, "rtmr"), "--sim-platform-key", self.key, "--event-log", self.evlog,
             "--systemctl", "none", "--journalctl", "none", "-q"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise AssertionError("monitor exited:\n" + self.text())
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(self.addr[5:])
                s.close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("monitor did not listen")

    def text(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        self.p.terminate()
        self.p.wait(10)

    def attest(self, out, nonce=NONCE):
        r = subprocess.run([CLIENT, "--connect", self.addr, "attest", "--nonce", nonce,
                            "--out", out], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, "health-client attest %d: %s%s" % (r.returncode, r.stdout,
                                                                      r.stderr)
        return r.stdout


def verify(*args):
    r = subprocess.run([VERIFY, "cvm", *args], capture_output=True, text=True, timeout=60)
    lines = {}
    for line in r.stdout.splitlines():
        w = line.split()
        if len(w) >= 2 and w[0] in ("PASS", "FAIL"):
            name = w[2] if w[1] == "sim" else w[1]
            lines[name] = (w[0], w[1] == "sim", line)
    return r.returncode, lines, r.stdout + r.stderr


def expect(lines, out, **want):
    for name, verdict in want.items():
        assert name in lines, "no %s line:\n%s" % (name, out)
        assert lines[name][0] == verdict, "%s is %s, expected %s:\n%s" % (
            name, lines[name][0], verdict, out)


def allowlist(d, mrs, name="dev"):
    path = os.path.join(d, "allow.json")
    with open(path, "w") as f:
        json.dump({"allow": [{"name": "other", "mrtd": "ab" * 48, "rtmr0": ZERO, "rtmr1": ZERO,
                              "rtmr2": ZERO},
                             dict(name=name, **mrs)]}, f)
    return path


SIM_MRS = {"mrtd": ZERO, "rtmr0": ZERO, "rtmr1": ZERO, "rtmr2": ZERO}


def sim_evidence(d, gpu=False, extra_events=()):
    spec = make_spec(d, gpu)
    events = ["cocoon:spec.tree=" + git_tree(spec), "cocoon:tee=sim", *extra_events,
              "cocoon:tdx_inited"]
    g = Guest(d, events)
    try:
        ev = os.path.join(d, "ev")
        g.attest(ev)
    finally:
        g.stop()
    return spec, ev, g


@case
def sim_all_pass(d):
    spec, ev, g = sim_evidence(d)
    with open(os.path.join(ev, "eventlog")) as f:
        assert f.read() == open(g.evlog).read()
    q = open(os.path.join(ev, "quote"), "rb").read()
    assert len(q) == 1064 and q[:8] == b"CSIMTDQ\x01", q[:8]
    rd = hashlib.sha512(b"cocoon-attest-v1\x00" + bytes.fromhex(NONCE)).digest()
    assert q[8 + 128:8 + 192] == rd, "report data in the quote is not SHA-512(domain 0 nonce)"
    with open(os.path.join(ev, "rtmrs")) as f:
        assert f.read().split()[3] == replay(open(g.evlog).read().split("\n")[:-1]).hex()
    rc, lines, out = verify("--evidence", ev, "--spec", spec, "--nonce", NONCE, "--allow-sim",
                            "--sim-key", g.key, "--allowlist", allowlist(d, SIM_MRS))
    assert rc == 0, out
    assert len(lines) == 7 and all(v[0] == "PASS" and v[1] for v in lines.values()), out
    assert "all 7 claims pass" in out and "proves nothing" in out, out
    # the JSON form says the same
    r = subprocess.run([VERIFY, "cvm", "--evidence", ev, "--spec", spec, "--allow-sim",
                        "--allowlist", allowlist(d, SIM_MRS), "--json"], capture_output=True,
                       text=True)
    o = json.loads(r.stdout)
    assert r.returncode == 0 and o["ok"] and o["sim"] and len(o["claims"]) == 7, r.stdout


@case
def spec_changed(d):
    """The owner's directory differs by one byte from what the CVM measured."""
    spec, ev, g = sim_evidence(d)
    with open(os.path.join(spec, "README"), "a") as f:
        f.write("x")
    rc, lines, out = verify("--evidence", ev, "--spec", spec, "--nonce", NONCE, "--allow-sim",
                            "--allowlist", allowlist(d, SIM_MRS))
    assert rc == 1, out
    expect(lines, out, quote="PASS", nonce="PASS", eventlog="PASS", spec="FAIL", image="PASS")
    assert git_tree(spec) in lines["spec"][2], out


@case
def sim_refused(d):
    spec, ev, g = sim_evidence(d)
    rc, lines, out = verify("--evidence", ev, "--spec", spec, "--allowlist",
                            allowlist(d, SIM_MRS))
    assert rc == 1, out
    expect(lines, out, quote="FAIL", tcb="FAIL")
    assert all(v[1] for v in lines.values()), "every line says sim:\n" + out
    # a wrong sim key: the MACs do not verify
    other = os.path.join(d, "other.key")
    with open(other, "wb") as f:
        f.write(os.urandom(32))
    rc, lines, out = verify("--evidence", ev, "--spec", spec, "--allow-sim", "--sim-key", other,
                            "--allowlist", allowlist(d, SIM_MRS))
    assert rc == 1, out
    expect(lines, out, quote="FAIL")


@case
def nonce_mismatch(d):
    spec, ev, g = sim_evidence(d)
    rc, lines, out = verify("--evidence", ev, "--spec", spec, "--nonce", "ff" * 32,
                            "--allow-sim", "--allowlist", allowlist(d, SIM_MRS))
    assert rc == 1, out
    expect(lines, out, quote="PASS", nonce="FAIL", spec="PASS")
    # the nonce file written by health-client is used without --nonce
    rc, lines, out = verify("--evidence", ev, "--spec", spec, "--allow-sim", "--allowlist",
                            allowlist(d, SIM_MRS))
    assert rc == 0 and "nonce file" in lines["nonce"][2], out


@case
def eventlog_tampered(d):
    spec, ev, g = sim_evidence(d)
    path = os.path.join(ev, "eventlog")
    text = open(path).read()
    with open(path, "w") as f:
        f.write(text.replace("cocoon:tee=sim", "cocoon:tee=tdx"))
    rc, lines, out = verify("--evidence", ev, "--spec", spec, "--allow-sim", "--allowlist",
                            allowlist(d, SIM_MRS))
    assert rc == 1, out
    expect(lines, out, quote="PASS", nonce="PASS", eventlog="FAIL", spec="FAIL")
    # a log with a spec event that is not first (replayed to match: the quote's RTMR3 differs)
    with open(path, "w") as f:
        f.write("\x01bad\n")
    rc, lines, out = verify("--evidence", ev, "--spec", spec, "--allow-sim", "--allowlist",
                            allowlist(d, SIM_MRS))
    expect(lines, out, eventlog="FAIL", spec="FAIL")


@case
def gpu_required(d):
    for sub, events, verdict in (("without", (), "FAIL"), ("with", ["cocoon:gpu=cc-ready"], "PASS")):
        w = os.path.join(d, sub)
        os.mkdir(w)
        spec, ev, g = sim_evidence(w, gpu=True, extra_events=events)
        rc, lines, out = verify("--evidence", ev, "--spec", spec, "--allow-sim", "--allowlist",
                                allowlist(w, SIM_MRS))
        assert rc == (0 if verdict == "PASS" else 1), out
        expect(lines, out, spec="PASS", gpu=verdict)
        assert "asks for a GPU" in lines["gpu"][2], out


@case
def image_not_allowed(d):
    spec, ev, g = sim_evidence(d)
    mrs = dict(SIM_MRS, rtmr1="01" * 48)
    rc, lines, out = verify("--evidence", ev, "--spec", spec, "--allow-sim", "--allowlist",
                            allowlist(d, mrs))
    assert rc == 1, out
    expect(lines, out, image="FAIL", spec="PASS")
    rc, lines, out = verify("--evidence", ev, "--spec", spec, "--allow-sim")
    expect(lines, out, image="FAIL")
    assert "no expected measurements" in out, out
    rc, lines, out = verify("--evidence", ev, "--spec", spec, "--allow-sim", "--mrtd", ZERO,
                            "--rtmr0", ZERO, "--rtmr1", ZERO, "--rtmr2", ZERO)
    assert rc == 0, out
    bad = os.path.join(d, "bad.json")
    with open(bad, "w") as f:
        json.dump({"allow": [{"mrtd": ZERO, "rtmr0": ZERO, "rtmr1": ZERO}]}, f)
    rc, lines, out = verify("--evidence", ev, "--spec", spec, "--allow-sim", "--allowlist", bad)
    expect(lines, out, image="FAIL")
    assert "rtmr2" in lines["image"][2], out
    rc, _, out = verify("--evidence", ev, "--spec", spec, "--mrtd", ZERO)
    assert rc == 2, out


def tdx_evidence(d, nonce_hex=NONCE):
    """The genuine quote as evidence; an allowlist and an event log from its own bytes."""
    q = open(os.path.join(FIXTURES, "dcap", "tdx_quote"), "rb").read()
    mrtd = q[184:232]
    rtmr = [q[376 + 48 * i:424 + 48 * i] for i in range(4)]
    ev = os.path.join(d, "ev")
    os.makedirs(ev)
    shutil.copy(os.path.join(FIXTURES, "dcap", "tdx_quote"), os.path.join(ev, "quote"))
    with open(os.path.join(ev, "eventlog"), "w") as f:
        f.write("cocoon:spec.tree=" + "ab" * 32 + "\n")
    with open(os.path.join(ev, "nonce"), "w") as f:
        f.write(nonce_hex + "\n")
    mrs = {"mrtd": mrtd.hex(), "rtmr0": rtmr[0].hex(), "rtmr1": rtmr[1].hex(),
           "rtmr2": rtmr[2].hex()}
    return ev, mrs, q


@case
def tdx_genuine_quote(d):
    ev, mrs, q = tdx_evidence(d)
    spec = make_spec(d)
    col = os.path.join(FIXTURES, "dcap", "tdx_quote_collateral.json")
    base = ["--evidence", ev, "--spec", spec, "--collateral", col, "--allowlist",
            allowlist(d, mrs, "the fixture's TD")]
    rc, lines, out = verify(*base, "--now", "2025-06-20T00:00:00Z")
    assert rc == 1, out  # the fixture's report data is not ours, nor its RTMR3 our log's
    expect(lines, out, quote="PASS", tcb="PASS", nonce="FAIL", eventlog="FAIL", spec="FAIL",
           image="PASS", gpu="PASS")
    assert not any(v[1] for v in lines.values()), "a real quote is not sim:\n" + out
    assert "UpToDate" in lines["tcb"][2], out
    # the same quote outside its collateral's window, and a status not accepted
    rc, lines, out = verify(*base, "--now", "2025-08-20T00:00:00Z")
    expect(lines, out, quote="FAIL", tcb="FAIL")
    rc, lines, out = verify(*base, "--now", "2025-06-20T00:00:00Z", "--accept", "OutOfDate")
    expect(lines, out, quote="PASS", tcb="FAIL")
    # no collateral: nothing can be said about the quote
    rc, lines, out = verify("--evidence", ev, "--spec", spec, "--mrtd", mrs["mrtd"], "--rtmr0",
                            mrs["rtmr0"], "--rtmr1", mrs["rtmr1"], "--rtmr2", mrs["rtmr2"])
    expect(lines, out, quote="FAIL", image="PASS")
    # one signed byte changed (RTMR2): refused by the signature
    bad = bytearray(q)
    bad[472] ^= 1
    with open(os.path.join(ev, "quote"), "wb") as f:
        f.write(bad)
    rc, lines, out = verify(*base, "--now", "2025-06-20T00:00:00Z")
    expect(lines, out, quote="FAIL", image="FAIL")
    # a real quote with the sim allowance is still judged as real
    with open(os.path.join(ev, "quote"), "wb") as f:
        f.write(q)
    rc, lines, out = verify(*base, "--now", "2025-06-20T00:00:00Z", "--allow-sim")
    expect(lines, out, quote="PASS")
    assert not any(v[1] for v in lines.values()), out


# ---- a hostile monitor for health-client attest ----

def fake_monitor(path, reply_fn):
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(4)

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            with c:
                n = struct.unpack("<I", c.recv(4))[0]
                req = b""
                while len(req) < n:
                    req += c.recv(n - len(req))
                body = reply_fn(req.decode())
                c.sendall(struct.pack("<I", len(body)) + body)

    threading.Thread(target=serve, daemon=True).start()
    return srv


def good_reply(req):
    nonce = req.split()[-1]
    log = "cocoon:spec.tree=" + "ab" * 32 + "\n"
    return {"backend": "sim", "nonce": nonce,
            "report_data": hashlib.sha512(b"cocoon-attest-v1\x00" +
                                          bytes.fromhex(nonce)).hexdigest(),
            "quote": "00" * 1064, "quote_len": 1064, "rtmr": [ZERO] * 3 + [replay(
                [log.strip()]).hex()], "consistent": True, "event_log": log}


@case
def attest_hostile_replies(d):
    sock = os.path.join(d, "fake.sock")
    mutate = {"fn": lambda o: o}
    srv = fake_monitor(sock, lambda req: json.dumps(mutate["fn"](good_reply(req))).encode())
    ev = os.path.join(d, "ev")

    def run(fn):
        mutate["fn"] = fn
        return subprocess.run([CLIENT, "--connect", "unix:" + sock, "attest", "--nonce", NONCE,
                               "--out", ev], capture_output=True, text=True, timeout=30)

    r = run(lambda o: o)
    assert r.returncode == 0, r.stderr
    assert os.path.getsize(os.path.join(ev, "quote")) == 1064
    shutil.rmtree(ev)
    bad = {
        "other nonce": lambda o: dict(o, nonce="ff" * 32),
        "report data not binding": lambda o: dict(o, report_data="00" * 64),
        "quote over 64 KiB": lambda o: dict(o, quote="00" * (65536 + 1)),
        "empty quote": lambda o: dict(o, quote=""),
        "odd hex": lambda o: dict(o, quote="abc"),
        "not hex": lambda o: dict(o, quote="zz" * 10),
        "three rtmrs": lambda o: dict(o, rtmr=[ZERO] * 3),
        "short rtmr": lambda o: dict(o, rtmr=[ZERO] * 3 + ["00"]),
        "event log over 1 MiB": lambda o: dict(o, event_log="a" * 1000 + "\n" * 1100),
        "control byte in the log": lambda o: dict(o, event_log="a\x1bb\n"),
        "log without final newline": lambda o: dict(o, event_log="abc"),
        "backend": lambda o: dict(o, backend="sgx"),
        "not an object": lambda o: [o],
        "no quote": lambda o: {k: v for k, v in o.items() if k != "quote"},
    }
    for name, fn in bad.items():
        r = run(fn)
        assert r.returncode == 1, "%s: exit %d %s" % (name, r.returncode, r.stderr)
        assert not os.path.exists(ev), "%s: evidence written" % name
    # an error reply, and a reply that is not JSON
    for body in (b'{"error":"no"}', b"\x00\x01garbage"):
        srv.close()
        os.unlink(sock)
        srv = fake_monitor(sock, lambda req, b=body: b)
        r = run(lambda o: o)
        assert r.returncode == 1 and not os.path.exists(ev), r.stderr
    srv.close()
    # bad nonces never reach the monitor
    for n in ("00" * 15, "00" * 33, "0g" * 16, "abc"):
        r = subprocess.run([CLIENT, "--connect", "unix:" + sock, "attest", "--nonce", n],
                           capture_output=True, text=True)
        assert r.returncode == 2, n


@case
def monitor_refuses_bad_nonce(d):
    spec = make_spec(d)
    g = Guest(d, ["cocoon:spec.tree=" + git_tree(spec)])
    try:
        for word in ("00" * 15, "00" * 33, "xyz", "0" * 33):
            s = socket.socket(socket.AF_UNIX)
            s.connect(g.addr[5:])
            req = ("json attest " + word).encode()
            s.sendall(struct.pack("<I", len(req)) + req)
            n = struct.unpack("<I", s.recv(4))[0]
            body = b""
            while len(body) < n:
                body += s.recv(n - len(body))
            s.close()
            o = json.loads(body)
            assert "error" in o and ("nonce" in o["error"] or "64 characters" in o["error"]), \
                (word, o)
        # in sim mode without the platform key: an error, not a quote
        os.unlink(g.key)
        r = subprocess.run([CLIENT, "--connect", g.addr, "attest"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 1 and "sim platform key" in r.stderr, r.stderr
    finally:
        g.stop()


def main():
    global MONITOR, CLIENT, VERIFY, FIXTURES
    if sys.argv[-1] == "list":
        print("\n".join(CASES))
        return 0
    MONITOR, CLIENT, VERIFY, FIXTURES, name = sys.argv[1:6]
    with tempfile.TemporaryDirectory(prefix="cvm-") as d:
        CASES[name](d)
    print("ok", name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
