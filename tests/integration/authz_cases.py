#!/usr/bin/env python3
"""cocoon-authz against a real dockerd and a real local registry.

usage: authz_cases.py COCOON_AUTHZ CASE     (CASE 'list' prints the names)

Each case starts its own fixture in a temporary directory: Debian's
docker-registry on 127.0.0.1 (filesystem storage, no auth), two images pushed
to it through the registry HTTP API (a static binary in one layer; one image
is in the workload spec, the other is not), cocoon-authz on a plugin socket
with a per-run name under /run/docker/plugins, and dockerd with its own
data-root, exec-root, pidfile and unix socket, started with
--authorization-plugin. The docker CLI then does what the case says and the
case checks that the plugin's message comes back. Everything is stopped and
removed at the end. Skips (exit 77) when dockerd, docker or docker-registry is
missing or the test does not run as root.
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request

AUTHZ = None
CASES = {}
SKIP = 77

HELLO_C = r"""
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "sleep"))
		for (;;)
			pause();
	puts(argc > 1 ? argv[1] : "hello from the allowlisted image");
	return 0;
}
"""


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(pred, what, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def layer_tar(binary, extra):
    """A reproducible layer: /hello and a marker file that makes images differ."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data, mode in (("hello", binary, 0o755), ("marker", extra, 0o644)):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), mode, 0
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


class Fixture:
    def __init__(self, d):
        self.d = d
        self.procs = []
        self.tag = f"cocoon-authz-t{os.getpid()}"
        self.plugin_sock = f"/run/docker/plugins/{self.tag}.sock"
        self.sock = os.path.join(d, "docker.sock")
        self.env = dict(os.environ, DOCKER_CONFIG=os.path.join(d, "cli"), DOCKER_BUILDKIT="0",
                        DOCKER_HOST="unix://" + self.sock)
        self.window = os.path.join(d, "load-window")

    # -- the registry and its images --
    def start_registry(self):
        self.port = free_port()
        self.reg = f"127.0.0.1:{self.port}"
        cfg = os.path.join(self.d, "registry.yml")
        with open(cfg, "w") as f:
            f.write(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                    f"    rootdirectory: {self.d}/registry\nhttp:\n  addr: {self.reg}\n")
        self.spawn(["docker-registry", "serve", cfg], "registry.log")

        def up():
            try:
                urllib.request.urlopen(f"http://{self.reg}/v2/", timeout=1)
                return True
            except Exception:
                return False
        wait_for(up, "the registry")

    def push(self, repo, tag, layer):
        gz = gzip.compress(layer, mtime=0)
        cfg = json.dumps({"architecture": "amd64", "os": "linux",
                          "config": {"Cmd": ["/hello"]},
                          "rootfs": {"type": "layers", "diff_ids": [sha(layer)]}}).encode()
        for blob in (gz, cfg):
            r = urllib.request.urlopen(urllib.request.Request(
                f"http://{self.reg}/v2/{repo}/blobs/uploads/", method="POST"))
            loc = r.headers["Location"]
            if loc.startswith("/"):
                loc = f"http://{self.reg}{loc}"
            loc += ("&" if "?" in loc else "?") + "digest=" + sha(blob)
            urllib.request.urlopen(urllib.request.Request(
                loc, data=blob, method="PUT",
                headers={"Content-Type": "application/octet-stream"}))
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                       "size": len(cfg), "digest": sha(cfg)},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "size": len(gz), "digest": sha(gz)}]}).encode()
        urllib.request.urlopen(urllib.request.Request(
            f"http://{self.reg}/v2/{repo}/manifests/{tag}", data=manifest, method="PUT",
            headers={"Content-Type": "application/vnd.docker.distribution.manifest.v2+json"}))
        return sha(manifest)

    def build_images(self):
        src = os.path.join(self.d, "hello.c")
        exe = os.path.join(self.d, "hello")
        with open(src, "w") as f:
            f.write(HELLO_C)
        subprocess.run(["cc", "-static", "-Os", "-o", exe, src], check=True)
        binary = open(exe, "rb").read()
        self.layer = layer_tar(binary, b"allowed\n")
        self.digest = self.push("demo/hello", "v1", self.layer)
        self.other_digest = self.push("demo/hello", "other", layer_tar(binary, b"other\n"))
        self.image = f"{self.reg}/demo/hello@{self.digest}"

    # -- the plugin and the engine --
    def write_spec(self, exec_policy="deny"):
        spec = os.path.join(self.d, "spec")
        os.makedirs(spec, exist_ok=True)
        with open(os.path.join(spec, "docker-compose.yml"), "w") as f:
            f.write(f"services:\n  hello:\n    image: {self.image}\n"
                    f"x-cocoon:\n  registries: [\"{self.reg}\"]\n  exec: {exec_policy}\n")
        return spec

    def start_plugin(self, spec):
        os.makedirs("/run/docker/plugins", exist_ok=True)
        self.spawn([AUTHZ, "--spec", spec, "--socket", self.plugin_sock,
                    "--load-window", self.window], "authz.log")
        wait_for(lambda: os.path.exists(self.plugin_sock), "the plugin socket")

    def start_dockerd(self):
        self.spawn(["dockerd", "--data-root", f"{self.d}/data", "--exec-root", f"{self.d}/exec",
                    "--pidfile", f"{self.d}/dockerd.pid", "-H", "unix://" + self.sock,
                    "--authorization-plugin", self.tag, "--bridge", "none",
                    "--iptables=false", "--ip-masq=false", "--log-level", "warn"],
                   "dockerd.log")
        wait_for(lambda: self.docker("version", check=False).returncode == 0, "dockerd", 60)

    def spawn(self, argv, log):
        f = open(os.path.join(self.d, log), "wb")
        self.procs.append((argv[0], subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT,
                                                     start_new_session=True)))

    def docker(self, *args, check=False, **kw):
        return subprocess.run(["docker", *args], capture_output=True, text=True, env=self.env,
                              check=check, timeout=120, **kw)

    def stop(self):
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        # the managed containerd may leave mounts under the data root
        subprocess.run(f"grep -o ' {self.d}[^ ]*' /proc/self/mounts | sort -r | "
                       f"xargs -r -n1 umount -l", shell=True)
        try:
            os.unlink(self.plugin_sock)
        except FileNotFoundError:
            pass

    def logs(self):
        out = []
        for n in ("authz.log", "dockerd.log"):
            p = os.path.join(self.d, n)
            if os.path.exists(p):
                out.append(f"--- {n} (tail)\n" + open(p, errors="replace").read()[-3000:])
        return "\n".join(out)


