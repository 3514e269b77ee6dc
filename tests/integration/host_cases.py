#!/usr/bin/env python3
"""setup-gpu-vfio and cocoon-host-check on generated host trees, one case per run.

usage: host_cases.py SETUP_GPU_VFIO COCOON_HOST_CHECK CASE   (CASE 'list' prints the names)

Each case builds a fake / in a temporary directory (sysfs PCI devices with
the kernel's relative links, IOMMU groups, drivers, /dev, /etc/group, /proc),
runs the real program with --root on it and checks the output, the exit
status and the tree afterwards. Bind, unbind and drivers_probe are applied
by the programs' own kernel emulation (COCOON_SYSFS_EMULATE=1, only active
with --root). NVIDIA's gpu-admin-tools and nvidia-smi can't run here (no GPU,
and the real ones must never touch the shared GPU machine): the cases ship
fakes that keep the GPU's CC and PPCIe modes in a file inside the tree and
log every call outside it. The one case without --root (host_check_real)
checks cocoon-host-check against this machine's real state.
"""
import hashlib
import json
import os
import stat
import subprocess
import sys
import tempfile

SETUP = HOST_CHECK = None
CASES = {}
WORK = None  # the case's temporary directory


def case(fn):
    CASES[fn.__name__] = fn
    return fn


# ---- the fake tree --------------------------------------------------------

FAKE_TOOL = r'''#!/usr/bin/env python3
# Stands in for NVIDIA's nvidia_gpu_tools.py: the options and the phrases it
# prints are the real tool's; the GPU is a JSON file.
import json, os, sys
state_path = os.environ["FAKE_GPU_STATE"]
with open(os.environ["FAKE_GPU_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\n")
state = json.load(open(state_path))
opts = dict(a.split("=", 1) if "=" in a else (a, True) for a in sys.argv[1:])
bdf = opts.get("--gpu-bdf")
print("NVIDIA GPU Tools version fake")
if bdf not in state:
    print("ERROR Matching for %s found nothing" % bdf); sys.exit(1)
drv = os.path.join(os.environ["FAKE_ROOT"], "sys/bus/pci/devices", bdf, "driver")
if os.path.islink(drv) and os.path.basename(os.readlink(drv)) == "nvidia":
    print("ERROR The nvidia driver appears to be using GPU %s, aborting." % bdf); sys.exit(1)
gpu = state[bdf]
def save():
    tmp = state_path + ".tmp"
    json.dump(state, open(tmp, "w"), sort_keys=True)
    os.rename(tmp, state_path)
if "--set-ppcie-mode" in opts:
    if gpu["ppcie"] == "unsupported":
        print("ERROR Configuring PPCIe not supported on GPU %s" % bdf); sys.exit(1)
    gpu["ppcie"] = opts["--set-ppcie-mode"]; save()
    print("INFO GPU %s PPCIe mode set to %s." % (bdf, gpu["ppcie"]))
if "--set-cc-mode" in opts:
    gpu["cc"] = opts["--set-cc-mode"]; save()
    print("INFO GPU %s CC mode set to %s." % (bdf, gpu["cc"]))
if "--query-ppcie-mode" in opts:
    if gpu["ppcie"] == "unsupported":
        print("ERROR Querying PPCIe mode is not supported on GPU %s" % bdf); sys.exit(1)
    print("INFO GPU %s PPCIe mode is %s" % (bdf, gpu["ppcie"]))
if "--query-cc-mode" in opts:
    print("INFO GPU %s H100-PCIE 0x2331 BAR0 0xe0000000 CC mode is %s" % (bdf, gpu["cc"]))
'''


class Tree:
    def __init__(self, root):
        self.root = root
        for d in ("sys/bus/pci/devices", "sys/bus/pci/drivers", "sys/devices/pci0000:00",
                  "sys/kernel/iommu_groups", "dev", "etc", "var/lib", "proc"):
            os.makedirs(self.p(d), exist_ok=True)
        write(self.p("sys/bus/pci/drivers_probe"), "")
        write(self.p("etc/group"), "root:x:0:\nkvm:x:993:\nvideo:x:44:\n")
        self.tools = None

    def p(self, rel):
        return os.path.join(self.root, rel)

    def link(self, at, to):
        os.symlink(os.path.relpath(self.p(to), os.path.dirname(self.p(at))), self.p(at))

    def driver(self, name):
        d = f"sys/bus/pci/drivers/{name}"
        if not os.path.isdir(self.p(d)):
            os.makedirs(self.p(d))
            for f in ("bind", "unbind", "new_id", "remove_id"):
                write(self.p(f"{d}/{f}"), "")
        if name == "vfio-pci":
            os.makedirs(self.p("dev/vfio"), exist_ok=True)
            write(self.p("dev/vfio/vfio"), "")

    def device(self, bdf, vendor, device, cls, driver=None, group=None):
        dev = f"sys/devices/pci0000:00/{bdf}"
        os.makedirs(self.p(dev))
        write(self.p(f"{dev}/vendor"), f"0x{vendor:04x}\n")
        write(self.p(f"{dev}/device"), f"0x{device:04x}\n")
        write(self.p(f"{dev}/class"), f"0x{cls:06x}\n")
        write(self.p(f"{dev}/driver_override"), "(null)\n")
        self.link(f"sys/bus/pci/devices/{bdf}", dev)
        if group is not None:
            g = f"sys/kernel/iommu_groups/{group}"
            os.makedirs(self.p(f"{g}/devices"), exist_ok=True)
            self.link(f"{dev}/iommu_group", g)
            self.link(f"{g}/devices/{bdf}", dev)
        if driver:
            self.driver(driver)
            self.link(f"{dev}/driver", f"sys/bus/pci/drivers/{driver}")
            self.link(f"sys/bus/pci/drivers/{driver}/{bdf}", dev)

    def driver_of(self, bdf):
        l = self.p(f"sys/bus/pci/devices/{bdf}/driver")
        return os.path.basename(os.readlink(l)) if os.path.islink(l) else None

    def gpu_tools(self, modes):
        """Installs the fake gpu-admin-tools (outside the tree) with the GPU modes."""
        self.tools = os.path.join(WORK, "gpu-admin-tools")
        os.makedirs(self.tools, exist_ok=True)
        write(os.path.join(self.tools, "nvidia_gpu_tools.py"), FAKE_TOOL, 0o755)
        os.makedirs(self.p("fake-gpu"), exist_ok=True)
        write(self.p("fake-gpu/state.json"), json.dumps(modes, sort_keys=True))

    def modes(self):
        return json.load(open(self.p("fake-gpu/state.json")))

    def nvidia_smi(self, status):
        write(self.p("usr/bin/nvidia-smi"), f"#!/bin/sh\necho 'CC status: {status}'\n", 0o755)


