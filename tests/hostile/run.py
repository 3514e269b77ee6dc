#!/usr/bin/env python3
"""make hostile: every attack the project defends against, one table.

usage: run.py BUILD_DIR [--meson] [--only WORD] [--json FILE]

Each attack is a case of an existing test script (the real component is the
oracle there: a real dockerd, nft, libcryptsetup on a loop device, the real
seal-server, QEMU). Run with `--hostile-rows FILE` (tests/hostile/
hostilerows.py), a case appends a row when it stopped the attack AND checked
that the target was left untouched:

  {"attack": ..., "stopped_by": ..., "untouched": ..., "ok": true}

This script runs them and prints one table: attack | stopped by | left
untouched | result, then `hostile: N attacks, N stopped, N got through`.
Exit 1 when anything got through: a row with ok false, a case that failed
(exit other than 0 or 77), or a case that passed without its row.

Where the rows come from:
- SOURCES below: script, the programs it takes (paths in BUILD_DIR), the
  cases that are attacks. A case the script does not list (yet) is left out
  and named under "not run".
- Discovered: tests/hostile/*_rows.py, tests/hostile/parsers_*.py and
  tests/integration/authz_diff*.py, each run as `SCRIPT BUILD_DIR
  --hostile-rows FILE` (exit 0 every attack stopped, 77 skipped, 2 a usage
  error: named under "not run", it needs an entry in SOURCES; else failed);
  a script that is not there yet is simply not run.
- Reuse: the meson tests of these scripts are given `--hostile-rows
  BUILD_DIR/hostile-rows/<script>.<case>.jsonl`. A rows file newer than the
  script, tests/hostile/hostilerows.py and every program the case runs holds
  what this exact code did; it is read instead of running the case again. So
  in `make test` (meson test hostile/table runs last) the table costs seconds,
  and the TCG boots of e2e.py and launch_boot.py are never made twice. With
  --meson the boot cases are only ever reused (not run: "not run" when e2e did
  not run); without it (`make hostile`) whatever is not fresh is run here.
"""
import glob
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
INTEG = os.path.join(ROOT, "tests", "integration")
SKIP = 77

# (group, script, programs (under BUILD_DIR; "@" is BUILD_DIR/tests/integration),
#  cases, boots?) -- argv: SCRIPT PROGRAMS... CASE --hostile-rows FILE
SOURCES = [
    ("disk", "disk_cases.py", ["guest/cocoon-disk/cocoon-disk"],
     ["wrong_key_refused", "luks2_other_key_refused", "luks1_other_key_refused",
      "luks1_same_key_refused", "luks2_header_edit_refused", "ext4_refused",
      "random_first_mib_refused", "one_byte_refused", "byte_in_last_mib_refused"], False),
    ("init", "init_cases.py",
     ["guest/cocoon-init/cocoon-init", "host/seal-server/seal-server", "host/cocoon-spec/cocoon-spec"],
     ["spec_symlink_refused", "spec_fifo_refused", "disk_other_key_untouched", "disk_key_wiped"],
     False),
    ("seal", "seal_cases.py", ["host/seal-server/seal-server", "guest/seal-client/seal-client"],
     ["wrong_platform_key_refused", "bad_mac", "not_a_curve_point", "report_data_mismatch",
      "wrong_report_type", "oversized_length", "truncated_tl", "trailing_bytes"], False),
    ("workload", "workload_cases.py",
     ["guest/cocoon-workload/cocoon-workload", "guest/cocoon-authz/cocoon-authz",
      "guest/health-monitor/health-monitor", "tests/integration/engineconf-dump"],
     ["planted_in_data", "tampered_archive", "unlisted_registry"], False),
    ("egress", "egress_cases.py", ["guest/cocoon-egress/cocoon-egress"],
     ["allowed_and_refused", "icmpv6_only_link_local_nd"], False),
    ("authz", "authz_cases.py", ["guest/cocoon-authz/cocoon-authz"],
     ["pull_by_tag", "pull_unlisted_digest", "build", "import_tar", "privileged",
      "host_network", "host_pid", "root_bind", "root_mount", "docker_sock_mount",
      "cap_sys_admin", "seccomp_unconfined", "exec_denied"], False),
    ("launch", "launch_boot.py",
     ["host/cocoon-launch/cocoon-launch", "host/cocoon-spec/cocoon-spec",
      "tests/integration/testinit"], ["hostile-health-answer"], True),
    ("e2e", "e2e.py",
     ["@", "host/cocoon-launch/cocoon-launch", "host/cocoon-spec/cocoon-spec",
      "host/seal-server/seal-server", "host/health-client/health-client",
      "host/cocoon-verify/cocoon-verify"],
     ["verity-byte-flip", "changed-spec-disk-untouched", "docker-pull-denied",
      "egress-refused"], True),
]
DISCOVER = [os.path.join(HERE, "*_rows.py"), os.path.join(HERE, "parsers_*.py"),
            os.path.join(INTEG, "authz_diff*.py")]


def rows_dir(build):
    return os.path.join(build, "hostile-rows")


def listed(script, progs):
    """The script's case names (its 'list'); None when it cannot say."""
    for argv in ([sys.executable, script, "list"],
                 [sys.executable, script, *(["none"] * len(progs)), "list"]):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if r.returncode == 0 and r.stdout.strip():
            return set(r.stdout.split())
    return None


