#!/usr/bin/env python3
"""cocoon-authz against what a real dockerd does (issue 13's escapes).

usage: authz_diff.py COCOON_AUTHZ [--hostile-rows FILE] [--only NAME...] [--list]

One fixture for all cases (tests/integration/dockerfix.py): Debian's
docker-registry with two images (one in the spec, one not), cocoon-authz
with a spec that declares the named volume `models` and exec: deny, and a
second plugin + dockerd with exec: allow for the exec cases. Every case sends
the same raw HTTP request a hostile client could write to the real dockerd's
unix socket (through the plugin) and then asks dockerd itself what happened:
`inspect` of the container, network, volume, image or exec instance it
would have made, or, for attach, the status of dockerd's own answer (403 from
the authorization middleware versus its hijacked stream). A case passes only
when the thing it aimed at is verifiably not there (or not privileged, ...).
Controls check that ordinary requests of the docker CLI's shape still work.

With --hostile-rows FILE, one JSON row per attack is appended to FILE (the
`make hostile` contract: attack, stopped_by, untouched, ok).
Exit 0 when every case passed, 1 otherwise, 77 (skip) without root or the
Docker packages.
"""
import argparse
import json
import os
import shutil
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dockerfix import NEEDED, Fixture  # noqa: E402

SKIP = 77
MIB = 1024 * 1024


