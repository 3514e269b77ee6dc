#!/usr/bin/env python3
"""Added latency of cocoon-authz per Docker API call, with and without the
plugin in the same run.

usage: bench/authz.py COCOON_AUTHZ [N]      (as root; N requests per call, default 2000)

Brings up the fixture of tests/integration/dockerfix.py (a local registry,
the allowlisted image pulled), then times N requests of each kind straight on
dockerd's unix socket (one keep-alive connection, so only the engine and the
plugin are measured): first against dockerd without the plugin, then against
a dockerd restarted on the same data root with --authorization-plugin. Prints
p50 and p99 of each, and the difference. Goal: under 1 ms added at p99.
"""
import http.client
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import dockerfix  # noqa: E402


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def calls(f):
    body = json.dumps({"Image": f.image, "Cmd": ["/hello"],
                       "HostConfig": {"NetworkMode": "none", "Binds": ["/data/x:/x:ro"]}})
    return [
        ("HEAD /_ping", "HEAD", "/_ping", None, None),
        ("GET /containers/json", "GET", "/v1.41/containers/json", None, None),
        ("GET /images/ID/json", "GET", f"/v1.41/images/{f.image}/json", None, None),
        # create fails in the engine after the plugin allowed it (the bind
        # source does not exist): it measures the plugin's body check
        ("POST /containers/create", "POST", "/v1.41/containers/create?name=bench", body,
         {"Content-Type": "application/json"}),
    ]


def measure(sock, n):
    c = UnixHTTP(sock)
    out = {}
    for name, method, path, body, headers in calls(FIX):
        ts = []
        for i in range(n + 50):
            t0 = time.perf_counter_ns()
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            r.read()
            t1 = time.perf_counter_ns()
            if i >= 50:  # warm-up
                ts.append((t1 - t0) / 1e6)
        ts.sort()
        out[name] = (statistics.median(ts), ts[int(len(ts) * 0.99) - 1])
    c.close()
    return out


def measure_plugin(sock, n):
    """The plugin alone: AuthZReq round trips straight on its socket."""
    import base64
    out = {}
    c = UnixHTTP(sock)
    for name, method, path, body, headers in calls(FIX):
        req = json.dumps({"User": "", "UserAuthNMethod": "", "RequestMethod": method,
                          "RequestUri": path,
                          "RequestBody": base64.b64encode(body.encode()).decode() if body else None,
                          "RequestHeaders": headers or {}, "RequestPeerCertificates": None})
        ts = []
        for i in range(n + 50):
            t0 = time.perf_counter_ns()
            c.request("POST", "/AuthZPlugin.AuthZReq", body=req,
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            assert json.loads(r.read())["Allow"], name
            t1 = time.perf_counter_ns()
            if i >= 50:
                ts.append((t1 - t0) / 1e6)
        ts.sort()
        out[name] = (statistics.median(ts), ts[int(len(ts) * 0.99) - 1])
    c.close()
    return out


def main():
    global FIX
    authz = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    d = tempfile.mkdtemp(prefix="authz-bench-", dir="/var/tmp")
    f = FIX = dockerfix.Fixture(d, authz)
    try:
        f.start_registry()
        f.build_images()
        f.start_plugin(f.write_spec())
        # without the plugin
        f.tag_saved = f.tag
        f.start_dockerd_plain = True
        f.spawn(["dockerd", "--data-root", f"{d}/data", "--exec-root", f"{d}/exec",
                 "--pidfile", f"{d}/dockerd.pid", "-H", "unix://" + f.sock, "--bridge", "none",
                 "--iptables=false", "--ip-masq=false", "--log-level", "error"], "plain.log")
        dockerfix.wait_for(lambda: f.docker("version", check=False).returncode == 0, "dockerd")
        assert f.docker("pull", f.image).returncode == 0
        base = measure(f.sock, n)
        name, p = f.procs.pop()
        p.terminate()
        p.wait(timeout=30)
        # with the plugin, same data root
        f.start_dockerd()
        with_plugin = measure(f.sock, n)
        alone = measure_plugin(f.plugin_sock, n)
    finally:
        f.stop()
        shutil.rmtree(d, ignore_errors=True)
    print(f"cocoon-authz added latency, {n} calls each, one keep-alive connection (ms)")
    print(f"{'call':28} {'plain p50':>10} {'p99':>8} {'authz p50':>10} {'p99':>8} "
          f"{'added p50':>10} {'p99':>8}")
    worst = 0.0
    for k in base:
        b, a = base[k], with_plugin[k]
        worst = max(worst, a[1] - b[1])
        print(f"{k:28} {b[0]:10.3f} {b[1]:8.3f} {a[0]:10.3f} {a[1]:8.3f} {a[0] - b[0]:10.3f} "
              f"{a[1] - b[1]:8.3f}")
    print(f"largest added p99: {worst:.3f} ms (goal < 1 ms)")
    print("the plugin alone (AuthZReq round trip on its socket, ms):")
    for k, (p50, p99) in alone.items():
        print(f"{k:28} p50 {p50:.3f} p99 {p99:.3f}")


if __name__ == "__main__":
    main()
