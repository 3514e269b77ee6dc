#!/usr/bin/env python3
"""cocoon-workload against a real dockerd + registry with cocoon-authz active.

usage: workload_cases.py COCOON_WORKLOAD COCOON_AUTHZ HEALTH_MONITOR ENGINECONF_DUMP CASE
       (CASE 'list' prints the names)

The fixture (dockerfix.py) runs docker-registry, cocoon-authz and dockerd with
a bridge of this run's own. The images hold one static binary: a tiny HTTP
server compiled here with `cc -static` that answers every request with its
argument. `web` comes from an OCI image layout archive written here by hand
(index.json, oci-layout, blobs/sha256/*) in the --images directory, `db` is
pulled by digest from the local registry. Skips (77) without root or the
Docker packages.
"""
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dockerfix import NEEDED, Fixture, free_port, layer_tar, wait_for  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from ocitar import oci_archive  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile"))
import hostilerows  # noqa: E402

WORKLOAD = AUTHZ = MONITOR = DUMP = None
CASES = {}
SKIP = 77

SERVE_C = r"""
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	const char *msg = argc > 2 ? argv[2] : "hello";
	char buf[2048];

	if (argc > 1 && !strcmp(argv[1], "true"))
		return 0; /* the healthcheck */
	a.sin_port = htons(argc > 1 ? atoi(argv[1]) : 8080);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 16))
		return 1;
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		if (read(c, buf, sizeof(buf)) < 0) {}
		dprintf(c, "HTTP/1.0 200 OK\r\nContent-Length: %zu\r\n\r\n%s\n", strlen(msg) + 1, msg);
		close(c);
	}
}
"""


def case(fn):
    CASES[fn.__name__] = fn
    return fn


class Run:
    def __init__(self, f, gz=False, diff_id=None):
        self.f = f
        d = f.d
        src, exe = os.path.join(d, "serve.c"), os.path.join(d, "serve")
        open(src, "w").write(SERVE_C)
        subprocess.run(["cc", "-static", "-Os", "-o", exe, src], check=True)
        binary = open(exe, "rb").read()
        # web: from a verified archive
        self.web_layer = layer_tar(binary, b"web\n")
        tar, self.web_digest, self.web_id = oci_archive(self.web_layer, ["/hello"], gz, diff_id)
        self.images = os.path.join(d, "images")
        os.makedirs(self.images)
        self.archive = os.path.join(self.images, self.web_digest[7:] + ".tar")
        open(self.archive, "wb").write(tar)
        self.web_image = f"{f.reg}/demo/web@{self.web_digest}"
        # db: pulled by digest from the registry
        self.db_digest = f.push("demo/db", "v1", layer_tar(binary, b"db\n"))
        self.db_image = f"{f.reg}/demo/db@{self.db_digest}"
        self.port = free_port()
        self.db_port = free_port()
        self.state = os.path.join(d, "state.json")
        self.verified = os.path.join(d, "verified-images")
        self.proc = None
        self.extra = []

    def write_spec(self):
        spec = os.path.join(self.f.d, "spec")
        os.makedirs(spec, exist_ok=True)
        open(os.path.join(spec, "app.env"), "w").write("GREETING=from env_file\n")
        with open(os.path.join(spec, "docker-compose.yml"), "w") as fh:
            fh.write(f"""services:
  web:
    image: {self.web_image}
    entrypoint: ["/hello"]
    command: ["8080", "hello from web"]
    ports: ["127.0.0.1:{self.port}:8080"]
    environment: {{MODE: demo}}
    env_file: app.env
    volumes: ["state:/state"]
    restart: always
    working_dir: /
    ulimits: {{nofile: {{soft: 1024, hard: 2048}}}}
    shm_size: 64m
    depends_on: {{db: {{condition: service_healthy}}}}
  db:
    image: {self.db_image}
    entrypoint: /hello 8081 "hello from db"
    ports: ["127.0.0.1:{self.db_port}:8081"]
    restart: on-failure:5
    user: "1000:1000"
    cap_add: [sys_nice]
    security_opt: ["no-new-privileges:true"]
    volumes: [{{type: tmpfs, target: /scratch}}]
    healthcheck: {{test: [CMD, /hello, "true"], interval: 1s, timeout: 5s, retries: 3}}
volumes:
  state:
x-cocoon:
  registries: ["{self.f.reg}"]
""")
        return spec

    def engine_up(self, spec):
        """The plugin reads the spec at start: it comes after write_spec()."""
        self.f.start_plugin(spec)
        self.f.start_dockerd()

    def start(self, once=False):
        argv = [WORKLOAD, "--spec", os.path.join(self.f.d, "spec"), "--socket", self.f.sock,
                "--images", self.images, "--state", self.state, "--load-window", self.f.window,
                "--verified", self.verified, "--project", f"t{os.getpid()}", "--interval", "1",
                "--work", os.path.join(self.f.d, "work"), *self.extra]
        if once:
            argv.append("--once")
            return subprocess.run(argv, capture_output=True, text=True, timeout=120)
        log = open(os.path.join(self.f.d, "workload.log"), "wb")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        return self.proc

    def services(self):
        try:
            return {s["name"]: s for s in json.load(open(self.state))["services"]}
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            return {}

    def get(self, port):
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read().decode()


