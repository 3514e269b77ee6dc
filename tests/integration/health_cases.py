#!/usr/bin/env python3
"""health-monitor + health-client end to end, one case per invocation.

usage: health_cases.py HEALTH_MONITOR HEALTH_CLIENT CASE   (CASE 'list' prints the names)

Each case starts the real health-monitor on a unix socket (or tcp:127.0.0.1)
in a temporary directory, with a stand-in systemctl (a shell script), a log
directory, a boot-state file, a workload-state file, a sim RTMR file and an
event log whose replay is computed here from PROTOCOLS.md; then it runs the
real health-client, or speaks the framing itself to send what a hostile host
would. Never vsock: the build machines must not use AF_VSOCK.
"""
import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

MONITOR = CLIENT = None
CASES = {}
RUNNING = []
COMMANDS = ["status", "status docker", "sys", "svc docker", "logs docker 2", "tdx", "eventlog",
            "gpu", "containers", "all"]
EVENTS = ["cocoon:spec.tree=" + "ab" * 32, "cocoon:tee=sim", "cocoon:tdx_inited"]


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def fixtures(d, workload=True):
    sysctl = os.path.join(d, "systemctl")
    with open(sysctl, "w") as f:
        f.write('#!/bin/sh\ncase "$1" in\nis-active) echo active ;;\n'
                'show) printf "ActiveState=active\\nSubState=running\\nMainPID=42\\nNRestarts=0\\n" ;;\n'
                "*) exit 1 ;;\nesac\n")
    os.chmod(sysctl, 0o755)
    logs = os.path.join(d, "logs")
    os.mkdir(logs)
    with open(os.path.join(logs, "docker.log"), "w") as f:
        f.write("".join("docker line %d\n" % i for i in range(1, 11)))
    with open(os.path.join(d, "boot-state"), "w") as f:
        f.write("ready\n")
    if workload:
        with open(os.path.join(d, "workload.json"), "w") as f:
            json.dump({"version": 1, "updated": 1700000000, "engine": "docker",
                       "services": [{"name": "vllm", "image": "r/vllm@sha256:" + "0" * 64,
                                     "container_id": "c0ffee", "state": "running",
                                     "health": "healthy", "restarts": 0,
                                     "started_at": "2026-11-26T00:00:00Z",
                                     "secret": "must not be copied"}]}, f)
    rtmr3 = bytes(48)
    with open(os.path.join(d, "evlog"), "w") as f:
        for e in EVENTS:
            f.write(e + "\n")
            rtmr3 = hashlib.sha384(rtmr3 + hashlib.sha384(e.encode()).digest()).digest()
    with open(os.path.join(d, "rtmr"), "wb") as f:
        f.write(bytes(144) + rtmr3)
    return rtmr3


