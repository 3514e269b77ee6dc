#!/usr/bin/env python3
"""Hostile bytes against the parsers of what comes from the other side.

usage: parsers_rows.py [--build DIR] [--hostile-rows FILE]

Each attack is bytes a hostile guest, host or seal peer could send, run
through the parser's fuzz target as the sanitizer build links it (DIR, default
build-asan: tests/fuzz/fuzz_<target> replays a file under ASan and UBSan, and
aborts when one of the target's oracles fails; see tests/fuzz/). An attack is
stopped when the parser refuses or survives the bytes with no sanitizer report
and no oracle failing. Two more run the real cocoon-spec: an env_file under
the unmeasured runtime/ must be refused, with the spec left as it was.

With --hostile-rows FILE, one JSON object per attack is appended to FILE (the
contract of `make hostile`, tests/hostile); without it, a line per attack.
Exit status 1 when any attack got through.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def corpus(target, name):
    with open(os.path.join(CORPUS, target, name), "rb") as f:
        return f.read()


def flipped(b, at):
    return b[:at] + bytes([b[at] ^ 0xFF]) + b[at + 1:]


# (target, what it is, bytes, the program the parser belongs to)
ATTACKS = [
    ("launch", 'health answer {"ready":false,"boot":null} (NULL strncmp before the fix)',
     b'{"ready":false,"boot":null}', "cocoon-launch"),
    ("launch", 'QMP line {"event":null} (NULL strcmp before the fix)',
     b'{"event":null}\n', "cocoon-launch"),
    ("launch", "QMP SHUTDOWN with a null reason",
     b'{"event":"SHUTDOWN","data":{"reason":null}}\n', "cocoon-launch"),
    ("launch", "QMP line over 64 KiB whose tail is a SHUTDOWN event",
     b" " * 70000 + b'{"event":"SHUTDOWN","data":{"reason":"guest-shutdown"}}\n',
     "cocoon-launch"),
    ("launch", "health answer with terminal escapes and a NUL",
     b'{"ready":false,"boot":"\x1b]0;owned\x07\x1b[2J"}\x00{"ready":true}', "cocoon-launch"),
    ("health_request", "request of 4097 bytes", b"a" * 4097, "health-monitor"),
    ("health_request", "request with a NUL between words", b"status\x00docker",
     "health-monitor"),
    ("health_request", "request with a 65-byte word and too many words",
     b"svc " + b"x" * 65 + b" a b c d e", "health-monitor"),
    ("health_request", "logs with a line count past the bound", b"logs docker 99999999",
     "health-monitor"),
    ("tee", "TDREPORT of 1023 bytes", bytes(1023), "seal-server"),
    ("tee", "sim report with a flipped MAC byte", flipped(corpus("tee", "sim-report"), 224),
     "seal-server"),
    ("tee", "sim quote with a flipped magic byte", flipped(corpus("tee", "sim-quote"), 0),
     "seal-client"),
    ("sealc", "seal reply whose server key is off the curve", corpus("sealc", "reply-off-curve"),
     "seal-client"),
    ("sealc", "seal reply cut short", corpus("sealc", "reply-mode0")[:120], "seal-client"),
    ("sealc", "seal reply whose quote claims 16 MiB (0xFE length form)",
     corpus("sealc", "reply-mode1")[:5] + b"\xfe\xff\xff\xff" + corpus("sealc", "reply-mode1")[9:],
     "seal-client"),
    ("envfile", "env_file with a NUL byte (it ended the file there, silently)",
     b"A=1\x00B=2\n", "cocoon-workload"),
    ("envfile", "env_file of 10001 variables", b"A=1\n" * 10001, "cocoon-workload"),
    ("envfile", "env_file of one 1 MiB line", b"A=" + b"x" * (1 << 20), "cocoon-workload"),
]


def replay(build, target, data):
    exe = os.path.join(build, "tests", "fuzz", "fuzz_" + target)
    with tempfile.NamedTemporaryFile(prefix="parsers-rows.") as f:
        f.write(data)
        f.flush()
        r = subprocess.run([exe, f.name], capture_output=True, text=True, timeout=120)
    bad = [l for l in r.stderr.splitlines() if "Sanitizer" in l or "runtime error" in l]
    return r.returncode == 0 and not bad, (bad[0] if bad else "exit %d" % r.returncode)


def tree_sha(d):
    h = hashlib.sha256()
    for top, dirs, files in sorted(os.walk(d)):
        dirs.sort()
        for n in sorted(files):
            p = os.path.join(top, n)
            h.update(os.path.relpath(p, d).encode() + b"\0")
            with open(p, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def spec_rows(build):
    spec_bin = os.path.join(build, "host", "cocoon-spec", "cocoon-spec")
    rows = []
    for env_file in ("runtime/app.env", "./runtime//app.env"):
        with tempfile.TemporaryDirectory(prefix="parsers-rows.") as d:
            os.makedirs(os.path.join(d, "runtime"))
            with open(os.path.join(d, "runtime", "app.env"), "w") as f:
                f.write("API_URL=http://host.example\n")
            with open(os.path.join(d, "docker-compose.yml"), "w") as f:
                f.write("services:\n  web:\n    image: registry-1.docker.io/library/nginx@sha256:"
                        + "ab" * 32 + "\n    env_file: " + env_file + "\n")
            before = tree_sha(d)
            r = subprocess.run([spec_bin, "validate", d], capture_output=True, text=True)
            after = tree_sha(d)
            ok = r.returncode == 1 and "not covered by the spec hash" in r.stderr and before == after
            rows.append({
                "attack": "spec: env_file %s (under the unmeasured runtime/)" % env_file,
                "stopped_by": "cocoon-spec validate / lib/compose.c (env_file rules)",
                "untouched": "spec tree sha256 %s before and after%s" % (
                    before[:16], "" if before == after else " CHANGED: " + after[:16]),
                "ok": ok})
    return rows


def main():
    argv = sys.argv[1:]
    build = os.path.join(ROOT, "build-asan")
    rows_file = None
    while argv:
        a = argv.pop(0)
        if a == "--build":
            build = os.path.abspath(argv.pop(0))
        elif a == "--hostile-rows":
            rows_file = argv.pop(0)
        elif os.path.isdir(a):
            build = os.path.abspath(a)  # make hostile: SCRIPT BUILD_DIR --hostile-rows FILE
        else:
            sys.exit(__doc__)
    rows = []
    for target, what, data, program in ATTACKS:
        ok, why = replay(build, target, data)
        rows.append({
            "attack": "%s: %s" % (program, what),
            "stopped_by": "%s parser (fuzz_%s under ASan+UBSan)" % (program, target),
            "untouched": "%s: survived, no sanitizer report, oracles hold" % program
            if ok else "%s: %s" % (program, why),
            "ok": ok})
    rows += spec_rows(build)
    if rows_file:
        os.makedirs(os.path.dirname(os.path.abspath(rows_file)), exist_ok=True)
        with open(rows_file, "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    for r in rows:
        print("%-4s %s | %s | %s" % ("ok" if r["ok"] else "GOT THROUGH", r["attack"],
                                     r["stopped_by"], r["untouched"]))
    bad = sum(not r["ok"] for r in rows)
    print("parsers_rows: %d attacks, %d stopped, %d got through" % (len(rows), len(rows) - bad, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