def serving(port, text):
    def ok():
        try:
            return text in urllib.request.urlopen(f"http://127.0.0.1:{port}/",
                                                  timeout=1).read().decode()
        except Exception:
            return False
    return ok


@case
def serve_restart_stop(f):
    w = Run(f)
    w.engine_up(w.write_spec())
    w.start()
    try:
        wait_for(lambda: {s.get("state") for s in w.services().values()} == {"running"}
                 and len(w.services()) == 2, "both services running in the state file", 90)
        wait_for(serving(w.port, "hello from web"), "web serving", 30)
        wait_for(serving(w.db_port, "hello from db"), "db serving", 30)
        st = w.services()
        assert st["web"]["image"] == w.web_image and st["db"]["image"] == w.db_image, st
        state = json.load(open(w.state))
        assert state["version"] == 1 and state["engine"] == "docker", state
        # the settings reached the engine
        cid = st["web"]["container_id"]
        info = json.loads(f.docker("inspect", cid, check=True).stdout)[0]
        assert info["Image"] == w.web_id, info["Image"]
        env = info["Config"]["Env"]
        assert "MODE=demo" in env and "GREETING=from env_file" in env, env
        assert info["HostConfig"]["RestartPolicy"]["Name"] == "always"
        assert info["HostConfig"]["ShmSize"] == 64 * 1024 * 1024
        assert info["HostConfig"]["Ulimits"][0]["Hard"] == 2048
        assert info["Mounts"][0]["Name"] == "state", info["Mounts"]
        dbi = json.loads(f.docker("inspect", st["db"]["container_id"], check=True).stdout)[0]
        assert dbi["HostConfig"]["RestartPolicy"] == {"Name": "on-failure",
                                                     "MaximumRetryCount": 5}
        assert dbi["Config"]["User"] == "1000:1000"
        assert dbi["HostConfig"]["CapAdd"] == ["CAP_SYS_NICE"], dbi["HostConfig"]["CapAdd"]
        assert dbi["HostConfig"]["SecurityOpt"] == ["no-new-privileges:true"]
        assert dbi["HostConfig"]["Mounts"][0]["Type"] == "tmpfs"
        assert dbi["Config"]["Healthcheck"]["Test"] == ["CMD", "/hello", "true"]
        # by ID only what cocoon-workload verified: db's image was pulled, not
        # loaded from an archive, so its ID is not in the list
        r = f.docker("create", "--name", "byid", dbi["Image"])
        assert r.returncode != 0 and "authorization denied" in r.stderr, r.stderr
        # start order: web only once db was healthy
        assert dbi["State"]["StartedAt"] <= info["State"]["StartedAt"]
        assert st["db"]["health"] == "healthy", st
        # health-monitor reads the file as it is and passes every service on
        r = subprocess.run([MONITOR, "--workload-state", w.state, "--nvml", "/nonexistent.so",
                            "--once", "json", "containers"], capture_output=True, text=True,
                           timeout=30)
        hm = json.loads(r.stdout)
        assert hm["state"] == "ok", hm
        assert {x["name"]: x["state"] for x in hm["services"]} == {"web": "running",
                                                                    "db": "running"}, hm
        # a crash (SIGKILL from outside) is restarted by dockerd per the policy
        os.kill(info["State"]["Pid"], signal.SIGKILL)
        wait_for(lambda: w.services().get("web", {}).get("restarts", 0) >= 1,
                 "the restart count in the state file", 60)
        wait_for(serving(w.port, "hello from web"), "web serving again", 30)
        # the archive was loaded inside the window only: it is closed now
        assert not os.path.exists(f.window)
        assert open(w.verified).read() == f"{w.web_id} {w.web_image}\n"
        # a service the engine does not bring back is reported as such
        assert w.services()["web"]["error"] == "", w.services()
        f.docker("stop", "-t", "1", cid, check=True)
        wait_for(lambda: "did not restart" in w.services().get("web", {}).get("error", ""),
                 "the policy error in the state file", 30)
    finally:
        w.proc.send_signal(signal.SIGTERM)
        rc = w.proc.wait(timeout=90)
    assert rc == 0, rc
    st = w.services()
    assert {s["state"] for s in st.values()} == {"exited"}, st
    assert st["db"]["error"] == "", st


