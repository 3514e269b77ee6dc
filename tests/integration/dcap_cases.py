#!/usr/bin/env python3
"""cocoon-verify quote: one case per invocation.

usage: dcap_cases.py VERIFY VERIFY_TESTROOT FORGE FIXTURES PEER_DIR CASE
       (CASE 'list' prints the names)

The oracle is Intel's signatures on the genuine TDX quote v4 of
FIXTURES/dcap, and a peer verifier run on the same bytes: the npm package
@phala/dcap-qvl under node (installed into PEER_DIR by npm when missing; the
peer cases are skipped, exit 77, when node or npm are not there). SGX and TDX
v5 cases come from FORGE (quotes signed under the TEST root): the installed
build refuses them, the test-root build accepts them. The PCCS case serves
the fixture's collateral from a local HTTP server in the PCCS v4 shape.
"""
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse

VERIFY = VERIFY_T = FORGE = FIX = PEER = None
CASES = {}
GOOD = "2025-06-20T00:00:00Z"
PEER_VERSION = "0.3.9"


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def run(*args, check=None):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)
    if check is not None and p.returncode != check:
        raise AssertionError("%s: exit %d, expected %d\nstdout: %s\nstderr: %s" % (
            " ".join(map(str, args)), p.returncode, check, p.stdout, p.stderr))
    return p


def quote():
    return os.path.join(FIX, "dcap", "tdx_quote")


def collateral():
    return os.path.join(FIX, "dcap", "tdx_quote_collateral.json")


def refused(p, check):
    assert p.returncode == 1, "exit %d, expected 1: %s" % (p.returncode, p.stderr)
    assert p.stderr.startswith("cocoon-verify: %s" % check) or ("cocoon-verify: '%s': %s" % (quote(), check)) in p.stderr, \
        "message does not name '%s': %s" % (check, p.stderr)


@case
def genuine():
    p = run(VERIFY, "quote", quote(), "--collateral", collateral(), "--now", GOOD, check=0)
    assert p.stdout.strip() == "TDX quote v4: UpToDate", p.stdout
    run(VERIFY, "quote", quote(), "--collateral", collateral(), "--now", "1750377600", check=0)


@case
def genuine_json():
    p = run(VERIFY, "quote", quote(), "--collateral", collateral(), "--now", GOOD, "--json", check=0)
    o = json.loads(p.stdout)
    assert o["status"] == "UpToDate" and o["advisory_ids"] == [] and o["tee"] == "tdx", o
    assert o["version"] == 4 and o["test_root"] is False, o
    for k, n in [("mr_td", 48), ("rtmr0", 48), ("rtmr1", 48), ("rtmr2", 48), ("rtmr3", 48),
                 ("report_data", 64), ("mr_config_id", 48), ("mr_owner", 48),
                 ("mr_owner_config", 48), ("td_attributes", 8), ("xfam", 8)]:
        assert len(o[k]) == 2 * n and int(o[k], 16) >= 0, (k, o[k])
    # the body fields are the quote's bytes (TD report at offset 48)
    raw = open(quote(), "rb").read()
    assert bytes.fromhex(o["mr_td"]) == raw[48 + 136:48 + 184]
    assert bytes.fromhex(o["report_data"]) == raw[48 + 520:48 + 584]


@case
def outside_windows():
    for t in ("2025-06-19T10:00:00Z", "2025-07-20T00:00:00Z", "2031-01-01T00:00:00Z"):
        p = run(VERIFY, "quote", quote(), "--collateral", collateral(), "--now", t)
        refused(p, "pck chain crl window")
    p = run(VERIFY, "quote", quote(), "--collateral", collateral(), "--now", "2010-01-01T00:00:00Z",
            "--json")
    assert p.returncode == 1
    o = json.loads(p.stdout)
    assert o["ok"] is False and o["check"] and o["check"] in o["error"], o


