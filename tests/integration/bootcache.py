"""Boots shared by the cases of one VM test suite (guest_runs.py, e2e.py), and
the launcher runner both use.

The first case to run makes the boots under a lock and caches what they
showed as JSON in the build directory, under a key: the SHA-256 of the
programs and scripts the boots depend on (and anything else the caller adds),
so a rebuild boots again. Every later case only reads the cache.
"""
import fcntl
import hashlib
import json
import os
import subprocess
import sys
import threading
import time


def cached_runs(build, prefix, files, make, prepare=None):
    """runs = make(context); prepare() (under the lock) may return
    (extra key bytes, context)."""
    h = hashlib.sha256()
    for f in files:
        with open(f, "rb") as fh:
            h.update(fh.read())
    os.makedirs(build, exist_ok=True)
    with open(os.path.join(build, prefix + ".lock"), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        context = None
        if prepare:
            extra, context = prepare()
            h.update(extra)
        cache = os.path.join(build, f"{prefix}-{h.hexdigest()[:16]}.json")
        if not os.path.exists(cache):
            start = time.monotonic()
            runs = make(context)
            runs["total_s"] = round(time.monotonic() - start, 1)
            for old in os.listdir(build):
                if old.startswith(prefix + "-") and old.endswith(".json"):
                    os.unlink(os.path.join(build, old))
            with open(cache + ".tmp", "w") as fh:
                json.dump(runs, fh, indent=1)
            os.rename(cache + ".tmp", cache)
        else:
            print(f"{prefix}: the boots ran for an earlier case: {cache}")
    with open(cache) as fh:
        return json.load(fh)


def start_launcher(args, tag):
    """cocoon-launch ARGS with its output echoed as "[TAG] line" and kept;
    returns (process, lines, pump thread)."""
    lp = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace", env=dict(os.environ, COCOON_LOG_LEVEL="info"))
    lines = []

    def pump():
        for line in lp.stdout:
            lines.append(line)
            sys.stdout.write(f"[{tag}] {line}")
            sys.stdout.flush()

    th = threading.Thread(target=pump, daemon=True)
    th.start()
    return lp, lines, th