@case
def tampered_archive(f):
    w = Run(f)
    data = bytearray(open(w.archive, "rb").read())
    i = data.find(w.web_layer[600:640])
    assert i > 0
    data[i] ^= 1
    open(w.archive, "wb").write(data)
    w.engine_up(w.write_spec())
    r = w.start(once=True)
    assert r.returncode == 1, (r.returncode, r.stderr)
    blob = hashlib.sha256(w.web_layer).hexdigest()
    assert f"blob sha256:{blob} does not match" in r.stderr, r.stderr
    assert f.docker("image", "inspect", w.web_id).returncode != 0, "loaded anyway"
    assert not os.path.exists(f.window)
    assert not os.path.exists(w.verified)
    hostilerows.row("image archive: one layer byte flipped", "cocoon-workload (lib/oci verify)",
                    "dockerd: image %s not loaded (image inspect fails), no load window, "
                    "no verified list" % w.web_id[7:19])


@case
def gzip_layer(f):
    """A tar+gzip layer: verified by its compressed digest, loaded by dockerd
    (which checks the diff_id of the uncompressed layer)."""
    w = Run(f, gz=True)
    w.engine_up(w.write_spec())
    r = w.start(once=True)
    assert r.returncode == 0, r.stderr
    wait_for(serving(w.port, "hello from web"), "web serving", 30)
    assert f.docker("image", "inspect", w.web_id).returncode == 0


@case
def gzip_layer_wrong_diff_id(f):
    """Every blob verifies, but the config's diff_id is not the layer's
    uncompressed digest: dockerd refuses the load, cocoon-workload fails."""
    w = Run(f, gz=True, diff_id="sha256:" + "ab" * 32)
    w.engine_up(w.write_spec())
    r = w.start(once=True)
    assert r.returncode != 0, r.stderr
    assert "loading" in r.stderr, r.stderr
    assert f.docker("image", "inspect", w.web_id).returncode != 0, "loaded anyway"
    assert not os.path.exists(f.window)


@case
def unlisted_registry(f):
    w = Run(f)
    os.unlink(w.archive)
    w.write_spec()
    spec = os.path.join(f.d, "spec", "docker-compose.yml")
    text = open(spec).read().replace(f'registries: ["{f.reg}"]', 'registries: ["other.example"]')
    open(spec, "w").write(text)
    w.engine_up(os.path.dirname(spec))
    r = w.start(once=True)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "not in x-cocoon.registries" in r.stderr, r.stderr
    assert f.docker("image", "inspect", w.db_image).returncode != 0, "pulled anyway"
    assert f.docker("image", "inspect", w.web_image).returncode != 0, "pulled anyway"
    hostilerows.row("pull from a registry not in x-cocoon.registries",
                    "cocoon-workload (registry allowlist)",
                    "dockerd: neither image present (image inspect fails)")


