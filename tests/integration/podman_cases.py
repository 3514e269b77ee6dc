#!/usr/bin/env python3
"""Podman (bookworm's 4.3) with the policy.json and registries.conf that
lib/engineconf.c writes from a workload spec, against a local registry.

usage: podman_cases.py ENGINECONF_DUMP CASE     (CASE 'list' prints the names)

The registry and its two images (one in the spec, one not) come from
dockerfix.py. Podman runs with its own root, runroot and the vfs driver in
the test's directory, the generated files given with --signature-policy and
CONTAINERS_REGISTRIES_CONF; --tls-verify=false because the local registry
speaks plain HTTP (dockerd treats 127.0.0.0/8 as insecure by itself, Podman
does not). Skips (77) without root, podman or docker-registry.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dockerfix import HELLO_C, Fixture, layer_tar  # noqa: E402

DUMP = None
CASES = {}
SKIP = 77


def case(fn):
    CASES[fn.__name__] = fn
    return fn


class Pod:
    def __init__(self, f):
        self.f = f
        d = f.d
        src, exe = os.path.join(d, "hello.c"), os.path.join(d, "hello")
        open(src, "w").write(HELLO_C)
        subprocess.run(["cc", "-static", "-Os", "-o", exe, src], check=True)
        binary = open(exe, "rb").read()
        self.digest = f.push("demo/hello", "v1", layer_tar(binary, b"allowed\n"))
        self.other = f.push("demo/hello", "other", layer_tar(binary, b"other\n"))
        self.image = f"{f.reg}/demo/hello@{self.digest}"
        spec = os.path.join(d, "spec")
        os.makedirs(spec)
        with open(os.path.join(spec, "docker-compose.yml"), "w") as fh:
            fh.write(f"services:\n  hello:\n    image: {self.image}\n"
                     f"x-cocoon:\n  engine: podman\n  registries: [\"{f.reg}\"]\n")
        self.policy = os.path.join(d, "policy.json")
        self.regconf = os.path.join(d, "registries.conf")
        for what, path in (("policy", self.policy), ("registries", self.regconf)):
            out = subprocess.run([DUMP, spec, what], check=True, capture_output=True).stdout
            open(path, "wb").write(out)

    def pull(self, ref):
        env = dict(os.environ, CONTAINERS_REGISTRIES_CONF=self.regconf)
        d = self.f.d
        return subprocess.run(
            ["podman", "--root", f"{d}/storage", "--runroot", f"{d}/run",
             "--storage-driver", "vfs", "pull", "--signature-policy", self.policy,
             "--tls-verify=false", ref],
            capture_output=True, text=True, env=env, timeout=120)


@case
def policy_allows_only_listed_digest(f):
    p = Pod(f)
    r = p.pull(f"{f.reg}/demo/hello@{p.other}")
    assert r.returncode != 0, r.stdout
    assert "rejected" in r.stderr.lower(), r.stderr
    r = p.pull(f"{f.reg}/demo/hello:v1")
    assert r.returncode != 0, "pull by tag allowed"
    assert "rejected" in r.stderr.lower(), r.stderr
    r = p.pull(p.image)
    assert r.returncode == 0, r.stderr


@case
def short_names_refused(f):
    p = Pod(f)
    r = p.pull("demo/hello")
    assert r.returncode != 0, r.stdout
    assert "short-name" in r.stderr or "unqualified" in r.stderr.lower(), r.stderr


def main():
    global DUMP
    DUMP = os.path.abspath(sys.argv[1])
    name = sys.argv[2]
    if name == "list":
        print("\n".join(CASES))
        return 0
    missing = [t for t in ("podman", "docker-registry", "cc") if not shutil.which(t)]
    if missing or os.geteuid() != 0:
        print(f"skip: needs root and {', '.join(missing) or 'nothing else'}")
        return SKIP
    d = tempfile.mkdtemp(prefix="podman-", dir="/var/tmp")
    f = Fixture(d)
    t0 = time.time()
    try:
        f.start_registry()
        CASES[name](f)
    except BaseException:
        print(f.logs())
        raise
    finally:
        f.stop()
        subprocess.run(["rm", "-rf", d])
    print(f"{name}: ok ({time.time() - t0:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