def write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(data)
    os.chmod(path, mode)


def snapshot(d, skip=(), mtimes=True):
    """Names, types, modes, owners, sizes, contents and link targets of a tree."""
    out = []
    for root, dirs, files in os.walk(d):
        dirs.sort()
        for n in sorted(dirs + files):
            p = os.path.join(root, n)
            rel = os.path.relpath(p, d)
            if any(rel == s or rel.startswith(s + "/") for s in skip):
                continue
            st = os.lstat(p)
            h = ""
            if stat.S_ISLNK(st.st_mode):
                h = os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                h = hashlib.sha256(open(p, "rb").read()).hexdigest()
            out.append((rel, st.st_mode, st.st_uid, st.st_gid, st.st_size, h,
                        st.st_mtime_ns if mtimes and not stat.S_ISDIR(st.st_mode) else 0))
    return out


def log_lines():
    p = os.path.join(WORK, "tool.log")
    return open(p).read().splitlines() if os.path.exists(p) else []


def run_setup(t, *args, tools=True, emulate=True):
    env = dict(os.environ, FAKE_ROOT=t.root, FAKE_GPU_LOG=os.path.join(WORK, "tool.log"),
               FAKE_GPU_STATE=t.p("fake-gpu/state.json"))
    env.pop("GPU_ADMIN_TOOLS_DIR", None)
    if emulate:
        env["COCOON_SYSFS_EMULATE"] = "1"
    argv = [SETUP, "--root", t.root]
    if tools and t.tools:
        argv += ["--gpu-admin-tools", t.tools]
    return subprocess.run(argv + list(args), capture_output=True, text=True, env=env)


def expect(r, code, *needles, where="stderr"):
    text = getattr(r, where)
    assert r.returncode == code, f"exit {r.returncode}, want {code}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    for n in needles:
        assert n in text, f"{where} lacks {n!r}:\n{text}"


GPU, AUDIO, BRIDGE = "0000:3a:00.0", "0000:3a:00.1", "0000:39:00.0"


def h100_host(t, ppcie="off", cc="off"):
    """An H100 PCIe with its audio function in IOMMU group 12, behind a bridge
    in the same group, on nvidia / snd_hda_intel, vfio-pci loaded."""
    t.device(BRIDGE, 0x8086, 0x352a, 0x060400, "pcieport", 12)
    t.device(GPU, 0x10de, 0x2331, 0x030200, "nvidia", 12)
    t.device(AUDIO, 0x10de, 0x22e8, 0x040300, "snd_hda_intel", 12)
    t.device("0000:00:1f.6", 0x8086, 0x15b9, 0x020000, "e1000e", 3)
    t.driver("vfio-pci")
    t.gpu_tools({GPU: {"cc": cc, "ppcie": ppcie}})


# ---- setup-gpu-vfio: list and names ----------------------------------------