def tree_sha(top):
    """SHA-256 over the names, kinds and contents under top (links by target)."""
    h = hashlib.sha256()
    for root, dirs, files in sorted(os.walk(top)):
        dirs.sort()
        for n in sorted(files + [x for x in dirs if os.path.islink(os.path.join(root, x))]):
            p = os.path.join(root, n)
            h.update(p.encode() + b"\0")
            if os.path.islink(p):
                h.update(b"L" + os.readlink(p).encode())
            elif os.path.isfile(p):
                h.update(open(p, "rb").read())
    return h.hexdigest()


@case
def planted_in_data(f):
    """The host plants links and nodes in the data share: as a bind source
    (a link to the VM's secrets, one to the engine socket, a FIFO, a
    character device) and as the image archive (a link to a good archive, a
    FIFO, a device, a directory, the images directory itself a link).
    cocoon-workload refuses each before any container is created or any
    image loaded, naming the path; dockerd shows no container and no image,
    and the link's target is unchanged."""
    w = Run(f)
    data = os.path.join(f.d, "data")
    os.makedirs(data)
    shutil.move(w.images, os.path.join(data, "images"))
    w.images = os.path.join(data, "images")
    w.archive = os.path.join(w.images, os.path.basename(w.archive))
    w.extra = ["--data", data]
    secrets = os.path.join(f.d, "persist")  # what a link would lead to
    os.makedirs(os.path.join(secrets, "keys"))
    open(os.path.join(secrets, "keys", "app"), "wb").write(os.urandom(32))
    spec = w.write_spec()
    path = os.path.join(spec, "docker-compose.yml")
    text = open(path).read().replace('volumes: ["state:/state"]',
                                     'volumes: ["state:/state", "/data/models:/models:ro"]')
    open(path, "w").write(text)
    w.engine_up(spec)
    models = os.path.join(data, "models")
    good = open(w.archive, "rb").read()
    cname = f"t{os.getpid()}-web"

    def attempt(what, words):
        before = tree_sha(secrets)
        r = w.start(once=True)
        assert r.returncode == 1, (what, r.returncode, r.stderr)
        for word in words:
            assert word in r.stderr, (what, word, r.stderr)
        # dockerd: nothing created, nothing loaded; the target unchanged
        assert f.docker("container", "inspect", cname).returncode != 0, (what, "created")
        assert f.docker("image", "inspect", w.web_id).returncode != 0, (what, "loaded")
        assert not os.path.exists(f.window)
        assert tree_sha(secrets) == before, what
        hostilerows.row("planted in /data: " + what, "cocoon-workload (lib/beneath, openat2)",
                        "dockerd: no container %s, image %s not loaded; target tree sha256 "
                        "%s.. same" % (cname, w.web_id[7:19], before[:12]))

    def reset():
        for p in (models, w.archive):
            if os.path.islink(p) or os.path.isfile(p) or os.path.exists(p) and not os.path.isdir(p):
                os.unlink(p)
            elif os.path.isdir(p):
                shutil.rmtree(p)
        os.makedirs(models)
        open(w.archive, "wb").write(good)

    bind = f"{models}: a symbolic link"
    reset(); shutil.rmtree(models); os.symlink(os.path.join(secrets, "keys"), models)
    attempt("bind source /data/models -> the VM's keys", [bind, "service web", "never followed"])
    reset(); shutil.rmtree(models); os.symlink("/run/docker.sock", models)
    attempt("bind source /data/models -> the engine socket", [bind])
    reset(); shutil.rmtree(models); os.mkfifo(models)
    attempt("bind source a FIFO", [f"{models} is a FIFO"])
    reset(); shutil.rmtree(models); os.mknod(models, 0o600 | stat.S_IFCHR, os.makedev(1, 1))
    attempt("bind source a character device (/dev/mem's numbers)",
            [f"{models} is a character device"])
    elsewhere = os.path.join(f.d, "good.tar")
    open(elsewhere, "wb").write(good)
    reset(); os.unlink(w.archive); os.symlink(elsewhere, w.archive)
    attempt("image archive a link to an archive elsewhere", [f"{w.archive}: a symbolic link"])
    reset(); os.unlink(w.archive); os.mkfifo(w.archive)
    attempt("image archive a FIFO", [f"{w.archive} is a FIFO, not a regular file"])
    reset(); os.unlink(w.archive); os.mknod(w.archive, 0o600 | stat.S_IFBLK, os.makedev(7, 0))
    attempt("image archive a block device", [f"{w.archive} is a block device"])
    reset(); os.unlink(w.archive); os.makedirs(w.archive)
    attempt("image archive a directory", [f"{w.archive} is a directory"])
    reset()
    moved = os.path.join(f.d, "images-elsewhere")
    shutil.move(w.images, moved)
    os.symlink(moved, w.images)
    attempt("/data/images itself a link", ["a symbolic link"])


