#!/usr/bin/env python3
"""cocoon-launch against golden files, libvirt's schema and bad configurations.

Usage: launch_cases.py COCOON_LAUNCH CASE      run one case
       launch_cases.py none list               the case names (for meson)
       launch_cases.py COCOON_LAUNCH update    rewrite the golden files

Golden files live in tests/integration/launch/golden/: the --print-only and
--libvirt-xml output of the production config with two GPUs (prod-2gpu.ini)
and of the development config (dev.ini). Bad configurations must each give a
clear error naming what is wrong, exit 1, and start nothing (no run directory,
no persistent image, no child process).
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CONF = os.path.join(HERE, "launch")
GOLDEN = os.path.join(CONF, "golden")

GOLDEN_CASES = {
    "golden-print-prod": (["--print-only"], "prod-2gpu.ini", "prod-2gpu.print.txt"),
    "golden-print-dev": (["--print-only"], "dev.ini", "dev.print.txt"),
    "golden-xml-prod": (["--libvirt-xml"], "prod-2gpu.ini", "prod-2gpu.xml"),
    "golden-xml-dev": (["--libvirt-xml"], "dev.ini", "dev.xml"),
}


def run(launcher, args, **kw):
    env = dict(os.environ, COCOON_LOG_LEVEL="warn")
    return subprocess.run([launcher] + args, capture_output=True, text=True, env=env,
                          timeout=60, **kw)


def golden(launcher, name):
    args, ini, out = GOLDEN_CASES[name]
    r = run(launcher, args + [os.path.join(CONF, ini)])
    if r.returncode != 0:
        sys.exit(f"{name}: exit {r.returncode}: {r.stderr}")
    want = open(os.path.join(GOLDEN, out)).read()
    if r.stdout != want:
        import difflib
        sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), r.stdout.splitlines(True),
                                                   "golden/" + out, "output"))
        sys.exit(f"{name}: output differs from golden/{out} (run '{sys.argv[0]} LAUNCHER update' "
                 "after checking the change)")
    if "x-vfio-pci-confidential-gpu" in r.stdout:
        sys.exit(f"{name}: emits x-vfio-pci-confidential-gpu, which QEMU does not have")


def xml_validate(launcher, name):
    """the dev domain against the host's libvirt (bookworm's 9.0, which
    launch_libvirt.py starts it with); the production domain, whose
    <launchSecurity type='tdx'> bookworm's schema predates, goes through
    trixie-backports' 12.9 in libvirt_tdx.py"""
    ini = {"xml-validate-dev": "dev.ini"}[name]
    if not shutil.which("virt-xml-validate"):
        sys.exit("virt-xml-validate is missing: scripts/install-deps.sh vm (libvirt-clients)")
    r = run(launcher, ["--libvirt-xml", os.path.join(CONF, ini)])
    if r.returncode != 0:
        sys.exit(f"{name}: exit {r.returncode}: {r.stderr}")
    xml = r.stdout
    with tempfile.NamedTemporaryFile("w", suffix=".xml") as f:
        f.write(xml)
        f.flush()
        v = subprocess.run(["virt-xml-validate", f.name, "domain"], capture_output=True,
                           text=True)
    if v.returncode != 0:
        sys.exit(f"{name}: virt-xml-validate refused the domain:\n{v.stdout}{v.stderr}")
    print(v.stdout.strip())


# ---- bad configurations: each refused before anything starts ---------------

def make_tree(t):
    img = os.path.join(t, "image")
    os.makedirs(img)
    for f in ("vmlinuz", "initrd.img", "rootfs.img"):
        open(os.path.join(img, f), "w").write("x")
    open(os.path.join(img, "cmdline"), "w").write("console=ttyS0\n")
    os.makedirs(os.path.join(t, "spec"))
    open(os.path.join(t, "spec", "docker-compose.yml"), "w").write("services: {}\n")
    os.makedirs(os.path.join(t, "data"))
    return [
        "--dev", "--accel", "tcg", "--transport", "vport", "--fs", "9p",
        "--image-dir", img, "--spec", os.path.join(t, "spec"),
        "--data", os.path.join(t, "data"),
        "--persistent", os.path.join(t, "persistent.img"),
        "--run-dir", os.path.join(t, "run"), "--console", "none", "--ready-timeout", "5",
    ]