@case
def list_names(t):
    t.device("0000:18:00.0", 0x10de, 0x2330, 0x030200, "nvidia", 20)
    t.device("0000:2a:00.0", 0x10de, 0x2331, 0x030200, "vfio-pci", 21)
    t.device("0000:3a:00.0", 0x10de, 0x2335, 0x030200, None, 22)
    t.device("0000:4a:00.0", 0x10de, 0x22a3, 0x068000, "nvidia-nvswitch", 23)
    t.device("0000:5a:00.0", 0x10de, 0x1234, 0x030000, "nouveau", 24)
    t.device("0000:5a:00.1", 0x10de, 0x22e8, 0x040300, "snd_hda_intel", 24)
    t.device("0000:00:1f.6", 0x8086, 0x15b9, 0x020000, "e1000e", 3)
    t.nvidia_smi("OFF")
    r = run_setup(t, "--json", tools=False)
    expect(r, 0)
    devs = {d["bdf"]: d for d in json.loads(r.stdout)["devices"]}
    assert sorted(devs) == ["0000:18:00.0", "0000:2a:00.0", "0000:3a:00.0", "0000:4a:00.0",
                            "0000:5a:00.0"], devs.keys()
    assert devs["0000:18:00.0"]["product"] == "H100 SXM5 80GB"
    assert devs["0000:2a:00.0"]["product"] == "H100 PCIe"
    assert devs["0000:3a:00.0"]["product"] == "H200 SXM 141GB"
    assert devs["0000:4a:00.0"]["product"] == "H100 NVSwitch"
    assert devs["0000:4a:00.0"]["kind"] == "NVSwitch"
    assert devs["0000:5a:00.0"]["product"] is None and devs["0000:5a:00.0"]["kind"] == "GPU"
    assert devs["0000:18:00.0"]["driver"] == "nvidia" and devs["0000:3a:00.0"]["driver"] is None
    assert devs["0000:18:00.0"]["iommu_group"] == "20"
    assert devs["0000:18:00.0"]["cc_mode"] == "off", devs["0000:18:00.0"]
    assert "nvidia-smi" in devs["0000:18:00.0"]["cc_mode_source"]
    assert devs["0000:2a:00.0"]["cc_mode"] is None
    assert "gpu-admin-tools not found" in devs["0000:2a:00.0"]["cc_mode_source"]
    assert [m["bdf"] for m in devs["0000:5a:00.0"]["iommu_group_devices"]] == \
        ["0000:5a:00.0", "0000:5a:00.1"]
    r = run_setup(t, "--list", tools=False)
    expect(r, 0)
    for name in ("H100 SXM5 80GB", "H100 PCIe", "H200 SXM 141GB", "H100 NVSwitch", "unknown model"):
        assert name in r.stdout, (name, r.stdout)
    assert "e1000e" not in r.stdout


@case
def list_cc_through_tools(t):
    h100_host(t, cc="on")
    t.device("0000:4a:00.0", 0x10de, 0x2330, 0x030200, None, 30)
    t.gpu_tools({GPU: {"cc": "off", "ppcie": "off"}, "0000:4a:00.0": {"cc": "on", "ppcie": "off"}})
    r = run_setup(t, "--json")
    expect(r, 0)
    devs = {d["bdf"]: d for d in json.loads(r.stdout)["devices"]}
    # held by nvidia: the tools refuse, and there is no nvidia-smi in this tree
    assert devs[GPU]["cc_mode"] is None and "nvidia-smi not found" in devs[GPU]["cc_mode_source"]
    assert devs["0000:4a:00.0"]["cc_mode"] == "on"
    assert devs["0000:4a:00.0"]["cc_mode_source"] == "gpu-admin-tools"


@case
def bdf_forms(t):
    h100_host(t)
    for form in ("3a:00.0", "0000:3a:00.0", "3a:00.00", "0000:3a:00.00", "0000:3A:00.0"):
        r = run_setup(t, form, "--json")
        expect(r, 1)  # not ready (on nvidia), but found under its kernel name
        assert json.loads(r.stdout)["bdf"] == GPU, (form, r.stdout)
    for bad in ("3a:00", "3a:00.8", "3a:00.000", "0000:3a:00.0 ", "3a-00.0", "x:3a:00.0", ""):
        r = run_setup(t, bad)
        expect(r, 2, "is not a PCI address")


# ---- setup-gpu-vfio: verify -------------------------------------------------

@case
def gpu_machine_like(t):
    """The GPU test machine: an H200 on nvidia, no IOMMU group, CC off."""
    t.device("0000:00:06.0", 0x10de, 0x2335, 0x030200, "nvidia", None)
    t.nvidia_smi("OFF")
    r = run_setup(t, "--json", tools=False)
    expect(r, 0)
    d = json.loads(r.stdout)["devices"][0]
    assert d["product"] == "H200 SXM 141GB" and d["driver"] == "nvidia", d
    assert d["iommu_group"] is None and d["cc_mode"] == "off", d
    r = run_setup(t, "00:06.0", tools=False)
    expect(r, 1, "no IOMMU group", "bound to nvidia", "CC mode is off", where="stdout")
    assert "not ready for passthrough" in r.stdout
    before = snapshot(t.root)
    r = run_setup(t, "--setup", "00:06.0", "--dry-run", tools=False)
    expect(r, 1, "has no IOMMU group", "intel_iommu=on")
    assert "would " not in r.stdout
    assert snapshot(t.root) == before


@case
def verify_after_setup(t):
    h100_host(t)
    r = run_setup(t, GPU)
    expect(r, 1, "bound to nvidia", "bound to snd_hda_intel", where="stdout")
    expect(run_setup(t, "--setup", GPU), 0)
    r = run_setup(t, GPU, "--json")
    expect(r, 0)
    o = json.loads(r.stdout)
    assert o["ready"] is True and o["reasons"] == [] and o["cc_mode"] == "on", o
    r = run_setup(t, "3a:00.0")
    expect(r, 0, "ready for passthrough", where="stdout")