@case
def podman_archive(d):
    """cocoon-workload on Podman's Docker-compatible socket: the archive is
    verified and loaded through the compat images/load, the service created
    by image ID, started and serving on its published port, stopped on
    SIGTERM. Podman runs in a network namespace of the test's own (its CNI
    bridge and port rules stay there); no authz plugin (Podman has none:
    policy.json guards its pulls)."""
    if not shutil.which("podman"):
        raise Skip("needs podman")
    ns = f"cwpod{os.getpid()}"
    sock = os.path.join(d, "podman.sock")
    pod = ["nsenter", f"--net=/run/netns/{ns}", "podman", "--root", f"{d}/root", "--runroot",
           f"{d}/run", "--tmpdir", f"{d}/tmp", "--storage-driver", "vfs", "--cgroup-manager",
           "cgroupfs", "--events-backend", "file"]
    subprocess.run(["ip", "netns", "add", ns], check=True)
    svc = wl = None
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        src, exe = os.path.join(d, "serve.c"), os.path.join(d, "serve")
        open(src, "w").write(SERVE_C)
        subprocess.run(["cc", "-static", "-Os", "-o", exe, src], check=True)
        tar, digest, cfg = oci_archive(layer_tar(open(exe, "rb").read(), b"web\n"), ["/hello"])
        os.makedirs(os.path.join(d, "images"))
        open(os.path.join(d, "images", digest[7:] + ".tar"), "wb").write(tar)
        os.makedirs(os.path.join(d, "spec"))
        port = free_port()
        # nofile and nproc: Podman's defaults exceed this machine's hard limits
        open(os.path.join(d, "spec", "docker-compose.yml"), "w").write(f"""services:
  web:
    image: 127.0.0.1:5000/demo/web@{digest}
    entrypoint: ["/hello"]
    command: ["8080", "hello from podman"]
    ports: ["127.0.0.1:{port}:8080"]
    restart: always
    volumes: ["state:/state"]
    ulimits: {{nofile: {{soft: 1024, hard: 2048}}, nproc: 4096}}
volumes:
  state:
x-cocoon:
  engine: podman
""")
        # the service reads the policy.json cocoon-init would write for this
        # spec (lib/engineconf.c), bound over /etc/containers/policy.json in a
        # mount namespace of its own
        policy = os.path.join(d, "policy.json")
        open(policy, "wb").write(subprocess.run([DUMP, os.path.join(d, "spec"), "policy"],
                                                check=True, capture_output=True).stdout)
        svc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount --bind "$0" /etc/containers/policy.json && exec "$@"', policy,
             *pod, "system", "service", "--time=0", "unix://" + sock],
            stdout=open(os.path.join(d, "podman.log"), "wb"), stderr=subprocess.STDOUT,
            start_new_session=True)
        wait_for(lambda: os.path.exists(sock), "the podman socket", 30)
        state = os.path.join(d, "state.json")
        wl = subprocess.Popen(
            [WORKLOAD, "--spec", os.path.join(d, "spec"), "--socket", sock, "--images",
             os.path.join(d, "images"), "--state", state, "--load-window",
             os.path.join(d, "window"), "--verified", os.path.join(d, "verified"), "--work",
             os.path.join(d, "work"), "--project", f"t{os.getpid()}", "--interval", "1"],
            stdout=open(os.path.join(d, "workload.log"), "wb"), stderr=subprocess.STDOUT)

        def running():
            try:
                st = json.load(open(state))["services"]
            except (FileNotFoundError, json.JSONDecodeError):
                return False
            return st[0]["state"] == "running"
        wait_for(running, "web running in the state file", 60)
        st = json.load(open(state))
        assert st["engine"] == "podman" and st["services"][0]["health"] == "none", st
        get = ("import urllib.request;print(urllib.request.urlopen("
               f"'http://127.0.0.1:{port}/',timeout=2).read().decode())")
        wait_for(lambda: "hello from podman" in subprocess.run(
            ["nsenter", f"--net=/run/netns/{ns}", sys.executable, "-c", get],
            capture_output=True, text=True).stdout, "web serving", 30)
        info = json.loads(subprocess.run([*pod, "inspect", st["services"][0]["container_id"]],
                                         capture_output=True, check=True).stdout)[0]
        assert info["Image"] == cfg[7:], (info["Image"], cfg)
        wl.send_signal(signal.SIGTERM)
        assert wl.wait(timeout=60) == 0
        wl = None
        st = json.load(open(state))
        assert st["services"][0]["state"] == "exited", st
    finally:
        if wl:
            wl.kill()
            wl.wait()
        subprocess.run([*pod, "rm", "-af", "-t", "0"], capture_output=True)
        if svc:
            os.killpg(svc.pid, signal.SIGTERM)
            svc.wait(timeout=30)
        subprocess.run(f"grep -o ' {d}[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l",
                       shell=True)
        subprocess.run(["ip", "netns", "del", ns])


