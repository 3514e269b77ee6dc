"""The `--hostile-rows FILE` contract of `make hostile` (tests/hostile/run.py).

An attack script calls take(sys.argv) first: it removes `--hostile-rows FILE`
from argv (so the script's own arguments stay as they were), empties FILE
(one run, one file: rows of an earlier run never stand in) and remembers it. row() then appends one JSON object per line to FILE:

  {"attack": ..., "stopped_by": ..., "untouched": ..., "ok": true}

`ok` is true only when the attack was stopped and the thing it aimed at was
checked untouched by the real component (a hash before/after, dockerd
inspect, nft counters). A case that fails an assertion writes no row: the
harness counts a script that exits non-zero as an attack that got through.
Without the flag row() does nothing, and the script is the meson test it was.
"""
import json
import os

_FILE = None


def take(argv):
    global _FILE
    if "--hostile-rows" in argv:
        i = argv.index("--hostile-rows")
        if i + 1 >= len(argv):
            raise SystemExit("--hostile-rows needs a FILE")
        _FILE = os.path.abspath(argv[i + 1])
        del argv[i:i + 2]
        # the file is this run's: rows of an earlier run must not stand in
        os.makedirs(os.path.dirname(_FILE), exist_ok=True)
        open(_FILE, "w").close()
    return _FILE


def row(attack, stopped_by, untouched, ok=True):
    if not _FILE:
        return
    with open(_FILE, "a") as f:
        f.write(json.dumps({"attack": attack, "stopped_by": stopped_by,
                            "untouched": untouched, "ok": bool(ok)}) + "\n")