# ---- setup-gpu-vfio: set-up and restore --------------------------------------

@case
def setup_group(t):
    h100_host(t)
    r = run_setup(t, "--setup", "3a:00.0")
    expect(r, 0, "ready for passthrough", where="stdout")
    assert t.driver_of(GPU) == "vfio-pci" and t.driver_of(AUDIO) == "vfio-pci"
    assert t.driver_of(BRIDGE) == "pcieport", "the bridge must stay with its driver"
    assert t.driver_of("0000:00:1f.6") == "e1000e"
    for b in (GPU, AUDIO):
        assert open(t.p(f"sys/bus/pci/devices/{b}/driver_override")).read() == "vfio-pci\n"
        assert os.path.islink(t.p(f"sys/bus/pci/drivers/vfio-pci/{b}"))
        assert not os.path.exists(t.p(f"sys/bus/pci/drivers/nvidia/{b}"))
    st = os.stat(t.p("dev/vfio/12"))
    assert st.st_gid == 993 and stat.S_IMODE(st.st_mode) == 0o660, st
    rule = open(t.p("etc/udev/rules.d/70-cocoon-vfio-12.rules")).read()
    assert 'SUBSYSTEM=="vfio", KERNEL=="12", GROUP="kvm", MODE="0660"' in rule, rule
    assert f'KERNELS=="{AUDIO}"' in rule
    state = json.load(open(t.p(f"var/lib/cocoon/gpu-vfio/{GPU}.json")))
    assert state["devices"] == [
        {"bdf": GPU, "driver": "nvidia", "driver_override": None},
        {"bdf": AUDIO, "driver": "snd_hda_intel", "driver_override": None}], state
    assert state["cc_mode"] == "off" and state["ppcie_mode"] == "off", state
    assert state["iommu_group"] == "12" and state["product"] == "H100 PCIe"
    assert t.modes()[GPU]["cc"] == "on"
    calls = log_lines()
    assert f"--gpu-bdf={GPU} --set-cc-mode=on --reset-after-cc-mode-switch" in calls, calls
    assert not any("--set-ppcie-mode" in c for c in calls), "PPCIe was already off"


@case
def setup_ppcie_on(t):
    h100_host(t, ppcie="on")
    expect(run_setup(t, "--setup", GPU), 0)
    calls = log_lines()
    i = calls.index(f"--gpu-bdf={GPU} --set-ppcie-mode=off --reset-after-ppcie-mode-switch")
    j = calls.index(f"--gpu-bdf={GPU} --set-cc-mode=on --reset-after-cc-mode-switch")
    assert i < j, calls
    assert t.modes()[GPU] == {"cc": "on", "ppcie": "off"}
    assert json.load(open(t.p(f"var/lib/cocoon/gpu-vfio/{GPU}.json")))["ppcie_mode"] == "on"
    expect(run_setup(t, "--restore", GPU), 0)
    assert t.modes()[GPU] == {"cc": "off", "ppcie": "on"}


@case
def setup_ppcie_unsupported(t):
    h100_host(t, ppcie="unsupported")
    expect(run_setup(t, "--setup", GPU), 0)
    assert t.modes()[GPU]["cc"] == "on"
    assert json.load(open(t.p(f"var/lib/cocoon/gpu-vfio/{GPU}.json")))["ppcie_mode"] == "unsupported"


@case
def setup_twice_changes_nothing(t):
    h100_host(t)
    expect(run_setup(t, "--setup", GPU), 0)
    before, calls = snapshot(t.root), len(log_lines())
    r = run_setup(t, "--setup", GPU)
    expect(r, 0)
    assert snapshot(t.root) == before, "the second --setup changed the tree"
    second = log_lines()[calls:]
    assert second and all("--query-" in c for c in second), second
    assert "write" not in r.stderr and "chgrp" not in r.stderr, r.stderr


@case
def restore_group(t):
    h100_host(t)
    original = snapshot(t.root, mtimes=False)
    expect(run_setup(t, "--setup", GPU), 0)
    r = run_setup(t, "--restore", "3a:00.0")
    expect(r, 0, "restored: driver nvidia", where="stdout")
    assert t.driver_of(GPU) == "nvidia" and t.driver_of(AUDIO) == "snd_hda_intel"
    assert t.modes()[GPU]["cc"] == "off"
    assert f"--gpu-bdf={GPU} --set-cc-mode=off --reset-after-cc-mode-switch" in log_lines()
    assert not os.path.exists(t.p("etc/udev/rules.d/70-cocoon-vfio-12.rules"))
    assert not os.path.exists(t.p(f"var/lib/cocoon/gpu-vfio/{GPU}.json"))
    assert not os.path.exists(t.p("dev/vfio/12"))
    # the tree is as it was, links, attribute contents and the GPU's modes
    # included; set-up's directories for its state and rules stay, empty
    after = snapshot(t.root, skip=("var/lib/cocoon", "etc/udev"), mtimes=False)
    assert after == original, [x for x in after if x not in original] + \
        [x for x in original if x not in after]


@case
def restore_twice_changes_nothing(t):
    h100_host(t)
    expect(run_setup(t, "--setup", GPU), 0)
    expect(run_setup(t, "--restore", GPU), 0)
    before = snapshot(t.root)
    r = run_setup(t, "--restore", GPU)
    expect(r, 0, "nothing to restore")
    assert snapshot(t.root) == before


