#!/usr/bin/env python3
"""cocoon-launch --libvirt-xml against a libvirt schema that knows TDX.

Usage: libvirt_tdx.py BUILD_DIR COCOON_LAUNCH CASE     run one case
       libvirt_tdx.py none none list                   the case names (for meson)

virt-xml-validate of trixie-backports' libvirt-clients (12.9: <launchSecurity
type='tdx'>), in the trixie root of tests/integration/qemu_tdx.py (the same pin
file, the same cache), validates the production domain (prod-2gpu.ini) whole,
<launchSecurity> included, and the development one (dev.ini). The negative cases
change one name in a copy of the production domain, inside <launchSecurity>, and
the schema must refuse it: so the TDX part is judged, not skipped. Exit 77
(skip) without root or mmdebstrap.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu_tdx  # noqa: E402  (trixie_root, CONF)

CASES = {
    "prod": ("prod-2gpu.ini", None),
    "dev": ("dev.ini", None),
    "misspelt-tdx-element": ("prod-2gpu.ini", ("<quoteGenerationService/>",
                                               "<quoteGenerationServce/>")),
    "unknown-launch-security": ("prod-2gpu.ini", ("<launchSecurity type='tdx'>",
                                                  "<launchSecurity type='tdz'>")),
}


def main():
    build, launcher, case = qemu_tdx.case_args("libvirt_tdx", CASES)
    ini, change = CASES[case]
    root = qemu_tdx.trixie_root(os.path.abspath(build))
    r = subprocess.run([launcher, "--libvirt-xml", os.path.join(qemu_tdx.CONF, ini)],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, COCOON_LOG_LEVEL="warn"))
    if r.returncode != 0:
        sys.exit(f"libvirt_tdx: --libvirt-xml {ini}: exit {r.returncode}\n{r.stderr}")
    xml = r.stdout
    if ini.startswith("prod") and "<launchSecurity type='tdx'>" not in xml:
        sys.exit("libvirt_tdx: the production domain has no <launchSecurity type='tdx'>")
    if change:
        if change[0] not in xml:
            sys.exit(f"libvirt_tdx: {case}: the domain has no {change[0]}")
        xml = xml.replace(change[0], change[1])
    with tempfile.NamedTemporaryFile("w", suffix=".xml", dir=os.path.join(root, "tmp")) as f:
        f.write(xml)
        f.flush()
        v = subprocess.run(["chroot", root, "virt-xml-validate",
                            "/tmp/" + os.path.basename(f.name), "domain"],
                           capture_output=True, text=True, timeout=60)
    ver = subprocess.run(["chroot", root, "dpkg-query", "-W", "libvirt-clients"],
                         capture_output=True, text=True).stdout.strip()
    out = (v.stdout + v.stderr).strip()
    print(f"libvirt_tdx: virt-xml-validate ({ver}): exit {v.returncode}\n{out}")
    if change is None and v.returncode != 0:
        sys.exit(f"libvirt_tdx: {case}: the schema refused the domain of {ini}")
    if change is not None and v.returncode == 0:
        sys.exit(f"libvirt_tdx: {case}: the schema took {change[1]}: it does not judge "
                 "launchSecurity")


if __name__ == "__main__":
    main()