class Monitor:
    def __init__(self, d, *extra, addr=None, workload=True):
        self.rtmr3 = fixtures(d, workload)
        self.addr = addr or "unix:" + os.path.join(d, "health.sock")
        self.log = open(os.path.join(d, "monitor-%d.log" % len(RUNNING)), "w+")
        self.p = subprocess.Popen(
            [MONITOR, "--listen", self.addr, "--tee", "sim", "--sim-rtmr", os.path.join(d, "rtmr"),
             "--systemctl", os.path.join(d, "systemctl"), "--journalctl", "none",
             "--log-dir", os.path.join(d, "logs"), "--state-file", os.path.join(d, "boot-state"),
             "--workload-state", os.path.join(d, "workload.json"),
             "--event-log", os.path.join(d, "evlog"), "--sample-interval", "100",
             "--nvml", os.path.join(d, "no-such-libnvidia-ml.so.1"), *extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        RUNNING.append(self)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise AssertionError("monitor exited %d:\n%s" % (self.p.returncode, self.text()))
            try:
                self.connect().close()
                time.sleep(0.3)  # a few samples for the rates
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("monitor did not start listening:\n" + self.text())

    def text(self):
        self.log.seek(0)
        return self.log.read()

    def connect(self):
        kind, rest = self.addr.split(":", 1)
        if kind == "unix":
            s = socket.socket(socket.AF_UNIX)
            s.connect(rest)
        else:
            host, port = rest.rsplit(":", 1)
            s = socket.create_connection((host, int(port)))
        s.settimeout(20)
        return s

    def alive(self):
        if self.p.poll() is not None:
            raise AssertionError("monitor died (%d):\n%s" % (self.p.returncode, self.text()))


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise AssertionError("connection closed after %d of %d bytes" % (len(b), n))
        b += c
    return b


def closed(s):
    # the monitor closes with our unread bytes in its buffer: a reset is a close too
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


def ask(s, payload):
    s.sendall(struct.pack("<I", len(payload)) + payload)
    (n,) = struct.unpack("<I", recv_exact(s, 4))
    return recv_exact(s, n).decode()


def client(mon, *args, check=0):
    p = subprocess.run([CLIENT, "--connect", mon.addr, *args], capture_output=True, text=True,
                       timeout=60)
    if check is not None and p.returncode != check:
        raise AssertionError("health-client %s: exit %d, expected %d\n%s%s" % (
            " ".join(args), p.returncode, check, p.stdout, p.stderr))
    return p


def is_error(text):
    try:
        o = json.loads(text)
    except ValueError:
        return False
    return isinstance(o, dict) and list(o) == ["error"]


def check_json(cmd, o, mon):
    name = cmd.split()[0]
    if name == "status":
        assert o["boot"] == "ready", o
        assert all(s["active"] == "active" for s in o["services"]), o
        if cmd == "status docker":
            assert [s["name"] for s in o["services"]] == ["docker"], o
    elif name == "sys":
        assert set(o["rates"]) == {"10s", "1m", "5m"}, o
        assert o["rates"]["10s"]["valid"], o
        assert o["cores"] >= 1 and o["memory_bytes"]["total"] > 0, o
    elif name == "svc":
        assert o["ActiveState"] == "active" and o["MainPID"] == "42", o
    elif name == "logs":
        assert o["lines"] == ["docker line 9", "docker line 10"], o
    elif name == "tdx":
        assert o["backend"] == "sim" and "protects nothing" in o["warning"], o
        assert o["rtmr"][3] == mon.rtmr3.hex(), o
    elif name == "eventlog":
        assert o["entries"] == EVENTS and o["count"] == 3, o
        assert o["replayed_rtmr3"] == mon.rtmr3.hex() and o["matches"] is True, o
    elif name == "gpu":
        assert o["available"] is False and "NVML not available" in o["reason"], o
    elif name == "containers":
        svc = o["services"][0]
        assert svc["name"] == "vllm" and svc["state"] == "running", o
        assert "secret" not in svc, o
    elif name == "all":
        assert set(o) == {"status", "sys", "tdx", "eventlog", "gpu", "containers"}, o


@case
def every_command_text(d):
    mon = Monitor(d)
    for cmd in COMMANDS:
        out = client(mon, *cmd.split()).stdout
        assert out.strip() and not is_error(out), (cmd, out)
    out = client(mon, "logs", "docker", "2").stdout
    assert out == "docker line 9\ndocker line 10\n", out
    out = client(mon, "eventlog").stdout
    assert "matches: true" in out and EVENTS[0] in out, out
    out = client(mon, "sys").stdout
    for w in ("10s:", "1m:", "5m:", "cpu_pct", "net_rx_Bps", "disk_write_Bps", "uptime_s"):
        assert w in out, (w, out)
    mon.alive()


@case
def every_command_json(d):
    mon = Monitor(d)
    for cmd in COMMANDS:
        out = client(mon, "--json", *cmd.split()).stdout
        check_json(cmd, json.loads(out), mon)
    mon.alive()


@case
def over_tcp(d):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    mon = Monitor(d, addr="tcp:127.0.0.1:%d" % port)
    for cmd in COMMANDS:
        check_json(cmd, json.loads(client(mon, "--json", *cmd.split()).stdout), mon)


@case
def malformed_requests(d):
    mon = Monitor(d)
    bad = [b"", b"nope", b"json", b"logs docker 0", b"logs docker 1000001", b"logs docker abc",
           b"logs docker -5", b"svc sshd", b"logs ../../etc/shadow", b"status docker\x00x",
           b"sys\x01", b"sys\n", b"status \xc3\xa9", b"svc", b"sys sys", b"a " * 40,
           b"x" * 65, b"status $(reboot)", b"logs docker;id"]
    s = mon.connect()
    for req in bad:
        reply = ask(s, req)
        assert is_error(reply), (req, reply)
    # the same connection still answers a good request
    assert json.loads(ask(s, b"json status"))["boot"] == "ready"
    s.close()
    # an oversized frame: an error, then the connection closes; others go on
    for n in (4097, 20 << 20, 0xFFFFFFFF):
        s = mon.connect()
        s.sendall(struct.pack("<I", n) + b"status")
        (m,) = struct.unpack("<I", recv_exact(s, 4))
        reply = recv_exact(s, m).decode()
        assert is_error(reply) and "too large" in reply, reply
        assert closed(s), "connection not closed after an oversized frame"
        s.close()
    # a half frame then close, and a slow client: dropped, monitor goes on
    s = mon.connect()
    s.sendall(struct.pack("<I", 10) + b"sta")
    s.close()
    s = mon.connect()
    s.sendall(struct.pack("<I", 6) + b"st")
    time.sleep(1.5)  # --timeout 1000 in this case
    assert closed(s), "slow client not dropped"
    s.close()
    mon.alive()
    assert json.loads(client(mon, "--json", "status").stdout)["boot"] == "ready"


malformed_requests.extra = ("--timeout", "1000")


@case
def client_errors(d):
    mon = Monitor(d)
    p = client(mon, "svc", "sshd", check=1)
    assert "unknown service" in p.stdout, p.stdout
    client(mon, check=2)
    client(mon, "--bogus", check=2)
    p = subprocess.run([CLIENT, "--connect", "unix:" + os.path.join(d, "nobody.sock"), "status"],
                       capture_output=True, text=True)
    assert p.returncode == 4 and "nobody.sock" in p.stderr, (p.returncode, p.stderr)
    for args, want in ((["-i", "worker"], "vsock:6:9999 status"),
                       (["-i", "proxy:1"], "vsock:17:9999 status"),
                       (["-i", "client:3", "-p", "1234"], "vsock:34:1234 status"),
                       ([], "vsock:4:9999 status"),
                       (["-c", "42", "--json"], "vsock:42:9999 json status")):
        p = subprocess.run([CLIENT, "--print-only", *args, "status"], capture_output=True,
                           text=True)
        assert p.returncode == 0 and p.stdout.strip() == want, (args, p.stdout, p.stderr)
    for args in (["-i", "nobody"], ["-i", "worker:x"], ["-c", "abc"], ["-c", "2"], ["-p", "0"]):
        p = subprocess.run([CLIENT, "--print-only", *args, "status"], capture_output=True)
        assert p.returncode == 2, args


@case
def no_workload_state(d):
    mon = Monitor(d, workload=False)
    out = client(mon, "containers").stdout
    assert "no workload state yet" in out, out
    with open(os.path.join(d, "workload.json"), "w") as f:
        f.write("{not json")
    o = json.loads(client(mon, "--json", "containers").stdout)
    assert "not valid" in o["state"], o


@case
def many_clients(d):
    mon = Monitor(d, "--max-conns", "8")
    idle = [mon.connect() for _ in range(6)]
    for cmd in COMMANDS:
        client(mon, "--json", *cmd.split())
    busy = [mon.connect() for _ in range(4)]
    time.sleep(0.3)
    # the connections over --max-conns are told so and closed
    told = 0
    for s in busy:
        s.settimeout(2)
        try:
            (m,) = struct.unpack("<I", recv_exact(s, 4))
            told += "busy" in recv_exact(s, m).decode()
        except (AssertionError, socket.timeout):
            pass
    assert told >= 2, told
    for s in idle + busy:
        s.close()
    time.sleep(0.3)
    client(mon, "status")
    mon.alive()


@case
def logs_bounds(d):
    mon = Monitor(d)
    o = json.loads(client(mon, "--json", "logs", "docker", "1000000").stdout)
    assert len(o["lines"]) == 10 and o["truncated"] is False, o
    with open(os.path.join(d, "logs", "docker.log"), "ab") as f:
        f.write(b"bad \x1b[31m escape \x00 and \xff\n")
    out = client(mon, "logs", "docker", "1").stdout
    assert out == "bad ?[31m escape ? and ?\n", repr(out)
    p = client(mon, "logs", "cocoon-init", check=1)
    assert "no log" in p.stdout, p.stdout


@case
def once_mode(d):
    fixtures(d)
    p = subprocess.run([MONITOR, "--nvml", os.path.join(d, "none.so"), "--once", "gpu"],
                       capture_output=True, text=True)
    assert p.returncode == 0 and "available: false" in p.stdout, (p.stdout, p.stderr)
    p = subprocess.run([MONITOR, "--once", "json", "sys"], capture_output=True, text=True)
    assert p.returncode == 0 and json.loads(p.stdout)["cores"] >= 1, p.stdout
    p = subprocess.run([MONITOR, "--once", "nope"], capture_output=True, text=True)
    assert p.returncode == 1 and is_error(p.stdout), p.stdout
    p = subprocess.run([MONITOR, "--bogus"], capture_output=True, text=True)
    assert p.returncode == 2


def main():
    global MONITOR, CLIENT
    if sys.argv[-1] == "list":
        print("\n".join(CASES))
        return 0
    MONITOR, CLIENT, name = sys.argv[1], sys.argv[2], sys.argv[3]
    fn = CASES[name]
    with tempfile.TemporaryDirectory(prefix="health-") as d:
        try:
            if hasattr(fn, "extra"):
                orig = Monitor.__init__

                def init(self, dd, *extra, **kw):
                    orig(self, dd, *fn.extra, *extra, **kw)
                Monitor.__init__ = init
            fn(d)
        finally:
            for m in RUNNING:
                if m.p.poll() is None:
                    m.p.terminate()
                    try:
                        m.p.wait(5)
                    except subprocess.TimeoutExpired:
                        m.p.kill()
                        m.p.wait()
    print("ok", name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