def raw(sock, method, path, body=b"", headers=None, chunked=False, timeout=20):
    """One request on a fresh connection, as written; returns (status, text)."""
    if isinstance(body, str):
        body = body.encode()
    hs = [f"{method} {path} HTTP/1.1", "Host: docker", "User-Agent: authz-diff",
          "Connection: close"]
    hdr = dict(headers or {})
    if chunked:
        hs.append("Transfer-Encoding: chunked")
    elif "Content-Length" not in hdr:
        hs.append(f"Content-Length: {len(body)}")
    for k, v in hdr.items():
        for one in (v if isinstance(v, list) else [v]):
            hs.append(f"{k}: {one}")
    data = ("\r\n".join(hs) + "\r\n\r\n").encode()
    if chunked:
        data += (f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n") if body else \
            b"0\r\n\r\n"
    else:
        data += body
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # dockerd answered (a denial) before reading the whole body
    out = b""
    try:
        while b"\r\n\r\n" not in out:
            b = s.recv(65536)
            if not b:
                break
            out += b
        head = out.split(b"\r\n", 1)[0].decode(errors="replace")
        status = int(head.split()[1]) if len(head.split()) > 1 else 0
        if status in (101, 200) and b"vnd.docker.raw-stream" in out or status == 101:
            return status, out.decode(errors="replace")  # a hijacked stream: stop here
        s.settimeout(5)
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (socket.timeout, ConnectionResetError):
        pass
    finally:
        s.close()
    head = out.split(b"\r\n", 1)[0].decode(errors="replace")
    status = int(head.split()[1]) if len(head.split()) > 1 else 0
    hdr, _, body = out.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in hdr.lower():
        plain = b""
        while body:
            size, _, rest = body.partition(b"\r\n")
            n = int(size.split(b";")[0] or b"0", 16)
            if not n:
                break
            plain += rest[:n]
            body = rest[n + 2:]
        body = plain
    return status, (hdr + b"\r\n\r\n" + body).decode(errors="replace")


JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class Diff:
    def __init__(self, f, fx):
        self.f, self.fx = f, fx  # exec: deny / exec: allow
        self.results = []

    def api(self, method, path, body=b"", headers=None, f=None, **kw):
        return raw((f or self.f).sock, method, "/v1.41" + path, body, headers, **kw)

    def inspect(self, kind, name, f=None):
        path = {"containers": f"/containers/{name}/json", "networks": f"/networks/{name}",
                "volumes": f"/volumes/{name}", "images": f"/images/{name}/json",
                "exec": f"/exec/{name}/json"}[kind]
        st, out = self.api("GET", path, f=f)
        if st != 200:
            return None
        return json.loads(out.split("\r\n\r\n", 1)[1] or "null")

    def create(self, name, body, **kw):
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        return self.api("POST", f"/containers/create?name={name}", body,
                        kw.pop("headers", JSON), **kw)


# ---- the cases: each returns (ok, untouched-evidence, stopped_by) ----

CASES = []


def case(attack, stopped_by, control=False):
    def reg(fn):
        CASES.append((fn.__name__, attack, stopped_by, control, fn))
        return fn
    return reg


def not_created(d, name):
    c = d.inspect("containers", name)
    if c is None:
        return True, f"dockerd: no container {name} (inspect: 404)"
    return False, (f"dockerd CREATED {name}: Privileged={c['HostConfig'].get('Privileged')} "
                   f"Binds={c['HostConfig'].get('Binds')}")


def create_case(name, body_fn, **kw):
    def fn(d):
        d.create(name, body_fn(d), **kw)
        return not_created(d, name)
    fn.__name__ = name
    return fn


READER = "cocoon-authz (strict body reader)"
variants = [
    ("top_privileged", "create with top-level Privileged and Binds (old embedded HostConfig)",
     lambda d: {"Image": d.f.image, "Privileged": True, "Binds": ["/etc:/hostetc"]}),
    ("top_binds", "create with top-level Binds only",
     lambda d: {"Image": d.f.image, "Binds": ["/:/host"]}),
    ("lower_hostconfig", "create with 'hostconfig' (lower case) Privileged",
     lambda d: {"Image": d.f.image, "hostconfig": {"Privileged": True}}),
    ("upper_hostconfig", "create with 'HOSTCONFIG' Privileged",
     lambda d: {"Image": d.f.image, "HOSTCONFIG": {"Privileged": True}}),
    ("lower_privileged", "create with HostConfig.privileged (lower case)",
     lambda d: {"Image": d.f.image, "HostConfig": {"privileged": True}}),
    ("lower_binds", "create with HostConfig.binds (lower case)",
     lambda d: {"Image": d.f.image, "HostConfig": {"binds": ["/etc:/hostetc"]}}),
    ("lower_pidmode", "create with HostConfig.pidmode host (lower case)",
     lambda d: {"Image": d.f.image, "HostConfig": {"pidmode": "host"}}),
    ("lower_capadd", "create with HostConfig.capadd SYS_ADMIN (lower case)",
     lambda d: {"Image": d.f.image, "HostConfig": {"capadd": ["SYS_ADMIN"]}}),
    ("lower_mount_type", "create with Mounts[].type bind / (lower case)",
     lambda d: {"Image": d.f.image, "HostConfig": {"Mounts": [
         {"type": "bind", "Source": "/", "Target": "/h"}]}}),
    ("lower_mount_source", "create with Mounts[].source / (lower case)",
     lambda d: {"Image": d.f.image, "HostConfig": {"Mounts": [
         {"Type": "bind", "source": "/", "Target": "/h", "ReadOnly": True}]}}),
    ("lower_driverconfig", "create with Mounts[].VolumeOptions.driverconfig bind of /etc",
     lambda d: {"Image": d.f.image, "HostConfig": {"Mounts": [
         {"Type": "volume", "Source": "models", "Target": "/m", "VolumeOptions": {
             "driverconfig": {"Name": "local", "Options": {
                 "type": "none", "o": "bind", "device": "/etc"}}}}]}}),
    ("lower_devicerequests", "create with HostConfig.devicerequests (lower case)",
     lambda d: {"Image": d.f.image, "HostConfig": {"devicerequests": [
         {"Driver": "x", "Count": -1, "Capabilities": [["gpu"]]}]}}),
    ("lower_networkingconfig", "create with networkingconfig host endpoint (lower case)",
     lambda d: {"Image": d.f.image, "networkingconfig": {"EndpointsConfig": {"host": {}}}}),
    ("kelvin_hostconfig", "create with 'Ho\u017ftConfig' (U+017F folds to s in Go)",
     lambda d: {"Image": d.f.image, "Ho\u017ftConfig": {"Privileged": True}}),
    ("undeclared_volume", "create binding a named volume the spec does not declare",
     lambda d: {"Image": d.f.image, "HostConfig": {"Binds": ["undeclared:/x"]}}),
]
for name, attack, body in variants:
    case(attack, READER)(create_case("d_" + name, body))


# bodies as text: what json.dumps cannot write
raw_variants = [
    ("dup_privileged", "create with a duplicate Privileged (false, then true)",
     '{"Image":"%s","HostConfig":{"Privileged":false,"Privileged":true}}'),
    ("dup_hostconfig", "create with a duplicate HostConfig (second one privileged)",
     '{"Image":"%s","HostConfig":{},"HostConfig":{"Privileged":true}}'),
    ("casedup_hostconfig", "create with HostConfig and hostconfig (case duplicate)",
     '{"Image":"%s","HostConfig":{},"hostconfig":{"Privileged":true}}'),
    ("escaped_key", "create with an escaped key \\u0050rivileged",
     '{"Image":"%s","HostConfig":{"\\u0050rivileged":true}}'),
]
for name, attack, text in raw_variants:
    case(attack, READER)(create_case("d_" + name, lambda d, text=text: text % d.f.image))


@case("create with a body of 1 MiB (dockerd forwards none)", "cocoon-authz (no body seen: denied)")
def d_body_1mib(d):
    body = json.dumps({"Image": d.f.image, "HostConfig": {"Privileged": True},
                       "Labels": {"pad": "x" * MIB}})
    d.create("d_body_1mib", body)
    return not_created(d, "d_body_1mib")


@case("create with a chunked body (dockerd forwards none)", "cocoon-authz (no body seen: denied)")
def d_body_chunked(d):
    body = json.dumps({"Image": d.f.image, "HostConfig": {"Privileged": True}})
    d.create("d_body_chunked", body, chunked=True)
    return not_created(d, "d_body_chunked")


@case("create with trailing JSON after the object", READER)
def d_trailing(d):
    body = '{"Image":"%s"} {"HostConfig":{"Privileged":true}}' % d.f.image
    d.create("d_trailing", body)
    c = d.inspect("containers", "d_trailing")
    if c is None:
        return True, "dockerd: no container d_trailing (inspect: 404)"
    return not c["HostConfig"]["Privileged"], f"created, Privileged={c['HostConfig']['Privileged']}"


def host_id(d):
    st, out = d.api("GET", "/networks/host")
    return json.loads(out.split("\r\n\r\n", 1)[1])["Id"]


for n in (64, 12):
    def _fn(d, n=n):
        name = f"d_netmode_hostid{n}"
        d.create(name, {"Image": d.f.image, "Cmd": ["/hello", "sleep"],
                        "HostConfig": {"NetworkMode": host_id(d)[:n]}})
        return not_created(d, name)
    _fn.__name__ = f"d_netmode_hostid{n}"
    case(f"create with NetworkMode = the host network's ID ({n} hex digits)",
         "cocoon-authz (network IDs denied)")(_fn)


@case("create with an EndpointsConfig keyed by the host network's ID",
      "cocoon-authz (network IDs denied)")
def d_endpoint_hostid(d):
    d.create("d_endpoint_hostid", {"Image": d.f.image, "Cmd": ["/hello", "sleep"],
                                   "NetworkingConfig": {"EndpointsConfig": {host_id(d): {}}}})
    return not_created(d, "d_endpoint_hostid")


# -- pulls: form bodies --

def other_absent(d):
    img = d.inspect("images", f"{d.f.reg}/demo/hello:other")
    if img is None:
        return True, f"dockerd: {d.f.reg}/demo/hello:other not pulled (image inspect: 404)"
    return False, f"dockerd PULLED {d.f.reg}/demo/hello:other ({img['Id'][:19]})"


def pull_query(d):
    return (f"/images/create?fromImage={d.f.reg}/demo/hello&tag={d.f.digest}")


@case("pull with a form body fromImage/tag of an unlisted image",
      "cocoon-authz (form body on images/create)")
def d_pull_form(d):
    d.api("POST", pull_query(d), f"fromImage={d.f.reg}/demo/hello&tag=other", FORM)
    return other_absent(d)


@case("pull with a chunked form body and a second Content-Type text/plain",
      "cocoon-authz (no Content-Length: 0 on images/create)")
def d_pull_form_chunked(d):
    d.api("POST", pull_query(d), f"fromImage={d.f.reg}/demo/hello&tag=other",
          {"Content-Type": ["application/x-www-form-urlencoded", "text/plain"]}, chunked=True)
    return other_absent(d)


@case("pull with a chunked form body and Content-Length: 0 beside it",
      "cocoon-authz (no Content-Length: 0 on images/create)")
def d_pull_form_chunked_cl0(d):
    d.api("POST", pull_query(d), f"fromImage={d.f.reg}/demo/hello&tag=other",
          {**FORM, "Content-Length": "0"}, chunked=True)
    return other_absent(d)


@case("attach with a chunked form body stdin=1 and Content-Length: 0 beside it",
      "cocoon-authz (no Content-Length: 0 on attach)")
def d_attach_form_chunked_cl0(d):
    return attach_denied(*d.api("POST", "/containers/att/attach?stream=1&stdout=1", "stdin=1",
                                {**FORM, "Content-Length": "0"}, chunked=True))


@case("pull with a form body and Content-Type repeated (text/plain last)",
      "cocoon-authz (no Content-Length: 0 on images/create)")
def d_pull_form_dup_ct(d):
    d.api("POST", pull_query(d), f"fromImage={d.f.reg}/demo/hello&tag=other",
          {"Content-Type": ["application/x-www-form-urlencoded", "text/plain"]})
    return other_absent(d)


# -- attach: stdin --

def attach_denied(st, out):
    if st == 403 and "authorization denied" in out:
        return True, "dockerd: 403 from its authorization middleware, no stream attached"
    return False, (f"past the plugin: dockerd's handler answered "
                   f"{out.splitlines()[0] if out else st}")


for q in ("yes", "2", "%201", "TRUE", "on"):
    def _fn(d, q=q):
        return attach_denied(*d.api("POST", f"/containers/att/attach?stream=1&stdin={q}"))
    _fn.__name__ = "d_attach_stdin_" + q.replace("%", "pct")
    case(f"attach with stdin={q} under exec: deny", "cocoon-authz (BoolValue)")(_fn)


def ws_headers():
    return {"Upgrade": "websocket", "Connection": "Upgrade", "Origin": "http://localhost",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}


@case("GET attach/ws with stdin=1 under exec: deny", "cocoon-authz (websocket attach)")
def d_attach_ws(d):
    return attach_denied(*d.api("GET", "/containers/att/attach/ws?stream=1&stdin=1",
                                headers=ws_headers()))


@case("attach with stdin=1 in a form body under exec: deny",
      "cocoon-authz (form body on attach)")
def d_attach_form(d):
    return attach_denied(*d.api("POST", "/containers/att/attach?stream=1&stdout=1",
                                "stdin=1", FORM))


@case("attach with a chunked form body stdin=1 and Content-Type repeated",
      "cocoon-authz (no Content-Length: 0 on attach)")
def d_attach_form_chunked(d):
    return attach_denied(*d.api("POST", "/containers/att/attach?stream=1&stdout=1", "stdin=1",
                                {"Content-Type": ["application/x-www-form-urlencoded",
                                                  "text/plain"]}, chunked=True))


# -- networks and volumes --

def net_absent(d, name, st):
    """Stopped by the plugin (dockerd's own 403) and not there: without the
    403 the driver itself may have failed (macvlan is not in every kernel)."""
    n = d.inspect("networks", name)
    if n is not None:
        return False, f"dockerd CREATED network {name}: Driver={n.get('Driver')}"
    if st != 403:
        return False, f"past the plugin: dockerd answered {st}, no network {name}"
    return True, f"dockerd: 403 from its authorization middleware, no network {name} (404)"


for key in ("driver", "DRIVER", "dRiVeR"):
    def _fn(d, key=key):
        name = "n_" + key
        st, _ = d.api("POST", "/networks/create", json.dumps({"Name": name, key: "macvlan"}),
                      JSON)
        return net_absent(d, name, st)
    _fn.__name__ = "d_net_" + key
    case(f"network create with '{key}': macvlan", READER)(_fn)


@case("network create with Driver bridge then driver macvlan (duplicate)", READER)
def d_net_dup(d):
    st, _ = d.api("POST", "/networks/create",
                  '{"Name":"n_dup","Driver":"bridge","driver":"macvlan"}', JSON)
    return net_absent(d, "n_dup", st)


@case("network create ipvlan", "cocoon-authz (only bridge)")
def d_net_ipvlan(d):
    st, _ = d.api("POST", "/networks/create", '{"Name":"n_ipvlan","Driver":"ipvlan"}', JSON)
    return net_absent(d, "n_ipvlan", st)


@case("network create with a bridge option naming a VM interface",
      "cocoon-authz (no network options)")
def d_net_options(d):
    st, _ = d.api("POST", "/networks/create", json.dumps(
        {"Name": "n_opt", "Options": {"com.docker.network.bridge.name": "lo"}}), JSON)
    return net_absent(d, "n_opt", st)


@case("network create with a chunked body (dockerd forwards none)",
      "cocoon-authz (no body seen: denied)")
def d_net_chunked(d):
    st, _ = d.api("POST", "/networks/create", '{"Name":"n_chunk","Driver":"macvlan"}', JSON,
                  chunked=True)
    return net_absent(d, "n_chunk", st)


def vol_count(d):
    st, out = d.api("GET", "/volumes")
    return len(json.loads(out.split("\r\n\r\n", 1)[1]).get("Volumes") or [])


@case("volume create without a body (old plugin: allowed)", "cocoon-authz (no body seen: denied)")
def d_vol_nobody(d):
    before = vol_count(d)
    d.api("POST", "/volumes/create", b"", {"Content-Type": "text/plain"})
    after = vol_count(d)
    return after == before, f"dockerd: {before} volumes before, {after} after"


def vol_untouched(d, name):
    v = d.inspect("volumes", name)
    if v is None:
        return True, f"dockerd: no volume {name} (inspect: 404)"
    return False, f"dockerd CREATED volume {name}: Options={v.get('Options')}"


BINDOPTS = {"type": "none", "o": "bind", "device": "/etc"}


@case("volume create with 'driveropts' bind of /etc (lower case)", READER)
def d_vol_lower(d):
    d.api("POST", "/volumes/create", json.dumps({"Name": "v_lower", "driveropts": BINDOPTS}),
          JSON)
    return vol_untouched(d, "v_lower")


@case("volume create padded to 1 MiB with DriverOpts bind of /etc",
      "cocoon-authz (no body seen: denied)")
def d_vol_1mib(d):
    d.api("POST", "/volumes/create", json.dumps(
        {"Name": "v_big", "DriverOpts": BINDOPTS, "Labels": {"pad": "x" * MIB}}), JSON)
    return vol_untouched(d, "v_big")


@case("volume create chunked with DriverOpts bind of /etc",
      "cocoon-authz (no body seen: denied)")
def d_vol_chunked(d):
    d.api("POST", "/volumes/create", json.dumps({"Name": "v_chunk", "DriverOpts": BINDOPTS}),
          JSON, chunked=True)
    return vol_untouched(d, "v_chunk")


# -- start with an old API version: HostConfig on start --

@case("start with API v1.23 and a privileged HostConfig body", "cocoon-authz (API >= 1.40)")
def d_start_old_api(d):
    st, out = d.create("d_oldstart", {"Image": d.f.image, "Cmd": ["/hello", "sleep"],
                                      "HostConfig": {"NetworkMode": "none"}})
    if d.inspect("containers", "d_oldstart") is None:
        return False, f"the plain create was refused: {st} {out[-200:]}"
    raw(d.f.sock, "POST", "/v1.23/containers/d_oldstart/start",
        json.dumps({"Privileged": True, "Binds": ["/etc:/hostetc"]}), JSON)
    c = d.inspect("containers", "d_oldstart")
    raw(d.f.sock, "DELETE", "/v1.41/containers/d_oldstart?force=1")
    ok = not c["HostConfig"]["Privileged"] and not c["HostConfig"].get("Binds")
    return ok, (f"dockerd: d_oldstart Privileged={c['HostConfig']['Privileged']} "
                f"Binds={c['HostConfig'].get('Binds')} running={c['State']['Running']}")


# -- exec (exec: allow) --

def exec_case(body):
    def fn(d):
        st, out = d.api("POST", "/containers/ex/exec", json.dumps(body), JSON, f=d.fx)
        if st == 403:
            return True, "dockerd: 403 from its authorization middleware, no exec instance"
        eid = json.loads(out.split("\r\n\r\n", 1)[1]).get("Id", "")
        e = d.inspect("exec", eid, f=d.fx)
        pc = (e or {}).get("ProcessConfig") or {}
        return False, (f"dockerd CREATED exec {eid[:12]}: privileged={pc.get('privileged')} "
                       f"user={pc.get('user')!r}")
    return fn


for name, attack, body in (
        ("priv", "exec create Privileged under exec: allow",
         {"Cmd": ["/hello"], "Privileged": True}),
        ("lower_priv", "exec create 'privileged' (lower case) under exec: allow",
         {"Cmd": ["/hello"], "privileged": True}),
        ("user_root", "exec create User root under exec: allow",
         {"Cmd": ["/hello"], "User": "root"})):
    fn = exec_case(body)
    fn.__name__ = "d_exec_" + name
    case(attack, "cocoon-authz (exec body)")(fn)


# -- controls: what the docker CLI sends must still work --

@case("control: a plain create as the docker CLI writes it", "-", control=True)
def c_create(d):
    st, out = d.create("c_plain", {"Image": d.f.image, "Cmd": ["/hello"], "Labels": {},
                                   "HostConfig": {"NetworkMode": "none", "Privileged": False,
                                                  "Binds": ["models:/m"]},
                                   "NetworkingConfig": {"EndpointsConfig": {}}})
    c = d.inspect("containers", "c_plain")
    return (c is not None and not c["HostConfig"]["Privileged"],
            f"dockerd: {st}, created={c is not None}")


@case("control: pull by the listed digest (Content-Length: 0)", "-", control=True)
def c_pull(d):
    st, out = d.api("POST", pull_query(d), b"", {"Content-Type": "text/plain"})
    return st == 200 and "error" not in out.lower(), f"dockerd: {st}"


@case("control: attach stdout only", "-", control=True)
def c_attach(d):
    st, out = d.api("POST", "/containers/att/attach?stream=0&stdout=1", b"",
                    {"Content-Type": "text/plain"})
    return st in (101, 200), f"dockerd: {st}"


@case("control: bridge network and local volume", "-", control=True)
def c_net_vol(d):
    d.api("POST", "/networks/create", '{"Name":"c_net","Driver":"bridge"}', JSON)
    d.api("POST", "/volumes/create", '{"Name":"c_vol","Driver":"local"}', JSON)
    n, v = d.inspect("networks", "c_net"), d.inspect("volumes", "c_vol")
    return n is not None and v is not None, f"network={n is not None} volume={v is not None}"


@case("control: exec without privileges under exec: allow", "-", control=True)
def c_exec(d):
    st, out = d.api("POST", "/containers/ex/exec", '{"Cmd":["/hello","x"]}', JSON, f=d.fx)
    return st == 201, f"dockerd: {st}"


def write_spec(f, exec_policy):
    spec = os.path.join(f.d, f"spec-{exec_policy}")
    os.makedirs(spec, exist_ok=True)
    with open(os.path.join(spec, "docker-compose.yml"), "w") as fh:
        fh.write(f"services:\n  hello:\n    image: {f.image}\n"
                 f"    volumes: [\"models:/m\"]\nvolumes:\n  models: {{}}\n"
                 f"x-cocoon:\n  registries: [\"{f.reg}\"]\n  exec: {exec_policy}\n")
    return spec


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("authz")
    ap.add_argument("--hostile-rows")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if os.path.isdir(a.authz):
        # make hostile runs it as SCRIPT BUILD_DIR --hostile-rows FILE
        a.authz = os.path.join(a.authz, "guest", "cocoon-authz", "cocoon-authz")
    if a.hostile_rows:
        os.makedirs(os.path.dirname(os.path.abspath(a.hostile_rows)), exist_ok=True)
        open(a.hostile_rows, "w").close()
    if a.list:
        print("\n".join(c[0] for c in CASES))
        return 0
    missing = [t for t in NEEDED if not shutil.which(t)]
    if missing or os.geteuid() != 0:
        print(f"skip: needs root and {', '.join(missing) or 'nothing else'}")
        return SKIP
    d = tempfile.mkdtemp(prefix="authz-diff-", dir="/var/tmp")
    dx = os.path.join(d, "x")
    os.makedirs(dx)
    f = Fixture(d, os.path.abspath(a.authz))
    fx = Fixture(dx, os.path.abspath(a.authz), name="x")
    t0 = time.time()
    failed = []
    try:
        f.start_registry()
        f.build_images()
        fx.use_registry(f)
        f.start_plugin(write_spec(f, "deny"))
        fx.start_plugin(write_spec(fx, "allow"))
        f.start_dockerd()
        fx.start_dockerd()
        for fix in (f, fx):
            r = fix.docker("pull", f.image)
            assert r.returncode == 0, r.stderr
        for fix, name in ((f, "att"), (fx, "ex")):
            r = fix.docker("run", "-d", "-i", "--name", name, "--network", "none", f.image,
                           "/hello", "sleep")
            assert r.returncode == 0, r.stderr
        print(f"fixture up in {time.time() - t0:.1f}s")
        dd = Diff(f, fx)
        rows = []
        for name, attack, stopped_by, control, fn in CASES:
            if a.only and name not in a.only:
                continue
            try:
                ok, evidence = fn(dd)
            except Exception as e:  # a case that cannot run has not shown anything
                ok, evidence = False, f"error: {e!r}"
            print(f"{'ok  ' if ok else 'FAIL'} {name}: {evidence}")
            if not ok:
                failed.append(name)
            if not control:
                rows.append({"attack": f"authz: {attack}", "stopped_by": stopped_by,
                             "untouched": evidence, "ok": bool(ok)})
        if a.hostile_rows:
            with open(a.hostile_rows, "a") as fh:
                for r in rows:
                    fh.write(json.dumps(r) + "\n")
    except BaseException:
        print(f.logs())
        raise
    finally:
        fx.stop()
        f.stop()
        shutil.rmtree(d, ignore_errors=True)
    n = len([c for c in CASES if not a.only or c[0] in a.only])
    print(f"authz-diff: {n - len(failed)}/{n} cases passed ({time.time() - t0:.1f}s)"
          + (f"; failed: {' '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
