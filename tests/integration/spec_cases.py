#!/usr/bin/env python3
"""cocoon-spec refusal and safety cases, one per invocation.

usage: spec_cases.py COCOON_SPEC CASE     (CASE 'list' prints the names)

Each case builds a small spec in a temporary directory, runs the real
program and checks its exit status, that the message names the offending
path, and that nothing was modified or left half-written.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

from gitref import git_ls_files, git_tree_id as git_hash

TOOL = None
CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def run(*args):
    return subprocess.run([TOOL, *args], capture_output=True, text=True)


def snapshot(d):
    """Everything about a tree that a tool could change: names, types, modes, sizes, mtimes, content."""
    out = []
    for root, dirs, files in os.walk(d):
        dirs.sort()
        for n in sorted(dirs + files):
            p = os.path.join(root, n)
            st = os.lstat(p)
            h = ""
            if os.path.isfile(p) and not os.path.islink(p):
                h = hashlib.sha256(open(p, "rb").read()).hexdigest()
            elif os.path.islink(p):
                h = os.readlink(p)
            out.append((os.path.relpath(p, d), st.st_mode, st.st_size, st.st_mtime_ns, h))
    return out


def write(path, data=b"x\n", mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def base_spec(d):
    write(os.path.join(d, "docker-compose.yml"), b"services: {}\n")
    write(os.path.join(d, "bin", "start.sh"), b"#!/bin/sh\n", 0o755)


def expect_refused(d, needle, cmd="hash"):
    before = snapshot(d)
    r = run(cmd, d)
    assert r.returncode == 1, f"exit {r.returncode}, want 1; stderr: {r.stderr}"
    assert needle in r.stderr, f"message does not name {needle!r}: {r.stderr}"
    assert snapshot(d) == before, "the source changed"
    return r


@case
def symlink_file(d):
    base_spec(d)
    os.symlink("/etc/passwd", os.path.join(d, "bin", "link"))
    expect_refused(d, "bin/link")


@case
def symlink_dir(d):
    base_spec(d)
    os.symlink("bin", os.path.join(d, "alias"))
    expect_refused(d, "alias")


@case
def fifo(d):
    base_spec(d)
    os.mkfifo(os.path.join(d, "bin", "pipe"))
    expect_refused(d, "bin/pipe")


@case
def device_node(d):
    base_spec(d)
    os.mknod(os.path.join(d, "null"), 0o600 | 0o020000, os.makedev(1, 3))
    expect_refused(d, "null")


@case
def nested_git_dir(d):
    base_spec(d)
    os.makedirs(os.path.join(d, "vendor", "lib", ".git"))
    write(os.path.join(d, "vendor", "lib", ".git", "HEAD"), b"ref: refs/heads/main\n")
    expect_refused(d, "vendor/lib/.git")


@case
def git_name_variants(d):
    # git itself refuses these spellings of .git; so does the spec hash
    for name in [".GIT", ".Git ", "git~1", ".git."]:
        with tempfile.TemporaryDirectory() as t:
            base_spec(t)
            write(os.path.join(t, "sub", name))
            expect_refused(t, "sub/" + name)


@case
def big_file(d):
    base_spec(d)
    write(os.path.join(d, "weights.bin"), b"\0" * (10 * 1024 * 1024 + 1))
    expect_refused(d, "weights.bin")


@case
def exactly_10mib_accepted(d):
    base_spec(d)
    write(os.path.join(d, "weights.bin"), b"\1" * (10 * 1024 * 1024))
    r = run("hash", d)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == git_hash(d)


@case
def big_file_in_runtime_accepted(d):
    base_spec(d)
    h0 = run("hash", d).stdout.strip()
    write(os.path.join(d, "runtime", "model.bin"), b"\0" * (11 * 1024 * 1024))
    r = run("hash", d)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == h0, "runtime/ must not change the hash"


@case
def big_file_ignored_accepted(d):
    base_spec(d)
    write(os.path.join(d, ".gitignore"), b"*.bin\n")
    write(os.path.join(d, "weights.bin"), b"\0" * (11 * 1024 * 1024))
    r = run("hash", d)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == git_hash(d)


@case
def ignored_symlink_accepted(d):
    base_spec(d)
    write(os.path.join(d, ".gitignore"), b"cache/\n")
    os.makedirs(os.path.join(d, "cache"))
    os.symlink("/", os.path.join(d, "cache", "root"))
    r = run("hash", d)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == git_hash(d)


@case
def stale_spec_tree(d):
    base_spec(d)
    write(os.path.join(d, "spec.tree"), b"0" * 64 + b"\n")
    expect_refused(d, "spec.tree")


@case
def matching_spec_tree_accepted(d):
    base_spec(d)
    h = run("hash", d).stdout.strip()
    write(os.path.join(d, "spec.tree"), (h + "\n").encode())
    r = run("hash", d)
    assert r.returncode == 0 and r.stdout.strip() == h, r.stderr


@case
def gitignore_not_regular(d):
    base_spec(d)
    os.makedirs(os.path.join(d, "sub", ".gitignore"))
    write(os.path.join(d, "sub", "f"))
    expect_refused(d, "sub/.gitignore")


@case
def missing_dir(d):
    r = run("hash", os.path.join(d, "nope"))
    assert r.returncode == 3, r.returncode
    assert "nope" in r.stderr and "No such file" in r.stderr, r.stderr


@case
def usage_errors(d):
    for args in ([], ["hash"], ["frobnicate", d], ["prepare", d], ["--bogus"]):
        r = run(*args)
        assert r.returncode == 2, (args, r.returncode)
    r = run("--help")
    assert r.returncode == 0 and "prepare SRC OUT" in r.stdout


@case
def prepare_roundtrip(d):
    src = os.path.join(d, "src")
    out = os.path.join(d, "out")
    base_spec(src)
    write(os.path.join(src, ".gitignore"), b"*.log\n")
    write(os.path.join(src, "debug.log"), b"secret\n")
    write(os.path.join(src, "runtime", "models", "m.bin"), b"\0" * 5000, 0o600)
    before = snapshot(src)
    r = run("--json", "prepare", src, out)
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    h = j["spec_tree"]
    assert h == git_hash(src)
    assert snapshot(src) == before, "prepare modified the source"
    assert open(os.path.join(out, "spec.tree")).read() == h + "\n"
    meta = open(os.path.join(out, "spec.meta")).read()
    assert "spec_tree=" + h in meta
    assert not os.path.exists(os.path.join(out, "debug.log")), "ignored files must not be copied"
    assert not os.path.exists(os.path.join(out, ".gitignore"))
    assert os.path.getsize(os.path.join(out, "runtime", "models", "m.bin")) == 5000
    assert os.stat(os.path.join(out, "bin", "start.sh")).st_mode & 0o100
    # the prepared copy hashes the same, with its own spec.tree accepted
    r2 = run("hash", out)
    assert r2.returncode == 0 and r2.stdout.strip() == h, r2.stderr
    assert git_hash(out) == h


@case
def prepare_refuses_existing_output(d):
    src = os.path.join(d, "src")
    base_spec(src)
    out = os.path.join(d, "out")
    write(out, b"precious\n")
    r = run("prepare", src, out)
    assert r.returncode == 1 and "already exists" in r.stderr, r.stderr
    assert open(out, "rb").read() == b"precious\n"
    os.unlink(out)
    os.mkdir(out)
    r = run("prepare", src, out)
    assert r.returncode == 1 and os.listdir(out) == []


@case
def prepare_failure_leaves_nothing(d):
    src = os.path.join(d, "src")
    base_spec(src)
    write(os.path.join(src, "zz", "a"))
    os.symlink("/etc", os.path.join(src, "zz", "etc"))
    before = sorted(os.listdir(d))
    r = run("prepare", src, os.path.join(d, "out"))
    assert r.returncode == 1 and "zz/etc" in r.stderr, r.stderr
    assert sorted(os.listdir(d)) == before, f"left behind: {set(os.listdir(d)) - set(before)}"


@case
def prepare_refuses_runtime_symlink(d):
    src = os.path.join(d, "src")
    base_spec(src)
    os.makedirs(os.path.join(src, "runtime"))
    os.symlink("/etc/shadow", os.path.join(src, "runtime", "s"))
    before = sorted(os.listdir(d))
    r = run("prepare", src, os.path.join(d, "out"))
    assert r.returncode == 1 and "runtime/s" in r.stderr, r.stderr
    assert sorted(os.listdir(d)) == before


@case
def validate_lists_every_problem(d):
    base_spec(d)
    os.symlink("x", os.path.join(d, "l1"))
    write(os.path.join(d, "big"), b"\0" * (10 * 1024 * 1024 + 5))
    os.makedirs(os.path.join(d, "sub", ".git"))
    r = run("--json", "validate", d)
    assert r.returncode == 1, r.returncode
    j = json.loads(r.stdout)
    paths = sorted(p["path"] for p in j["problems"])
    assert paths == ["big", "l1", "sub/.git"], paths
    assert j["ok"] is False


@case
def validate_ok(d):
    base_spec(d)
    r = run("--json", "validate", d)
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["ok"] and j["problems"] == [] and j["spec_tree"] == git_hash(d)


@case
def ls_matches_git(d):
    base_spec(d)
    write(os.path.join(d, "a b", "c"), b"hello\n", 0o744)
    r = run("ls", d)
    want = git_ls_files(d)
    assert r.returncode == 0 and r.stdout == want, (r.stdout, want)


@case
def empty_spec(d):
    r = run("hash", d)
    assert r.returncode == 0 and r.stdout.strip() == git_hash(d), (r.stdout, r.stderr)


# ---- Docker mode: the workload rules of docker-compose.yml ----

D64 = "0123456789abcdef" * 4
IMG = "127.0.0.1:5000/demo/hello@sha256:" + D64


def compose_spec(d, text):
    write(os.path.join(d, "docker-compose.yml"), text.encode())


@case
def compose_valid(d):
    compose_spec(d, f"""services:
  web:
    image: {IMG}
    env_file: web.env
    volumes: ["models:/models", "/data/in:/in:ro"]
    cap_add: [CAP_NET_BIND_SERVICE]