def bad_case(launcher, name):
    t = tempfile.mkdtemp(prefix="launch-bad.", dir="/tmp")
    try:
        args = make_tree(t)
        want = None
        if name == "bad-missing-kernel":
            os.unlink(os.path.join(t, "image", "vmlinuz"))
            want = "key 'kernel': '%s/image/vmlinuz': No such file" % t
        elif name == "bad-missing-cmdline":
            os.unlink(os.path.join(t, "image", "cmdline"))
            want = "%s/image/cmdline" % t
        elif name == "bad-gpu-bdf":
            args += ["--gpu", "3a:00"]
            want = "key 'gpu'"
        elif name == "bad-memory-gpu":
            args += ["--gpu", "3a:00.0", "--memory", "8G"]
            want = "key 'memory': 8G is below the 16G minimum for a VM with a GPU"
        elif name == "bad-port-clash":
            args += ["--ssh-port", "2222", "--forward", "2222:80"]
            want = "clashes with ssh_port"
        elif name == "bad-port-taken":
            import socket
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            args += ["--forward", "%d:80" % port]
            want = "host port tcp:127.0.0.1:%d is taken" % port
        elif name == "bad-spec-missing":
            shutil.rmtree(os.path.join(t, "spec"))
            want = "key 'spec': directory '%s/spec'" % t
        elif name == "bad-spec-refused":
            os.symlink("/etc/passwd", os.path.join(t, "spec", "passwd"))
            want = "symbolic link"
        elif name == "bad-unknown-key":
            args += ["--memroy", "1G"]
            want = "unrecognized option"
        elif name == "bad-ini-key":
            ini = os.path.join(t, "bad.ini")
            open(ini, "w").write("[node]\ntype = worker\ncolour = blue\n")
            args += [ini]
            want = "bad.ini:3: unknown key 'colour' in [node]"
        r = run(launcher, args)
        code = 2 if name == "bad-unknown-key" else 1
        if r.returncode != code:
            sys.exit(f"{name}: expected exit {code}, got {r.returncode}\n{r.stderr}")
        if want not in r.stderr:
            sys.exit(f"{name}: expected '{want}' in the error, got:\n{r.stderr}")
        for left in ("run", "persistent.img"):
            if os.path.exists(os.path.join(t, left)):
                sys.exit(f"{name}: '{left}' was made although the config was refused")
        print(r.stderr.strip())
    finally:
        shutil.rmtree(t, ignore_errors=True)


BAD = ["bad-missing-kernel", "bad-missing-cmdline", "bad-gpu-bdf", "bad-memory-gpu",
       "bad-port-clash", "bad-port-taken", "bad-spec-missing", "bad-spec-refused",
       "bad-unknown-key", "bad-ini-key"]
CASES = list(GOLDEN_CASES) + ["xml-validate-dev"] + BAD


def main():
    launcher, case = sys.argv[1], sys.argv[2]
    if case == "list":
        print("\n".join(CASES))
        return
    if case == "update":
        os.makedirs(GOLDEN, exist_ok=True)
        for name, (args, ini, out) in GOLDEN_CASES.items():
            if name not in CASES:
                continue
            r = run(launcher, args + [os.path.join(CONF, ini)])
            if r.returncode != 0:
                sys.exit(f"{name}: {r.stderr}")
            open(os.path.join(GOLDEN, out), "w").write(r.stdout)
        return
    if case in GOLDEN_CASES:
        golden(launcher, case)
    elif case.startswith("xml-validate"):
        xml_validate(launcher, case)
    elif case in BAD:
        bad_case(launcher, case)
    else:
        sys.exit(f"unknown case {case}")


if __name__ == "__main__":
    main()
