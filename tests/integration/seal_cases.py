#!/usr/bin/env python3
"""seal-server + seal-client (sim backend) end to end, one case per invocation.

usage: seal_cases.py SEAL_SERVER SEAL_CLIENT CASE   (CASE 'list' prints the names)

Each case starts the real seal-server on a unix socket (or tcp:127.0.0.1) in a
temporary directory and runs the real seal-client against it, or speaks the
wire protocol itself to send what a broken or hostile guest would. The sim
report and key derivation are recomputed here from PROTOCOLS.md and
lib/cocoon/tee.h, independently of the C code, so a wrong layout or a wrong
derivation shows up as a mismatch.
"""
import hashlib
import hmac
import os
import resource
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile"))
import hostilerows  # noqa: E402

SERVER = CLIENT = None
CASES = {}
RUNNING = []
FRAME_MAX = 16536


def case(fn):
    CASES[fn.__name__] = fn
    return fn


class Server:
    def __init__(self, d, *extra, addr=None, secret=None):
        self.d = d
        self.sock = os.path.join(d, "seal.sock")
        self.addr = addr or "unix:" + self.sock
        self.secret = secret or os.path.join(d, "state", "seal-sim.key")
        self.pk = os.path.join(d, "platform.key")
        self.log = open(os.path.join(d, "server-%d.log" % len(RUNNING)), "w+")
        self.p = subprocess.Popen(
            [SERVER, "--listen", self.addr, "--secret-file", self.secret,
             "--write-platform-key", self.pk, *extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        RUNNING.append(self)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise AssertionError("seal-server exited %d:\n%s" % (self.p.returncode, self.text()))
            try:
                self.connect().close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("seal-server did not start listening:\n" + self.text())

    def connect(self):
        if self.addr.startswith("unix:"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(self.addr[5:])
        else:
            _, host, port = self.addr.split(":")
            s = socket.create_connection((host, int(port)))
        s.settimeout(20)
        return s

    def text(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                raise AssertionError("seal-server did not stop on SIGTERM")
        return self.p.returncode


def client(srv, out, *extra, name="default", rtmr=None):
    args = [CLIENT, "--tee", "sim", "--connect", srv.addr, "--sim-platform-key", srv.pk,
            "--sim-rtmr", rtmr or os.path.join(srv.d, "rtmr"), "-k", name, "-o", out, *extra]
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def get_key(srv, name="default", rtmr=None, out=None):
    out = out or os.path.join(srv.d, "key-%s-%d" % (name, time.monotonic_ns()))
    r = client(srv, out, name=name, rtmr=rtmr)
    assert r.returncode == 0, "seal-client failed (%d): %s\nserver:\n%s" % (
        r.returncode, r.stderr, srv.text())
    with open(out, "rb") as f:
        return f.read()


# ---- the sim formats, from their description ----

def sim_tcb_hash():
    return hashlib.sha384(b"cocoon-sim").digest()


def sim_report(pk, rtmrs, reportdata, rtype=0x81, subtype=0, version=1):
    r = bytearray(1024)
    r[0], r[1], r[2] = rtype, subtype, version
    r[16:26] = b"cocoon-sim"
    r[32:80] = sim_tcb_hash()
    r[128:192] = reportdata
    r[256:284] = b"cocoon-sim: not a TDX report"
    r[720:912] = rtmrs
    r[80:128] = hashlib.sha384(bytes(r[512:1024])).digest()
    r[224:256] = hmac.new(pk, b"cocoon-sim-report-v1" + bytes(r[0:224]), hashlib.sha256).digest()
    return bytes(r)


def expected_key(srv, name, rtmrs=bytes(192)):
    with open(srv.secret, "rb") as f:
        seal_key = f.read()[:16]
    tdinfo = bytearray(512)
    tdinfo[208:400] = rtmrs
    tee_info_hash = hashlib.sha384(bytes(tdinfo)).digest()
    return hashlib.sha256(seal_key + tee_info_hash + sim_tcb_hash()
                          + hashlib.sha256(name.encode()).digest()).digest()


def extend_rtmr3(path, message):
    try:
        with open(path, "rb") as f:
            rt = bytearray(f.read())
    except FileNotFoundError:
        rt = bytearray(192)
    rt[144:192] = hashlib.sha384(bytes(rt[144:192]) + hashlib.sha384(message.encode()).digest()).digest()
    with open(path, "wb") as f:
        f.write(rt)
    return bytes(rt)


def tl_bytes(b):
    if len(b) < 254:
        out = bytes([len(b)]) + b
    else:
        out = b"\xfe" + struct.pack("<I", len(b))[:3] + b
    return out + b"\0" * (-len(out) % 4)


def request(report, pubkey, name=b"default", ctor=0x317a821c):
    return struct.pack("<I", ctor) + tl_bytes(report) + tl_bytes(pubkey) + tl_bytes(name)


def frame(payload):
    return struct.pack("<I", len(payload)) + payload


def platform_key(srv):
    with open(srv.pk, "rb") as f:
        return f.read()


def valid_request(srv, **kw):
    """A request that passes every check but the curve one (pubkey is not a point)."""
    pub = bytes(range(64))
    rd = hashlib.sha256(pub).digest() + bytes(32)
    return request(sim_report(platform_key(srv), bytes(192), rd, **kw), pub)


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def expect_closed_without_reply(srv, data, needle, what=None):
    secret = sha256_of(srv.secret)
    s = srv.connect()
    s.sendall(data)
    try:
        got = s.recv(1 << 16)
    except ConnectionResetError:
        got = b""
    s.close()
    assert got == b"", "server replied %r to a bad request" % got[:40]
    deadline = time.time() + 10
    while needle not in srv.text():
        assert time.time() < deadline, "no log line with %r:\n%s" % (needle, srv.text())
        time.sleep(0.05)
    # and it still serves good clients
    assert len(get_key(srv)) == 32
    assert sha256_of(srv.secret) == secret
    hostilerows.row("seal peer: %s" % (what or CURRENT.replace("_", " ")),
                    "seal-server (%s)" % needle,
                    "no reply byte, no key; sealing secret sha256 %s.. same; a good client "
                    "still gets its key" % secret[:12])


# ---- cases ----

@case
def key_obtained(d):
    srv = Server(d)
    out = os.path.join(d, "key")
    r = client(srv, out, name="disk_encryption")
    assert r.returncode == 0, r.stderr
    st = os.stat(out)
    assert st.st_size == 32 and stat.S_IMODE(st.st_mode) == 0o400, oct(st.st_mode)
    with open(out, "rb") as f:
        key = f.read()
    assert key == expected_key(srv, "disk_encryption"), "key differs from the derivation in PROTOCOLS.md"
    assert key.hex() not in r.stdout + r.stderr, "the key was printed"
    # a second run replaces the 0400 file atomically
    assert client(srv, out, name="disk_encryption").returncode == 0
    sec = os.stat(srv.secret)
    assert stat.S_IMODE(sec.st_mode) == 0o600 and sec.st_size == 48
    assert stat.S_IMODE(os.stat(srv.pk).st_mode) == 0o400
    assert srv.stop() == 0


@case
def same_rtmr_same_key(d):
    srv = Server(d)
    rt = os.path.join(d, "rtmr")
    extend_rtmr3(rt, "cocoon:spec.tree=" + "a" * 64)
    assert get_key(srv, rtmr=rt) == get_key(srv, rtmr=rt)
    srv.stop()
    # the same secrets after a restart give the same key
    srv2 = Server(d)
    k = get_key(srv2, rtmr=rt)
    with open(rt, "rb") as f:
        assert k == expected_key(srv2, "default", f.read())


@case
def changed_rtmr_different_key(d):
    srv = Server(d)
    a, b = os.path.join(d, "rtmr-a"), os.path.join(d, "rtmr-b")
    ra = extend_rtmr3(a, "cocoon:spec.tree=" + "a" * 64)
    rb = extend_rtmr3(b, "cocoon:spec.tree=" + "b" * 64)
    ka, kb = get_key(srv, rtmr=a), get_key(srv, rtmr=b)
    assert ka != kb
    assert ka == expected_key(srv, "default", ra) and kb == expected_key(srv, "default", rb)
    # one more extension changes it again
    rc = extend_rtmr3(a, "cocoon:tdx_inited")
    kc = get_key(srv, rtmr=a)
    assert kc not in (ka, kb) and kc == expected_key(srv, "default", rc)


@case
def key_name_different_key(d):
    srv = Server(d)
    k1, k2 = get_key(srv, "app"), get_key(srv, "disk_encryption")
    assert k1 != k2 and k1 == expected_key(srv, "app")


@case
def tcp_transport(d):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    srv = Server(d, addr="tcp:127.0.0.1:%d" % port)
    assert get_key(srv) == expected_key(srv, "default")


@case
def wrong_platform_key_refused(d):
    srv = Server(d)
    bad = os.path.join(d, "other.key")
    with open(bad, "wb") as f:
        f.write(os.urandom(32))
    r = subprocess.run([CLIENT, "--tee", "sim", "--connect", srv.addr, "--sim-platform-key", bad,
                        "--sim-rtmr", os.path.join(d, "rtmr"), "-o", os.path.join(d, "k")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 4, (r.returncode, r.stderr)
    assert "closed the connection without a reply" in r.stderr, r.stderr
    assert "sim report MAC does not verify" in srv.text()
    assert not os.path.exists(os.path.join(d, "k"))
    hostilerows.row("seal peer: a report MACed with another platform key",
                    "seal-server (sim report MAC)", "seal-client got no key, wrote no file")


@case
def oversized_length(d):
    srv = Server(d)
    expect_closed_without_reply(srv, struct.pack("<I", FRAME_MAX + 1) + b"x" * 64, "over the maximum")


@case
def huge_length(d):
    srv = Server(d)
    expect_closed_without_reply(srv, struct.pack("<I", 0xffffffff), "over the maximum")


@case
def empty_frame(d):
    srv = Server(d)
    expect_closed_without_reply(srv, frame(b""), "request refused")


@case
def truncated_tl(d):
    srv = Server(d)
    req = valid_request(srv)
    expect_closed_without_reply(srv, frame(req[:700]), "request refused")


@case
def trailing_bytes(d):
    srv = Server(d)
    expect_closed_without_reply(srv, frame(valid_request(srv) + b"\0" * 4), "too much data")


@case
def wrong_constructor(d):
    srv = Server(d)
    req = struct.pack("<I", 0x163a179a) + valid_request(srv)[4:]
    expect_closed_without_reply(srv, frame(req), "unexpected magic")


@case
def wrong_report_type(d):
    srv = Server(d)
    expect_closed_without_reply(srv, frame(valid_request(srv, rtype=0x00)), "report type 0x00")


@case
def wrong_report_subtype(d):
    srv = Server(d)
    expect_closed_without_reply(srv, frame(valid_request(srv, subtype=1)), "report subtype 1")


@case
def wrong_report_version(d):
    srv = Server(d)
    expect_closed_without_reply(srv, frame(valid_request(srv, version=2)), "report version 2")


@case
def report_data_mismatch(d):
    srv = Server(d)
    pub = bytes(range(64))
    rd = hashlib.sha256(b"another key").digest() + bytes(32)
    req = request(sim_report(platform_key(srv), bytes(192), rd), pub)
    expect_closed_without_reply(srv, frame(req), "not made for this key")


@case
def report_data_nonzero_tail(d):
    srv = Server(d)
    pub = bytes(range(64))
    rd = hashlib.sha256(pub).digest() + b"\1" * 32
    req = request(sim_report(platform_key(srv), bytes(192), rd), pub)
    expect_closed_without_reply(srv, frame(req), "not made for this key")


@case
def bad_mac(d):
    srv = Server(d)
    req = bytearray(valid_request(srv))
    req[8 + 600] ^= 1  # a TDINFO byte: the MAC still matches, tee_info_hash does not
    expect_closed_without_reply(srv, frame(bytes(req)), "tee_info_hash",
                                "a TDINFO byte flipped (MAC intact)")
    req = bytearray(valid_request(srv))
    req[8 + 20] ^= 1  # cpusvn: under the MAC
    expect_closed_without_reply(srv, frame(bytes(req)), "MAC does not verify",
                                "a byte under the report MAC flipped")


@case
def not_a_curve_point(d):
    srv = Server(d)
    expect_closed_without_reply(srv, frame(valid_request(srv)), "client public key")


@case
def bad_key_name(d):
    srv = Server(d)
    pub = bytes(range(64))
    rd = hashlib.sha256(pub).digest() + bytes(32)
    req = request(sim_report(platform_key(srv), bytes(192), rd), pub, name=b"../etc")
    expect_closed_without_reply(srv, frame(req), "request refused")


@case
def truncated_frame_then_close(d):
    srv = Server(d)
    s = srv.connect()
    s.sendall(struct.pack("<I", 1104) + b"\x1c\x82")
    s.close()
    deadline = time.time() + 10
    while "middle of a frame" not in srv.text():
        assert time.time() < deadline, srv.text()
        time.sleep(0.05)
    assert len(get_key(srv)) == 32


@case
def slow_client_timed_out(d):
    srv = Server(d, "--frame-timeout", "500")
    s = srv.connect()
    s.sendall(b"\x50\x04")  # half a header, then nothing
    t0 = time.time()
    assert len(get_key(srv)) == 32  # others are served meanwhile
    assert s.recv(16) == b"", "the trickling connection was not closed"
    took = time.time() - t0
    assert took < 5, "closed after %.1f s, frame timeout is 0.5 s" % took
    assert "not complete in 500 ms" in srv.text()


@case
def idle_connections_1000(d):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 1100
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(need, soft), hard), hard))
    srv = Server(d)
    idle = []
    for i in range(1000):
        idle.append(srv.connect())
    t0 = time.time()
    keys = [get_key(srv, name="k%d" % (i % 3)) for i in range(10)]
    took = time.time() - t0
    assert keys[0] == keys[3] and keys[0] != keys[1]
    # every idle connection is still open (the server did not drop them)
    for s in idle[::97]:
        s.setblocking(False)
        try:
            assert s.recv(1) != b"", "an idle connection was closed"
        except BlockingIOError:
            pass
    # a half-sent frame on one of them does not disturb the rest
    idle[0].sendall(struct.pack("<I", 1104))
    assert len(get_key(srv)) == 32
    for s in idle:
        s.close()
    assert took < 30, "10 requests took %.1f s with 1000 idle connections" % took


@case
def pipelined_bad_after_good(d):
    # one connection: a good request's reply is not possible to forge here, so
    # check that two bad frames in one write close the connection after the first
    srv = Server(d)
    expect_closed_without_reply(srv, frame(b"\0" * 8) + frame(b"\0" * 8), "request refused")
    assert srv.text().count("request refused") == 1, srv.text()


@case
def secret_file_group_readable_refused(d):
    sec = os.path.join(d, "seal-sim.key")
    with open(sec, "wb") as f:
        f.write(os.urandom(48))
    for mode in (0o640, 0o604, 0o660):
        os.chmod(sec, mode)
        r = subprocess.run([SERVER, "--listen", "unix:" + os.path.join(d, "s.sock"),
                            "--secret-file", sec], capture_output=True, text=True, timeout=30)
        assert r.returncode == 1, (mode, r.returncode, r.stderr)
        assert "chmod 600" in r.stderr and sec in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(d, "s.sock"))


@case
def secret_file_wrong_size_refused(d):
    sec = os.path.join(d, "seal-sim.key")
    fd = os.open(sec, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"x" * 47)
    os.close(fd)
    r = subprocess.run([SERVER, "--listen", "unix:" + os.path.join(d, "s.sock"),
                        "--secret-file", sec], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "47 bytes" in r.stderr, (r.returncode, r.stderr)


@case
def secret_file_symlink_refused(d):
    real = os.path.join(d, "real.key")
    fd = os.open(real, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, os.urandom(48))
    os.close(fd)
    link = os.path.join(d, "link.key")
    os.symlink(real, link)
    r = subprocess.run([SERVER, "--listen", "unix:" + os.path.join(d, "s.sock"),
                        "--secret-file", link], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and link in r.stderr, (r.returncode, r.stderr)


@case
def usage_errors(d):
    def run(*a):
        return subprocess.run(list(a), capture_output=True, text=True, timeout=30)
    assert run(SERVER, "--help").returncode == 0
    assert run(CLIENT, "--help").returncode == 0
    assert "seal-server" in run(SERVER, "--version").stdout
    assert run(SERVER, "--backend", "sgx").returncode == 2
    assert run(SERVER, "--listen", "vport:seal").returncode == 2
    assert run(CLIENT, "--tee", "sim").returncode == 2  # no -o
    assert run(CLIENT, "-o", "/x", "-k", "bad/name").returncode == 2
    assert run(CLIENT, "-o", "/x", "-m", "abc").returncode == 2
    assert run(CLIENT, "-o", "/x", "--tee", "sev").returncode == 2


@case
def tdx_mode_without_device(d):
    r = subprocess.run([CLIENT, "--tee", "tdx", "--connect", "unix:" + os.path.join(d, "none"),
                        "-o", os.path.join(d, "k")], capture_output=True, text=True, timeout=30)
    if os.path.exists("/dev/tdx_guest"):
        return
    assert r.returncode == 3 and "/dev/tdx_guest" in r.stderr, (r.returncode, r.stderr)


@case
def server_unreachable(d):
    srv_pk = os.path.join(d, "pk")
    with open(srv_pk, "wb") as f:
        f.write(os.urandom(32))
    r = subprocess.run([CLIENT, "--tee", "sim", "--sim-platform-key", srv_pk, "--sim-rtmr",
                        os.path.join(d, "rtmr"), "--connect", "unix:" + os.path.join(d, "none"),
                        "-o", os.path.join(d, "k")], capture_output=True, text=True, timeout=30)
    assert r.returncode == 4, (r.returncode, r.stderr)


CURRENT = ""


def main():
    global SERVER, CLIENT, CURRENT
    hostilerows.take(sys.argv)
    if len(sys.argv) == 4 and sys.argv[3] == "list" or len(sys.argv) == 2 and sys.argv[1] == "list":
        print("\n".join(CASES))
        return 0
    SERVER, CLIENT, name = sys.argv[1], sys.argv[2], sys.argv[3]
    CURRENT = name
    with tempfile.TemporaryDirectory(prefix="seal-") as d:
        try:
            CASES[name](d)
        finally:
            for srv in RUNNING:
                if srv.p.poll() is None:
                    srv.p.kill()
                    srv.p.wait()
    print("ok", name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