@case
def restore_after_reboot(t):
    """The host rebooted: the GPU is back on nvidia, its CC mode (kept by the
    GPU) still on; restore must take it from nvidia to switch CC off."""
    h100_host(t)
    expect(run_setup(t, "--setup", GPU), 0)
    for b, drv in ((GPU, "nvidia"), (AUDIO, "snd_hda_intel")):
        os.unlink(t.p(f"sys/bus/pci/devices/{b}/driver"))
        os.unlink(t.p(f"sys/bus/pci/drivers/vfio-pci/{b}"))
        write(t.p(f"sys/bus/pci/devices/{b}/driver_override"), "(null)\n")
        t.link(f"sys/devices/pci0000:00/{b}/driver", f"sys/bus/pci/drivers/{drv}")
        t.link(f"sys/bus/pci/drivers/{drv}/{b}", f"sys/devices/pci0000:00/{b}")
    os.unlink(t.p("dev/vfio/12"))
    r = run_setup(t, "--restore", GPU)
    expect(r, 0)
    assert t.modes()[GPU]["cc"] == "off" and t.driver_of(GPU) == "nvidia"


@case
def restore_without_state(t):
    h100_host(t)
    before = snapshot(t.root)
    expect(run_setup(t, "--restore", GPU), 0, "nothing to restore")
    # bound to vfio-pci by someone else: no record of the original driver
    os.unlink(t.p(f"sys/bus/pci/devices/{GPU}/driver"))
    os.unlink(t.p(f"sys/bus/pci/drivers/nvidia/{GPU}"))
    t.link(f"sys/devices/pci0000:00/{GPU}/driver", "sys/bus/pci/drivers/vfio-pci")
    before = snapshot(t.root)
    expect(run_setup(t, "--restore", GPU), 1, "no state file", "drivers/nvidia/bind")
    assert snapshot(t.root) == before


@case
def restore_driver_not_loaded(t):
    h100_host(t)
    expect(run_setup(t, "--setup", GPU), 0)
    os.rename(t.p("sys/bus/pci/drivers/snd_hda_intel"), os.path.join(WORK, "snd_hda_intel"))
    before = snapshot(t.root)
    expect(run_setup(t, "--restore", GPU), 1, "modprobe snd_hda_intel")
    assert snapshot(t.root) == before


@case
def damaged_state_file(t):
    h100_host(t)
    expect(run_setup(t, "--setup", GPU), 0)
    write(t.p(f"var/lib/cocoon/gpu-vfio/{GPU}.json"), '{"version": 1, "bdf": "../../etc"}')
    before = snapshot(t.root)
    expect(run_setup(t, "--restore", GPU), 3, "damaged")
    assert snapshot(t.root) == before


@case
def dry_run_setup(t):
    h100_host(t)
    before = snapshot(t.root)
    r = run_setup(t, "--setup", GPU, "--dry-run")
    expect(r, 0, "nothing was changed", where="stdout")
    assert snapshot(t.root) == before, "--dry-run changed the tree"
    assert log_lines() == [], "--dry-run ran a tool"
    out = r.stdout
    for b, drv in ((GPU, "nvidia"), (AUDIO, "snd_hda_intel")):
        assert f"would write 'vfio-pci' to {t.root}/sys/bus/pci/devices/{b}/driver_override" in out
        assert f"would write '{b}' to {t.root}/sys/bus/pci/drivers/{drv}/unbind" in out
        assert f"would write '{b}' to {t.root}/sys/bus/pci/drivers_probe" in out
    assert BRIDGE not in out
    assert f"would write {t.root}/var/lib/cocoon/gpu-vfio/{GPU}.json" in out
    assert f"would write {t.root}/etc/udev/rules.d/70-cocoon-vfio-12.rules" in out
    assert "--set-cc-mode=on --reset-after-cc-mode-switch" in out
    assert "--query-cc-mode" in out and "--query-ppcie-mode" in out
    # the writes come in the kernel's order: override, unbind, probe
    i = out.index(f"devices/{GPU}/driver_override")
    j = out.index(f"drivers/nvidia/unbind")
    assert i < j < out.index("drivers_probe"), out
    r = run_setup(t, "--setup", GPU, "--dry-run", "--json")
    expect(r, 0)
    o = json.loads(r.stdout)
    assert o["ok"] and o["dry_run"] and len(o["actions"]) >= 8, o
    assert snapshot(t.root) == before


@case
def dry_run_restore(t):
    h100_host(t)
    expect(run_setup(t, "--setup", GPU), 0)
    before, calls = snapshot(t.root), log_lines()
    r = run_setup(t, "--restore", GPU, "--dry-run")
    expect(r, 0, "nothing was changed", where="stdout")
    assert snapshot(t.root) == before, "--dry-run changed the tree"
    assert log_lines() == calls, "--dry-run ran a tool"
    assert f"would write '{GPU}' to {t.root}/sys/bus/pci/drivers/vfio-pci/unbind" in r.stdout
    assert f"would write '\\n' to {t.root}/sys/bus/pci/devices/{GPU}/driver_override" in r.stdout
    assert f"would write '{GPU}' to {t.root}/sys/bus/pci/drivers/nvidia/bind" in r.stdout
    assert f"would write '{AUDIO}' to {t.root}/sys/bus/pci/drivers/snd_hda_intel/bind" in r.stdout
    assert "--set-cc-mode=off" in r.stdout
    assert f"would remove {t.root}/var/lib/cocoon/gpu-vfio/{GPU}.json" in r.stdout


