"""The `--hostile-rows FILE` contract of `make hostile` (tests/hostile/run.py).

An attack script calls take(sys.argv) first: it removes `--hostile-rows FILE`
from argv (so the script's own arguments stay as they were) and remembers
FILE. row() then appends one JSON object per line to FILE:

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
    return _FILE


def row(attack, stopped_by, untouched, ok=True):
    if not _FILE:
        return
    with open(_FILE, "a") as f:
        f.write(json.dumps({"attack": attack, "stopped_by": stopped_by,
                            "untouched": untouched, "ok": bool(ok)}) + "\n")