class Skip(Exception):
    pass


def main():
    global WORKLOAD, AUTHZ, MONITOR, DUMP
    hostilerows.take(sys.argv)
    WORKLOAD, AUTHZ, MONITOR, DUMP = (os.path.abspath(a) for a in sys.argv[1:5])
    name = sys.argv[5]
    if name == "list":
        print("\n".join(CASES))
        return 0
    missing = [t for t in NEEDED + ("ip",) if not shutil.which(t)]
    if missing or os.geteuid() != 0:
        print(f"skip: needs root and {', '.join(missing) or 'nothing else'}")
        return SKIP
    d = tempfile.mkdtemp(prefix="workload-", dir="/var/tmp")
    if name.startswith("podman"):
        try:
            CASES[name](d)
        except Skip as e:
            print(f"skip: {e}")
            return SKIP
        except BaseException:
            for log in ("podman.log", "workload.log"):
                p = os.path.join(d, log)
                if os.path.exists(p):
                    print(f"--- {log}\n" + open(p, errors="replace").read()[-4000:])
            raise
        finally:
            subprocess.run(["rm", "-rf", d])
        print(f"{name}: ok")
        return 0
    verified = os.path.join(d, "verified-images")
    f = Fixture(d, AUTHZ, ["--verified", verified])
    t0 = time.time()
    try:
        f.start_registry()
        f.with_bridge()
        # each case writes its spec, then starts the plugin and dockerd
        CASES[name](f)
    except BaseException:
        print(f.logs())
        wl = os.path.join(d, "workload.log")
        if os.path.exists(wl):
            print("--- workload.log\n" + open(wl, errors="replace").read()[-4000:])
        raise
    finally:
        f.stop()
        shutil.rmtree(d, ignore_errors=True)
    print(f"{name}: ok ({time.time() - t0:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