@case
def json_setup_and_restore(t):
    h100_host(t)
    r = run_setup(t, "--setup", GPU, "--json")
    expect(r, 0)
    o = json.loads(r.stdout)
    assert o["ok"] and not o["dry_run"] and o["command"] == "setup", o
    assert any("drivers_probe" in a for a in o["actions"]), o["actions"]
    r = run_setup(t, "--restore", GPU, "--json")
    expect(r, 0)
    assert json.loads(r.stdout)["ok"]


# ---- setup-gpu-vfio: refusals write nothing ---------------------------------

def expect_refusal(t, args, *needles, code=1, **kw):
    before = snapshot(t.root)
    r = run_setup(t, *args, **kw)
    expect(r, code, *needles)
    assert snapshot(t.root) == before, "a refusal changed the tree"
    assert log_lines() == [], "a refusal ran a tool"
    return r


@case
def refuse_no_iommu_group(t):
    t.device(GPU, 0x10de, 0x2331, 0x030200, "nvidia", None)
    t.driver("vfio-pci")
    t.gpu_tools({GPU: {"cc": "off", "ppcie": "off"}})
    expect_refusal(t, ["--setup", GPU], "has no IOMMU group", "intel_iommu=on")


@case
def refuse_non_nvidia(t):
    h100_host(t)
    expect_refusal(t, ["--setup", "00:1f.6"], "not an NVIDIA device", "8086")
    expect_refusal(t, ["00:1f.6"], "not an NVIDIA device")


@case
def refuse_missing_device(t):
    h100_host(t)
    expect_refusal(t, ["--setup", "3b:00.0"], "no PCI device 0000:3b:00.0", "--list")
    expect_refusal(t, ["--restore", "3b:00.0"], "no PCI device 0000:3b:00.0")


@case
def refuse_without_tools(t):
    h100_host(t)
    r = expect_refusal(t, ["--setup", GPU], "github.com/NVIDIA/gpu-admin-tools",
                       "--gpu-admin-tools DIR", tools=False)
    assert "never downloads" in r.stderr
    empty = os.path.join(WORK, "empty")
    os.makedirs(empty)
    expect_refusal(t, ["--setup", GPU, "--gpu-admin-tools", empty], empty, tools=False)


@case
def refuse_foreign_device_in_group(t):
    h100_host(t)
    t.device("0000:3a:00.2", 0x8086, 0x1572, 0x020000, "i40e", 12)
    expect_refusal(t, ["--setup", GPU], "0000:3a:00.2", "not NVIDIA's", "i40e")


@case
def refuse_nvswitch_and_audio(t):
    h100_host(t)
    t.device("0000:4a:00.0", 0x10de, 0x22a3, 0x068000, "nvidia-nvswitch", 40)
    expect_refusal(t, ["--setup", "4a:00.0"], "is an NVSwitch")
    expect_refusal(t, ["--setup", AUDIO], "audio function", "not a GPU")


@case
def refuse_gpu_in_use(t):
    h100_host(t)
    write(t.p(f"proc/driver/nvidia/gpus/{GPU}/information"), "Model: H100\nDevice Minor: 1\n")
    os.makedirs(t.p("proc/4242/fd"))
    write(t.p("proc/4242/comm"), "nvidia-persist\n")
    os.symlink("/dev/nvidiactl", t.p("proc/4242/fd/3"))
    os.symlink("/dev/nvidia0", t.p("proc/4242/fd/4"))  # another GPU: no matter
    expect(run_setup(t, "--setup", GPU, "--dry-run"), 0)
    os.symlink("/dev/nvidia1", t.p("proc/4242/fd/5"))
    expect_refusal(t, ["--setup", GPU], "process 4242 (nvidia-persist) has /dev/nvidia1 open",
                   "nvidia-persistenced")


@case
def refuse_vfio_not_loaded(t):
    h100_host(t)
    os.rename(t.p("sys/bus/pci/drivers/vfio-pci"), os.path.join(WORK, "vfio-pci"))
    expect_refusal(t, ["--setup", GPU], "modprobe vfio-pci")


@case
def refuse_unknown_unix_group(t):
    h100_host(t)
    expect_refusal(t, ["--setup", GPU, "--group", "qemu"], "unix group 'qemu'")


@case
def usage_errors(t):
    h100_host(t)
    expect(run_setup(t, "--setup"), 2)
    expect(run_setup(t, "--dry-run"), 2, "--dry-run goes with")
    expect(run_setup(t, "--setup", GPU, "--restore", GPU), 2)
    expect(run_setup(t, GPU, AUDIO), 2)
    r = run_setup(t, "--help")
    expect(r, 0, "--restore BDF", "Exit status", where="stdout")
    expect(run_setup(t, "--version"), 0, "setup-gpu-vfio ", where="stdout")
    r = subprocess.run([SETUP, "--root", os.path.join(WORK, "nope")], capture_output=True, text=True)
    expect(r, 3, "--root")


