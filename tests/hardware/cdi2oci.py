#!/usr/bin/env python3
"""cdi2oci.py - applies a CDI spec's container edits (cocoon-gpu cdi) to a
minimal OCI runtime config.json, the way a CDI-aware engine (Podman, Docker
with features.cdi) does for `--device nvidia.com/gpu=NAME`: every device node
of the common edits and of the named device becomes a linux.devices entry
(type, major and minor from stat() of the host node, as the engines do) and a
device-cgroup allow rule; every mount is added as given. Used on the GPU
machine to start a container with crun (docs/hardware-runs.md).

usage: cdi2oci.py CDI.json DEVICE ROOTFS ARG... > config.json
"""
import json
import os
import stat
import sys


def main():
    cdi_path, device, rootfs, *args = sys.argv[1:]
    spec = json.load(open(cdi_path))
    assert spec["kind"] == "nvidia.com/gpu", spec["kind"]
    edits = [spec.get("containerEdits", {})]
    named = [d for d in spec["devices"] if d["name"] == device]
    if not named:
        sys.exit(f"cdi2oci: no device {device!r} in {cdi_path}")
    edits.append(named[0]["containerEdits"])

    devices, allow, mounts = [], [{"allow": False, "access": "rwm"}], [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]},
    ]
    for e in edits:
        for n in e.get("deviceNodes", []):
            st = os.stat(n["path"])
            assert stat.S_ISCHR(st.st_mode), n["path"]
            maj, mnr = os.major(st.st_rdev), os.minor(st.st_rdev)
            devices.append({"path": n["path"], "type": "c", "major": maj, "minor": mnr,
                            "fileMode": 0o666, "uid": 0, "gid": 0})
            allow.append({"allow": True, "type": "c", "major": maj, "minor": mnr,
                          "access": "rwm"})
        for m in e.get("mounts", []):
            mounts.append({"destination": m["containerPath"], "source": m["hostPath"],
                           "type": "bind", "options": m.get("options", ["ro", "bind"])})
    config = {
        "ociVersion": "1.0.2",
        "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": args,
                    "env": ["PATH=/usr/bin:/bin", "HOME=/"], "cwd": "/",
                    "noNewPrivileges": True},
        "root": {"path": rootfs, "readonly": False},
        "hostname": "gpu-container",
        "mounts": mounts,
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "mount", "ipc", "uts", "network")],
            "devices": devices,
            "resources": {"devices": allow},
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"],
        },
    }
    json.dump(config, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