@case
def tampered():
    raw = bytearray(open(quote(), "rb").read())
    with tempfile.TemporaryDirectory(prefix="dcap.") as d:
        for off, check in ((100, "quote signature"), (48 * 20, "qe report signature"),
                           (1, "quote parse")):
            t = bytearray(raw)
            t[off] ^= 1
            path = os.path.join(d, "q")
            open(path, "wb").write(t)
            p = run(VERIFY, "quote", path, "--collateral", collateral(), "--now", GOOD)
            assert p.returncode == 1 and check in p.stderr, (off, p.stderr)
        # a collateral part changed: its signature
        c = json.load(open(collateral()))
        c["tcb_info"] = c["tcb_info"].replace('"UpToDate"', '"UpToDatf"', 1)
        path = os.path.join(d, "c.json")
        json.dump(c, open(path, "w"))
        refused(run(VERIFY, "quote", quote(), "--collateral", path, "--now", GOOD),
                "tcb info signature")


@case
def usage():
    for args in ([], ["quote"], ["quote", quote()], ["quote", quote(), "--collateral", collateral(),
                                                      "--now", "yesterday"],
                 ["quote", quote(), "--collateral", collateral(), "--pccs", "http://x"],
                 ["quote", quote(), "--collateral", collateral(), "--cache", "/tmp"], ["frob"]):
        p = run(VERIFY, *args)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
    assert run(VERIFY, "quote", "--help", check=0).stdout.startswith("Usage: cocoon-verify quote")
    p = run(VERIFY, "quote", "/nonexistent/q", "--collateral", collateral())
    assert p.returncode == 3 and "/nonexistent/q" in p.stderr, p.stderr


def forged(d, kind):
    run(FORGE, os.path.join(FIX, "dcap-test"), d, kind, check=0)
    return os.path.join(d, "quote"), os.path.join(d, "collateral.json")


@case
def test_root_only_in_test_build():
    for kind, tee, ver in (("sgx3", "sgx", 3), ("tdx5", "tdx", 5), ("tdx5-td15", "tdx", 5)):
        with tempfile.TemporaryDirectory(prefix="dcap.") as d:
            q, c = forged(d, kind)
            p = run(VERIFY_T, "quote", q, "--collateral", c, "--now", "2027-06-15T00:00:00Z",
                    "--json", check=0)
            o = json.loads(p.stdout)
            assert o["status"] == "UpToDate" and o["tee"] == tee and o["version"] == ver, o
            assert o["test_root"] is True
            if tee == "sgx":
                assert o["mr_enclave"] == "e1" * 32 and o["isv_prod_id"] == 1, o
                assert o["report_data"] == "ab" * 64
            else:
                assert o["body"] == ("td1.5" if "td15" in kind else "td1.0"), o
            # the installed build pins Intel's root and refuses it
            p = run(VERIFY, "quote", q, "--collateral", c, "--now", "2027-06-15T00:00:00Z")
            assert p.returncode == 1 and "pinned Intel SGX Root CA" in p.stderr, p.stderr
    # and the test build refuses the genuine Intel quote
    p = run(VERIFY_T, "quote", quote(), "--collateral", collateral(), "--now", GOOD)
    assert p.returncode == 1 and "pinned TEST root" in p.stderr, p.stderr


def peer():
    """the peer's runner script, installing @phala/dcap-qvl when missing"""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node:
        print("SKIP: node is not installed (scripts/install-deps.sh test)")
        sys.exit(77)
    mod = os.path.join(PEER, "node_modules", "@phala", "dcap-qvl")
    if not os.path.isdir(mod):
        if not npm:
            print("SKIP: npm is not installed, and the peer is not in %s" % PEER)
            sys.exit(77)
        os.makedirs(PEER, exist_ok=True)
        p = run(npm, "install", "--prefix", PEER, "--no-audit", "--no-fund",
                "@phala/dcap-qvl@" + PEER_VERSION)
        if p.returncode != 0:
            print("SKIP: npm install @phala/dcap-qvl failed:\n" + p.stderr[-2000:])
            sys.exit(77)
    return [node, os.path.join(os.path.dirname(os.path.abspath(__file__)), "dcap_peer.js")]


def peer_run(cmd, q, c, t):
    p = run(*cmd, q, c, t)
    return json.loads(p.stdout.strip().splitlines()[-1])


def both(cmd, q, c, t):
    ours = run(VERIFY, "quote", q, "--collateral", c, "--now", t, "--json")
    o = json.loads(ours.stdout) if ours.stdout.strip() else {"ok": False}
    theirs = peer_run(cmd, q, c, str(int(subprocess.check_output(
        ["date", "-u", "-d", t, "+%s"], text=True))))
    return o, theirs