def newest(paths):
    return max((os.path.getmtime(p) for p in paths if os.path.exists(p)), default=0)


def read_rows(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            out.append({k: r.get(k, "") for k in ("attack", "stopped_by", "untouched")} |
                       {"ok": r.get("ok") is True})
    return out


class Table:
    def __init__(self):
        self.rows, self.not_run = [], []

    def through(self, attack, why):
        self.rows.append({"attack": attack, "stopped_by": "-", "untouched": why, "ok": False,
                          "from": "failed"})

    def run(self, label, argv, rows_file, reuse_after, may_run, timeout=3600, discovered=False):
        """Reuses rows_file when fresh, else runs argv (when may_run)."""
        fresh = os.path.exists(rows_file) and os.path.getmtime(rows_file) >= reuse_after \
            and os.path.getsize(rows_file) > 0
        if fresh:
            got = read_rows(rows_file)
            for r in got:
                r["from"] = "reused"
            self.rows += got
            return
        if not may_run:
            self.not_run.append(f"{label}: no fresh rows (its test did not run here)")
            return
        # written where the next run finds it fresh (the script empties it first)
        tmp = rows_file
        os.makedirs(os.path.dirname(tmp), exist_ok=True)
        t0 = time.monotonic()
        try:
            p = subprocess.run([*argv, "--hostile-rows", tmp], capture_output=True, text=True,
                               timeout=timeout, cwd=ROOT)
            rc, out = p.returncode, p.stdout + p.stderr
        except subprocess.TimeoutExpired as e:
            rc, out = -1, f"timed out after {timeout} s\n{e.stdout or ''}"
        took = time.monotonic() - t0
        got = read_rows(tmp) if os.path.exists(tmp) else []
        if rc != 0 and os.path.exists(tmp):
            os.unlink(tmp)  # a failed run's rows never stand in later
        print(f"hostile: {label}: exit {rc}, {len(got)} row(s), {took:.1f} s", flush=True)
        if rc == 2 and discovered:
            self.not_run.append(f"{label}: exit 2 (usage): it is not run as SCRIPT BUILD_DIR; "
                                "give it an entry in SOURCES")
            return
        if rc == SKIP:
            self.not_run.append(f"{label}: skipped ({out.strip().splitlines()[-1][:120] if out.strip() else 'exit 77'})")
            return
        if rc != 0:
            sys.stdout.write(out[-3000:])
            self.through(label, f"the case failed (exit {rc}): see its output above")
            return
        if not got:
            self.through(label, "the case passed but wrote no row: nothing was checked untouched")
            return
        for r in got:
            r["from"] = "ran"
        self.rows += got

    def print(self):
        w1 = min(58, max([len("attack")] + [len(r["attack"]) for r in self.rows]))
        w2 = min(44, max([len("stopped by")] + [len(r["stopped_by"]) for r in self.rows]))
        line = f"{'attack':<{w1}} | {'stopped by':<{w2}} | {'result':<7} | left untouched"
        print(line)
        print("-" * len(line) + "-" * 40)
        for r in self.rows:
            res = "stopped" if r["ok"] else "THROUGH"
            print(f"{r['attack'][:w1]:<{w1}} | {r['stopped_by'][:w2]:<{w2}} | {res:<7} | "
                  f"{r['untouched']}")
        for n in self.not_run:
            print(f"not run: {n}")
        ok = sum(r["ok"] for r in self.rows)
        bad = len(self.rows) - ok
        print(f"hostile: {len(self.rows)} attacks, {ok} stopped, {bad} got through")
        return bad


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    build = os.path.abspath(args.pop(0))
    meson = "--meson" in args
    only = args[args.index("--only") + 1] if "--only" in args else None
    jout = args[args.index("--json") + 1] if "--json" in args else None
    lib = os.path.join(HERE, "hostilerows.py")
    t = Table()
    for group, name, progs, cases, boots in SOURCES:
        script = os.path.join(INTEG, name)
        if only and only not in group:
            continue
        if not os.path.exists(script):
            t.not_run.append(f"{group}: {name} is not in this tree")
            continue
        paths = [os.path.join(build, "tests", "integration") if p == "@" else os.path.join(build, p)
                 for p in progs]
        have = listed(script, progs)
        for c in cases:
            label = f"{group}/{c}"
            if have is not None and c not in have:
                t.not_run.append(f"{label}: {name} has no such case (yet)")
                continue
            missing = [p for p in paths if not os.path.exists(p)]
            if missing:
                t.through(label, "program not built: " + ", ".join(missing))
                continue
            stem = os.path.splitext(name)[0]
            t.run(label, [sys.executable, script, *paths, c],
                  os.path.join(rows_dir(build), f"{stem}.{c}.jsonl"),
                  newest([script, lib] + [p for p in paths if os.path.isfile(p)]),
                  may_run=not (meson and boots))
    for pattern in DISCOVER:
        for script in sorted(glob.glob(pattern)):
            stem = os.path.splitext(os.path.basename(script))[0]
            if only and only not in stem:
                continue
            t.run(stem, [sys.executable, script, build],
                  os.path.join(rows_dir(build), f"{stem}.jsonl"), newest([script, lib]),
                  may_run=True, discovered=True)
    bad = t.print()
    if jout:
        with open(jout, "w") as f:
            json.dump({"rows": t.rows, "not_run": t.not_run}, f, indent=1)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