volumes:
  models:
x-cocoon:
  engine: docker
  egress:
    - {{cidr: 10.0.2.2/32, ports: [11001], proto: tcp}}
  registries: ["127.0.0.1:5000"]
  exec: deny
""")
    write(os.path.join(d, "web.env"), b"A=1\n")
    r = run("--json", "validate", d)
    assert r.returncode == 0, r.stdout + r.stderr
    j = json.loads(r.stdout)
    assert j["ok"] and j["problems"] == [] and j["spec_tree"] == git_hash(d)


@case
def compose_every_violation_with_line(d):
    compose_spec(d, f"""services:
  web:
    image: nginx:1.25
    privileged: true
    network_mode: host
    volumes: ["/:/host", "/var/run/docker.sock:/s"]
    cap_add: [SYS_ADMIN]
    env_file: missing.env
""")
    r = run("--json", "validate", d)
    assert r.returncode == 1, r.returncode
    j = json.loads(r.stdout)
    assert j["ok"] is False
    got = [(p["path"], p["line"], p["key"]) for p in j["problems"]]
    want = [("docker-compose.yml", 3, "services.web.image"),
            ("docker-compose.yml", 4, "services.web.privileged"),
            ("docker-compose.yml", 5, "services.web.network_mode"),
            ("docker-compose.yml", 6, "services.web.volumes[0]"),
            ("docker-compose.yml", 6, "services.web.volumes[1]"),
            ("docker-compose.yml", 7, "services.web.cap_add[0]"),
            ("docker-compose.yml", 8, "services.web.env_file")]
    assert got == want, got
    # the text form names file:line: key
    r = run("validate", d)
    assert r.returncode == 1
    assert "docker-compose.yml:4: services.web.privileged: " in r.stderr, r.stderr
    assert "7 problems in docker-compose.yml" in r.stderr, r.stderr


@case
def compose_and_structural_problems_together(d):
    compose_spec(d, "services:\n  web:\n    build: .\n")
    os.symlink("x", os.path.join(d, "l1"))
    r = run("--json", "validate", d)
    assert r.returncode == 1
    j = json.loads(r.stdout)
    paths = [(p["path"], p.get("line")) for p in j["problems"]]
    assert ("l1", None) in paths and ("docker-compose.yml", 3) in paths, paths


@case
def compose_hostile_yaml(d):
    bomb = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
    cases = [
        (bomb, 1, "anchors"),
        ("services:\n  web: {}\n  web: {}\n", 3, "duplicate key"),
        ("services: " + "[" * 200 + "]" * 200 + "\n", 1, "nested more than"),
        ("services:\n  w\udcff: {}\n", 2, "UTF-8"),
        ("services: {}\n---\nservices: {}\n", 2, "more than one YAML document"),
    ]
    for text, line, needle in cases:
        with tempfile.TemporaryDirectory() as t:
            write(os.path.join(t, "docker-compose.yml"), text.encode("utf-8", "surrogateescape"))
            r = run("--json", "validate", t)
            assert r.returncode == 1, (text[:40], r.returncode, r.stderr)
            p = json.loads(r.stdout)["problems"]
            assert len(p) == 1 and p[0]["line"] == line and needle in p[0]["message"], (text[:40], p)
    # a huge document is refused before parsing
    write(os.path.join(d, "docker-compose.yml"), b"#" * (1024 * 1024 + 1))
    r = run("--json", "validate", d)
    assert r.returncode == 1
    p = json.loads(r.stdout)["problems"]
    assert len(p) == 1 and p[0]["line"] == 0 and "more than" in p[0]["message"], p


@case
def compose_symlink_is_structural(d):
    write(os.path.join(d, "real.yml"), b"services: {}\n")
    os.symlink("real.yml", os.path.join(d, "docker-compose.yml"))
    r = run("--json", "validate", d)
    assert r.returncode == 1
    p = json.loads(r.stdout)["problems"]
    assert [x["path"] for x in p] == ["docker-compose.yml"] and "line" not in p[0], p


def main():
    global TOOL
    TOOL = sys.argv[1]
    name = sys.argv[2]
    if name == "list":
        print("\n".join(CASES))
        return 0
    with tempfile.TemporaryDirectory(prefix="spec-case-") as d:
        CASES[name](d)
    print(f"{name}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