@case
def peer_same_status():
    cmd = peer()
    os.environ["NODE_PATH"] = os.path.join(PEER, "node_modules")
    o, t = both(cmd, quote(), collateral(), GOOD)
    assert o["status"] == "UpToDate" and t.get("status") == "UpToDate", (o, t)
    assert o["advisory_ids"] == t["advisory_ids"] == [], (o, t)
    # both refuse a changed body, and a time past the collateral
    with tempfile.TemporaryDirectory(prefix="dcap.") as d:
        raw = bytearray(open(quote(), "rb").read())
        raw[200] ^= 1
        path = os.path.join(d, "q")
        open(path, "wb").write(raw)
        o, t = both(cmd, path, collateral(), GOOD)
        assert o["ok"] is False and "error" in t, (o, t)
    o, t = both(cmd, quote(), collateral(), "2025-08-01T00:00:00Z")
    assert o["ok"] is False and "error" in t, (o, t)


class Pccs(http.server.BaseHTTPRequestHandler):
    col = None
    hits = []

    def log_message(self, *a):
        pass

    def do_GET(self):
        c = self.col
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        self.hits.append(self.path)
        hdr = {}
        if u.path == "/tdx/certification/v4/tcb" and q.get("fmspc") == ["B0C06F000000"]:
            body = ('{"tcbInfo":%s,"signature":"%s"}' % (c["tcb_info"], c["tcb_info_signature"])).encode()
            hdr["TCB-Info-Issuer-Chain"] = urllib.parse.quote(c["tcb_info_issuer_chain"])
        elif u.path == "/tdx/certification/v4/qe/identity":
            body = ('{"enclaveIdentity":%s,"signature":"%s"}' % (
                c["qe_identity"], c["qe_identity_signature"])).encode()
            hdr["SGX-Enclave-Identity-Issuer-Chain"] = urllib.parse.quote(c["qe_identity_issuer_chain"])
        elif u.path == "/sgx/certification/v4/pckcrl" and q.get("ca") == ["platform"]:
            body = bytes.fromhex(c["pck_crl"])
            hdr["SGX-PCK-CRL-Issuer-Chain"] = urllib.parse.quote(c["pck_crl_issuer_chain"])
        elif u.path == "/sgx/certification/v4/rootcacrl":
            body = c["root_ca_crl"].encode()
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        for k, v in hdr.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@case
def pccs_fetch_and_cache():
    Pccs.col = json.load(open(collateral()))
    srv = http.server.HTTPServer(("127.0.0.1", 0), Pccs)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    url = "http://127.0.0.1:%d" % srv.server_address[1]
    with tempfile.TemporaryDirectory(prefix="dcap.") as d:
        cache = os.path.join(d, "cache")
        p = run(VERIFY, "quote", quote(), "--pccs", url + "/sgx/certification/v4/", "--cache", cache,
                "--now", GOOD, "--json", check=0)
        assert json.loads(p.stdout)["status"] == "UpToDate"
        assert len(Pccs.hits) == 4, Pccs.hits
        assert os.listdir(cache) == ["tdx-B0C06F000000-platform.json"], os.listdir(cache)
        # the cache serves while the collateral is current: no request
        srv.shutdown()
        srv.server_close()
        run(VERIFY, "quote", quote(), "--pccs", url, "--cache", cache, "--now", GOOD, check=0)
        assert len(Pccs.hits) == 4, Pccs.hits
        # past its window it is fetched again: the server is gone, a clear error
        p = run(VERIFY, "quote", quote(), "--pccs", url, "--cache", cache, "--now", "2025-08-01T00:00:00Z")
        assert p.returncode == 1 and "pccs" in p.stderr and url in p.stderr, p.stderr


def main():
    global VERIFY, VERIFY_T, FORGE, FIX, PEER
    if len(sys.argv) == 2 and sys.argv[1] == "list":
        print("\n".join(CASES))
        return 0
    if len(sys.argv) != 7 or sys.argv[6] not in CASES:
        print(__doc__, file=sys.stderr)
        return 2
    VERIFY, VERIFY_T, FORGE = (os.path.abspath(a) for a in sys.argv[1:4])
    FIX, PEER = os.path.abspath(sys.argv[4]), os.path.abspath(sys.argv[5])
    try:
        CASES[sys.argv[6]]()
    except AssertionError as e:
        print(f"FAIL: {e}")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
