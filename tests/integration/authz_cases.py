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
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dockerfix import NEEDED, Fixture  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile"))
import hostilerows  # noqa: E402

AUTHZ = None
CASES = {}
SKIP = 77


def case(fn):
    CASES[fn.__name__] = fn
    return fn


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
    execs = f.docker("inspect", "-f", "{{json .ExecIDs}}", "c1").stdout.strip()
    assert execs == "null", execs
    hostilerows.row("authz: docker exec under x-cocoon.exec: deny", "cocoon-authz",
                    "dockerd: container c1 has no exec instance (inspect ExecIDs: null)")
    r = f.docker("rm", "-f", "c1")
    assert r.returncode == 0, r.stderr


# the cases whose request must leave dockerd as it was: no container and no
# image more than before (checked with the docker CLI after the denial)
ATTACKS = {
    "pull_by_tag": "authz: pull by tag", "pull_unlisted_digest": "authz: pull of an unlisted digest",
    "build": "authz: docker build", "import_tar": "authz: docker import",
    "privileged": "authz: run --privileged", "host_network": "authz: run --network host",
    "host_pid": "authz: run --pid host", "root_bind": "authz: bind of / into a container",
    "root_mount": "authz: --mount type=bind of /",
    "docker_sock_mount": "authz: the engine socket into a container",
    "cap_sys_admin": "authz: --cap-add SYS_ADMIN",
    "seccomp_unconfined": "authz: seccomp=unconfined",
}


def engine_state(f):
    ps = f.docker("ps", "-aq", "--no-trunc")
    im = f.docker("images", "-aq", "--no-trunc")
    assert ps.returncode == 0 and im.returncode == 0, ps.stderr + im.stderr
    return sorted(ps.stdout.split()), sorted(set(im.stdout.split()))


def main():
    global AUTHZ
    hostilerows.take(sys.argv)
    AUTHZ = os.path.abspath(sys.argv[1])
    name = sys.argv[2]
    if name == "list":
        print("\n".join(CASES))
        return 0
    missing = [t for t in NEEDED if not shutil.which(t)]
    if missing or os.geteuid() != 0:
        print(f"skip: needs root and {', '.join(missing) or 'nothing else'}")
        return SKIP
    d = tempfile.mkdtemp(prefix="authz-", dir="/var/tmp")
    f = Fixture(d, AUTHZ)
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
        before = engine_state(f)
        CASES[name](f)
        if name in ATTACKS:
            after = engine_state(f)
            assert after == before, ("dockerd changed", before, after)
            hostilerows.row(ATTACKS[name], "cocoon-authz",
                            "dockerd: %d containers, %d images before and after (docker ps -a, "
                            "images -a)" % (len(after[0]), len(after[1])))
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