def denied(r, needle):
    assert r.returncode != 0, f"allowed: {r.stdout} {r.stderr}"
    assert "authorization denied by plugin" in r.stderr, r.stderr
    assert needle in r.stderr, f"{needle!r} not in {r.stderr!r}"


# ---- cases ----

@case
def pull_allowlisted_digest(f):
    r = f.docker("pull", f.image)
    assert r.returncode == 0, r.stderr
    r = f.docker("run", "--rm", "--network", "none", f.image)
    assert r.returncode == 0 and "hello from the allowlisted image" in r.stdout, r.stderr


@case
def pull_by_tag(f):
    denied(f.docker("pull", f"{f.reg}/demo/hello:v1"), "only by digest")


@case
def pull_unlisted_digest(f):
    denied(f.docker("pull", f"{f.reg}/demo/hello@{f.other_digest}"),
           "not the image of any service")


@case
def build(f):
    ctx = os.path.join(f.d, "ctx")
    os.makedirs(ctx)
    with open(os.path.join(ctx, "Dockerfile"), "w") as fh:
        fh.write("FROM scratch\nCOPY Dockerfile /\n")
    denied(f.docker("build", "-t", "x", ctx), "builds are never allowed")


@case
def import_tar(f):
    tar = os.path.join(f.d, "layer.tar")
    open(tar, "wb").write(f.layer)
    denied(f.docker("import", tar, "imported:v1"), "import is never allowed")


@case
def load_outside_startup(f):
    tar = os.path.join(f.d, "layer.tar")
    open(tar, "wb").write(f.layer)
    denied(f.docker("load", "-i", tar), "only during start-up")
    # with the window open the plugin lets it through (the tar is not an
    # image archive, so the engine itself refuses it, not the plugin)
    open(f.window, "w").close()
    os.chmod(f.window, 0o600)
    r = f.docker("load", "-i", tar)
    assert "authorization denied" not in r.stderr, r.stderr
    os.unlink(f.window)
    denied(f.docker("load", "-i", tar), "only during start-up")


def run_denied(f, args, needle):
    denied(f.docker("run", "--rm", *args, f.image), needle)


@case
def privileged(f):
    run_denied(f, ["--privileged"], "privileged containers are never allowed")


@case
def host_network(f):
    run_denied(f, ["--network", "host"], "network_mode: host")


@case
def host_pid(f):
    run_denied(f, ["--pid", "host"], "pid: host")


@case
def root_bind(f):
    run_denied(f, ["-v", "/:/host"], "binds are allowed only from /data")


@case
def root_mount(f):
    run_denied(f, ["--mount", "type=bind,source=/,target=/h"], "binds are allowed only from")


@case
def docker_sock_mount(f):
    run_denied(f, ["-v", "/var/run/docker.sock:/var/run/docker.sock"], "engine's socket")


@case
def cap_sys_admin(f):
    run_denied(f, ["--cap-add", "SYS_ADMIN"], "CAP_SYS_ADMIN denied")


@case
def seccomp_unconfined(f):
    run_denied(f, ["--security-opt", "seccomp=unconfined"], "rule: security_opt")


@case
def exec_denied(f):
    r = f.docker("run", "-d", "--name", "c1", "--network", "none", f.image, "/hello", "sleep")
    assert r.returncode == 0, r.stderr
    denied(f.docker("exec", "c1", "/hello", "x"), "x-cocoon.exec: deny")
    r = f.docker("rm", "-f", "c1")
    assert r.returncode == 0, r.stderr


def main():
    global AUTHZ
    AUTHZ = os.path.abspath(sys.argv[1])
    name = sys.argv[2]
    if name == "list":
        print("\n".join(CASES))
        return 0
    missing = [t for t in ("dockerd", "docker", "docker-registry", "cc") if not shutil.which(t)]
    if missing or os.geteuid() != 0:
        print(f"skip: needs root and {', '.join(missing) or 'nothing else'}")
        return SKIP
    d = tempfile.mkdtemp(prefix="authz-", dir="/var/tmp")
    f = Fixture(d)
    t0 = time.time()
    try:
        f.start_registry()
        f.build_images()
        f.start_plugin(f.write_spec())
        f.start_dockerd()
        # the image is there before the case, so that a denial comes from the
        # rule under test and not from a missing image
        if name != "pull_allowlisted_digest":
            r = f.docker("pull", f.image)
            assert r.returncode == 0, r.stderr
        print(f"fixture up in {time.time() - t0:.1f}s")
        CASES[name](f)
    except BaseException:
        print(f.logs())
        raise
    finally:
        f.stop()
        shutil.rmtree(d, ignore_errors=True)
    print(f"{name}: ok ({time.time() - t0:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
