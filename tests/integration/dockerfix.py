"""A real dockerd + Debian's docker-registry for one test, as root.

Shared by authz_cases.py and workload_cases.py. Fixture(d, plugin_bin) works
in the temporary directory d: start_registry() runs docker-registry on a free
127.0.0.1 port (filesystem storage, no auth); push() puts an image into it
through the registry HTTP API; start_plugin(spec) runs cocoon-authz on a
per-run socket under /run/docker/plugins (name= sets it apart when one run
needs several); use_registry(other) shares another fixture's registry and
images; start_dockerd() runs dockerd with
its own data-root, exec-root, pidfile and unix socket, with the plugin, and
by default without a bridge (with_bridge() makes a per-run bridge with an
address in 10.213.0.0/16 instead, for tests that publish ports); stop()
ends everything it started and removes mounts, the bridge and the socket.
"""
import gzip
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import ocitar  # noqa: E402

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

NEEDED = ("dockerd", "docker", "docker-registry", "cc")


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
    return ocitar.layer_tar([("hello", binary, 0o755), ("marker", extra, 0o644)])


class Fixture:
    def __init__(self, d, plugin_bin=None, plugin_args=(), name=""):
        self.plugin_bin = plugin_bin
        self.plugin_args = list(plugin_args)
        self.bridge = None
        self.netns = None
        self.d = d
        self.procs = []
        self.tag = f"cocoon-authz-t{os.getpid()}{name}"
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

    def use_registry(self, other):
        """The registry and images of another fixture of the same run (which
        started them and stops them)."""
        self.port, self.reg = other.port, other.reg
        self.layer, self.digest, self.other_digest = other.layer, other.digest, other.other_digest
        self.image = other.image

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
        self.spawn([self.plugin_bin, "--spec", spec, "--socket", self.plugin_sock,
                    "--load-window", self.window, *self.plugin_args], "authz.log")
        wait_for(lambda: os.path.exists(self.plugin_sock), "the plugin socket")

    def start_dockerd(self):
        """With the plugin when there is one; inside self.netns when set (a
        network namespace of the test's own; the unix socket is reachable
        from anywhere, sockets with a path do not belong to a namespace).
        nsenter, not `ip netns exec`: that one remounts /sys, which hides the
        cgroup mounts dockerd needs."""
        pre = ["nsenter", f"--net=/run/netns/{self.netns}"] if self.netns else []
        plugin = ["--authorization-plugin", self.tag] if self.plugin_bin else []
        self.spawn([*pre, "dockerd", "--data-root", f"{self.d}/data", "--exec-root",
                    f"{self.d}/exec", "--pidfile", f"{self.d}/dockerd.pid", "-H",
                    "unix://" + self.sock, *plugin, "--bridge", self.bridge or "none",
                    "--iptables=false", "--ip-masq=false", "--log-level", "warn"],
                   "dockerd.log")
        wait_for(lambda: self.docker("version", check=False).returncode == 0, "dockerd", 60)

    def with_bridge(self):
        """A bridge of this run's own (dockerd's default docker0 would be
        shared with other tests on the machine); published ports then go
        through docker-proxy, as --iptables=false leaves no NAT rules."""
        self.bridge = f"cwl{os.getpid() % 100000}"
        self.bridge_net = f"10.213.{os.getpid() % 250}"
        ip = ["ip", "-n", self.netns] if self.netns else ["ip"]
        subprocess.run([*ip, "link", "add", self.bridge, "type", "bridge"], check=True)
        subprocess.run([*ip, "addr", "add", f"{self.bridge_net}.1/24", "dev", self.bridge],
                       check=True)
        subprocess.run([*ip, "link", "set", self.bridge, "up"], check=True)

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
        if self.bridge:
            ip = ["ip", "-n", self.netns] if self.netns else ["ip"]
            subprocess.run([*ip, "link", "del", self.bridge], stderr=subprocess.DEVNULL)

    def logs(self):
        out = []
        for n in ("authz.log", "dockerd.log"):
            p = os.path.join(self.d, n)
            if os.path.exists(p):
                out.append(f"--- {n} (tail)\n" + open(p, errors="replace").read()[-3000:])
        return "\n".join(out)