@case
def emulation_needs_root(t):
    """Without COCOON_SYSFS_EMULATE the writes land as plain file writes and
    nothing binds: set-up notices and stops with an error."""
    h100_host(t)
    r = run_setup(t, "--setup", GPU, emulate=False)
    expect(r, 3, "not bound to vfio-pci", "--restore")


# ---- cocoon-host-check -------------------------------------------------------

def run_check(t, *args):
    argv = [HOST_CHECK] + (["--root", t.root] if t else []) + list(args)
    return subprocess.run(argv, capture_output=True, text=True)


def checks_of(r):
    return {c["id"]: c for c in json.loads(r.stdout)["checks"]}


QEMU_TDX = """#!/bin/sh
case "$1" in
--version) echo "QEMU emulator version 10.1.2"; echo "Copyright (c) 2003-2025";;
-object) printf 'List of user creatable objects:\\n  authz-list\\n  iommufd\\n  memory-backend-memfd\\n  tdx-guest\\n  thread-context\\n';;
esac
"""


def tdx_host(t, qemu=QEMU_TDX):
    write(t.p("proc/cmdline"), "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro intel_iommu=on iommu=pt quiet\n")
    write(t.p("proc/cpuinfo"), "processor\t: 0\nflags\t\t: fpu vme sse2 vmx tme tdx_host_platform sgx\n\n"
          "processor\t: 1\nflags\t\t: fpu vme sse2 vmx tme tdx_host_platform sgx\n")
    write(t.p("sys/module/kvm_intel/parameters/tdx"), "Y\n")
    for g in range(4):
        os.makedirs(t.p(f"sys/kernel/iommu_groups/{g}/devices"), exist_ok=True)
    write(t.p("dev/kvm"), "")
    write(t.p("dev/vhost-vsock"), "")
    write(t.p("usr/libexec/virtiofsd"), "#!/bin/sh\n", 0o755)
    write(t.p("usr/bin/qemu-system-x86_64"), qemu, 0o755)
    write(t.p("usr/share/ovmf/OVMF.fd"), "firmware")
    write(t.p("sys/module/vfio_iommu_type1/parameters/dma_entry_limit"), "1048576\n")


@case
def host_check_ready(t):
    tdx_host(t)
    r = run_check(t, "--json")
    expect(r, 0)
    c = checks_of(r)
    assert all(v["status"] == "PASS" for v in c.values()), c
    assert "QEMU 10.1.2" in c["qemu.tdx"]["detail"]
    assert json.loads(r.stdout)["ok"] is True
    r = run_check(t)
    expect(r, 0, "ready")
    assert r.stdout.count("\n") == 12 and r.stdout.count("PASS ") == 12, r.stdout


@case
def host_check_empty_tree(t):
    r = run_check(t, "--json")
    expect(r, 1)
    c = checks_of(r)
    required = [k for k, v in c.items() if v["required"]]
    assert len(required) == 10, required
    for k in required:
        assert c[k]["status"] == "FAIL" and c[k]["fix"], (k, c[k])
    for k in ("kernel.iommu_pt", "vfio.dma_entry_limit"):
        assert c[k]["status"] == "WARN" and not c[k]["required"], c[k]
    r = run_check(t)
    expect(r, 1)
    for line in r.stdout.splitlines():
        assert line.split()[0] in ("FAIL", "WARN") and "; fix: " in line, line


@case
def host_check_tdx_off(t):
    tdx_host(t)
    write(t.p("sys/module/kvm_intel/parameters/tdx"), "N\n")
    write(t.p("proc/cpuinfo"), "processor\t: 0\nflags\t\t: fpu vme sse2 vmx\n")
    r = run_check(t, "--json")
    expect(r, 1)
    c = checks_of(r)
    assert c["kvm_intel.tdx"]["status"] == "FAIL" and "tdx=1" in c["kvm_intel.tdx"]["fix"]
    assert c["tdx.cpu"]["status"] == "FAIL" and "firmware" in c["tdx.cpu"]["fix"]
    assert c["tdx.module"]["status"] == "FAIL"
    os.unlink(t.p("sys/module/kvm_intel/parameters/tdx"))
    c = checks_of(run_check(t, "--json"))
    assert "no tdx parameter" in c["kvm_intel.tdx"]["detail"], c["kvm_intel.tdx"]


@case
def host_check_tdx_module_status(t):
    tdx_host(t)
    write(t.p("sys/firmware/tdx/tdx_module/status"), "initialized\n")
    c = checks_of(run_check(t, "--json"))
    assert c["tdx.module"]["status"] == "PASS" and "status: initialized" in c["tdx.module"]["detail"]
    write(t.p("sys/firmware/tdx/tdx_module/status"), "shutdown\n")
    r = run_check(t, "--json")
    expect(r, 1)
    assert checks_of(r)["tdx.module"]["status"] == "FAIL"


@case
def host_check_cmdline(t):
    tdx_host(t)
    write(t.p("proc/cmdline"), "root=/dev/sda1 intel_iommu=off iommu=pt -- intel_iommu=on\n")
    c = checks_of(run_check(t, "--json"))
    assert c["kernel.intel_iommu"]["status"] == "FAIL", c["kernel.intel_iommu"]
    # not on the command line, but on by the kernel's default (groups exist)
    write(t.p("proc/cmdline"), "root=/dev/sda1 quiet\n")
    r = run_check(t, "--json")
    expect(r, 0)
    c = checks_of(r)
    assert c["kernel.intel_iommu"]["status"] == "WARN" and c["kernel.iommu_pt"]["status"] == "WARN"
    write(t.p("proc/cmdline"), "intel_iommu=on,sm_on iommu.passthrough=1\n")
    c = checks_of(run_check(t, "--json"))
    assert c["kernel.intel_iommu"]["status"] == "PASS" and c["kernel.iommu_pt"]["status"] == "PASS"


@case
def host_check_qemu(t):
    tdx_host(t, qemu=QEMU_TDX.replace("\\n  tdx-guest", "").replace("10.1.2", "9.2.0"))
    r = run_check(t, "--json")
    expect(r, 1)
    q = checks_of(r)["qemu.tdx"]
    assert q["status"] == "FAIL" and "QEMU 9.2.0" in q["detail"] and "lacks" in q["detail"], q
    os.chmod(t.p("usr/bin/qemu-system-x86_64"), 0o644)
    r = run_check(t, "--json")
    expect(r, 0)
    q = checks_of(r)["qemu.tdx"]
    assert q["status"] == "WARN" and "not executable" in q["detail"], q
    os.unlink(t.p("usr/bin/qemu-system-x86_64"))
    write(os.path.join(t.root, "opt/q/qemu-kvm"), QEMU_TDX, 0o755)
    r = run_check(t, "--json", "--qemu", "/opt/q/qemu-kvm")
    expect(r, 0)


@case
def host_check_ovmf_and_dma_limit(t):
    tdx_host(t)
    os.unlink(t.p("usr/share/ovmf/OVMF.fd"))
    write(t.p("usr/share/OVMF/OVMF_CODE_4M.fd"), "code")
    write(t.p("sys/module/vfio_iommu_type1/parameters/dma_entry_limit"), "65535\n")
    r = run_check(t, "--json")
    expect(r, 0)
    c = checks_of(r)
    assert c["ovmf"]["status"] == "WARN" and "--ovmf" in c["ovmf"]["fix"], c["ovmf"]
    assert c["vfio.dma_entry_limit"]["status"] == "WARN" and "65535" in c["vfio.dma_entry_limit"]["detail"]
    write(t.p("srv/tdvf.fd"), "fw")
    c = checks_of(run_check(t, "--json", "--ovmf", "/srv/tdvf.fd"))
    assert c["ovmf"]["status"] == "PASS"
    r = run_check(t, "--json", "--ovmf", "/srv/none.fd")
    expect(r, 1)
    r = run_check(t, "-q")
    assert "PASS" not in r.stdout and "WARN ovmf" in r.stdout, r.stdout


@case
def host_check_real(t):
    """No --root: this machine's real state, whatever it is."""
    r = run_check(None, "--json")
    c = checks_of(r)
    kvm = os.path.exists("/dev/kvm") and stat.S_ISCHR(os.stat("/dev/kvm").st_mode)
    assert (c["dev.kvm"]["status"] == "PASS") == kvm, (kvm, c["dev.kvm"])
    if not kvm:
        assert c["dev.kvm"]["status"] == "FAIL"
    vsock = os.path.exists("/dev/vhost-vsock")
    assert (c["dev.vhost_vsock"]["status"] == "PASS") == vsock, c["dev.vhost_vsock"]
    groups = os.path.isdir("/sys/kernel/iommu_groups") and bool(os.listdir("/sys/kernel/iommu_groups"))
    assert (c["iommu.groups"]["status"] == "PASS") == groups, c["iommu.groups"]
    tdx = "/sys/module/kvm_intel/parameters/tdx"
    tdx_on = os.path.exists(tdx) and open(tdx).read().strip() in ("Y", "1")
    assert (c["kvm_intel.tdx"]["status"] == "PASS") == tdx_on, c["kvm_intel.tdx"]
    cmdline = open("/proc/cmdline").read().split(" -- ")[0].split()
    iommu_on = any(a.startswith("intel_iommu=") and "on" in a[12:].split(",") for a in cmdline)
    if iommu_on:
        assert c["kernel.intel_iommu"]["status"] == "PASS"
    elif not groups:
        assert c["kernel.intel_iommu"]["status"] == "FAIL"
    failed = any(v["status"] == "FAIL" for v in c.values())
    assert r.returncode == (1 if failed else 0), (r.returncode, r.stderr)
    print(run_check(None).stdout)


def main():
    global SETUP, HOST_CHECK, WORK
    SETUP, HOST_CHECK, name = sys.argv[1], sys.argv[2], sys.argv[3]
    if name == "list":
        print("\n".join(CASES))
        return 0
    with tempfile.TemporaryDirectory(prefix="host-case-") as d:
        WORK = d
        root = os.path.join(d, "root")
        os.makedirs(root)
        CASES[name](Tree(root))
    print(f"{name}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
