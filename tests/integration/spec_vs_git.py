#!/usr/bin/env python3
"""cocoon-spec hash against git itself on generated spec trees.

Each tree gets random files (empty, small, executable or not, unusual names),
nested and empty directories, a top-level runtime/ and spec.meta, and
.gitignore files at several levels built from every kind of rule git knows:
comments, blank lines, trailing spaces (escaped or not), CRLF endings, a BOM,
negation, directory-only patterns, anchored patterns, `*`, `?`, bracket
expressions with ranges/negation/classes, and `**` in every position.

The reference is the procedure the spec hash is defined by: git init with the
sha256 object format, git add -A, git rm --cached of runtime/, spec.tree,
spec.meta and every .gitignore, git write-tree. Any difference fails the test
and leaves the tree in place for a look.

usage: spec_vs_git.py COCOON_SPEC [--trees N] [--seed S] [--keep DIR]
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

from gitref import git_tree_id

NAMES = [
    "a", "b", "c", "foo", "Foo", "bar", "baz", "doc", "build", "src", "lib", "keep",
    "x.c", "y.c", "main.c", "notes.txt", "README.md", "data.bin", "a.o", "log.txt",
    "with space", "trail.", "-dash", "#hash", "!bang", "*star", "[br]", "q?q",
    "back\\slash", "tab\tname", "new\nline", "ünïcödé", "日本", "UPPER", "9digits",
    "a b c", ".hidden", "..dots", "x~", "sp ", " lead", "%pct", "$dollar", "a=b",
]

def rand_name(rng):
    if rng.random() < 0.15:
        return "".join(rng.choice("abcxyz019._-") for _ in range(rng.randint(1, 8))).strip(".") or "n"
    return rng.choice(NAMES)


def make_tree(rng, root, depth, names_seen, dirs_seen, rel=""):
    n = rng.randint(0, 6 if depth < 3 else 3)
    for _ in range(n):
        name = rand_name(rng)
        if name in (".git", "..", "."):
            continue
        path = os.path.join(root, name)
        if os.path.lexists(path):
            continue
        relp = rel + name
        if depth < 4 and rng.random() < 0.35:
            os.mkdir(path)
            dirs_seen.append(relp)
            names_seen.append(name)
            if rng.random() < 0.1:
                continue  # an empty directory
            make_tree(rng, path, depth + 1, names_seen, dirs_seen, relp + "/")
        else:
            with open(path, "wb") as f:
                kind = rng.random()
                if kind < 0.15:
                    pass  # empty file
                elif kind < 0.9:
                    f.write(os.urandom(rng.randint(1, 300)))
                else:
                    f.write(b"line\n" * rng.randint(1, 2000))
            mode = rng.choice([0o644, 0o644, 0o600, 0o755, 0o744, 0o711, 0o654, 0o664])
            os.chmod(path, mode)
            names_seen.append(name)


def glob_escape(name):
    out = ""
    for ch in name:
        if ch in "*?[\\!#":
            out += "\\" + ch
        else:
            out += ch
    if out.endswith(" "):
        out = out[:-1] + "\\ "
    return out


def rand_pattern(rng, names, dirs, base):
    """One .gitignore line; base is the .gitignore's directory ('' or 'a/b/')."""
    nm = glob_escape(rng.choice(names)) if names else "foo"
    local = [d[len(base):] for d in dirs if d.startswith(base) and d != base.rstrip("/")]
    d = glob_escape(rng.choice(local)) if local else "doc"
    choices = [
        lambda: nm,
        lambda: "*.c",
        lambda: "*.txt",
        lambda: "*.o",
        lambda: nm[:1] + "*" if nm[:1] not in "\\" else "*",
        lambda: "?" + nm[1:] if len(nm) > 1 and nm[1] != "\\" else nm,
        lambda: "[a-c]*",
        lambda: "[!a-m]*",
        lambda: "[^x]*.c",
        lambda: "[[:upper:]]*",
        lambda: "[[:digit:]]*",
        lambda: "[[:alpha:][:space:]]*",
        lambda: "[]a]*",
        lambda: "[a-]*",
        lambda: nm + "/",
        lambda: d + "/",
        lambda: "/" + nm,
        lambda: "/" + d + "/",
        lambda: d + "/" + nm,
        lambda: d + "/*",
        lambda: d + "/**",
        lambda: "**/" + nm,
        lambda: "**/" + d + "/",
        lambda: d + "/**/" + nm,
        lambda: "**/*.c",
        lambda: "**",
        lambda: "a**b",
        lambda: "/" + nm[:1] + "**" if nm[:1] not in "\\" else "/**",
        lambda: "*/" + nm,
        lambda: "*/*/",
        lambda: "!" + nm,
        lambda: "!" + d + "/",
        lambda: "!*.c",
        lambda: "!/" + d + "/**",
        lambda: "!**/" + nm,
        lambda: "\\#hash",
        lambda: "\\!bang",
        lambda: "#hash",
        lambda: "# a comment",
        lambda: "",
        lambda: "   ",
        lambda: nm + "   ",
        lambda: nm + "\\ ",
        lambda: "sp\\ ",
        lambda: "with space",
        lambda: "*\\*star",
        lambda: "\\[br]",
        lambda: "[br]",
        lambda: "q\\?q",
        lambda: "ünï*",
        lambda: "*~",
        lambda: ".*",
        lambda: "!.hidden",
        lambda: "runtime/",
        lambda: "spec.meta",
        lambda: "[z-a]*",
        lambda: "[[:bogus:]]*",
        lambda: "[unclosed",
        lambda: "trailing\\",
        lambda: "x/",
        lambda: "/",
        lambda: "!",
        lambda: "*/**/*",
    ]
    return rng.choice(choices)()


def add_gitignores(rng, root, names, dirs):
    places = [""] + [d + "/" for d in dirs]
    for base in places:
        if rng.random() < (0.7 if base == "" else 0.3):
            lines = [rand_pattern(rng, names, dirs, base) for _ in range(rng.randint(1, 8))]
            eol = "\r\n" if rng.random() < 0.15 else "\n"
            text = eol.join(lines)
            if rng.random() < 0.7:
                text += eol
            data = text.encode("utf-8", "surrogateescape")
            if rng.random() < 0.1:
                data = b"\xef\xbb\xbf" + data
            with open(os.path.join(root, base, ".gitignore"), "wb") as f:
                f.write(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tool")
    ap.add_argument("--trees", type=int, default=220)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", default=None)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "little")
    print(f"seed {seed} (rerun with --seed {seed})")
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="spec-vs-git-")
    failed = 0
    ignored_total = 0
    for i in range(a.trees):
        root = os.path.join(work, f"t{i}")
        os.mkdir(root)
        names, dirs = [], []
        make_tree(rng, root, 0, names, dirs)
        if rng.random() < 0.5:
            os.makedirs(os.path.join(root, "runtime", "sub"), exist_ok=True)
            with open(os.path.join(root, "runtime", "sub", "big.bin"), "wb") as f:
                f.write(os.urandom(64))
        if rng.random() < 0.3:
            with open(os.path.join(root, "spec.meta"), "w") as f:
                f.write("old meta\n")
        add_gitignores(rng, root, names, dirs)
        want = git_tree_id(root)
        r = subprocess.run([a.tool, "--json", "hash", root], capture_output=True, text=True)
        got = None
        if r.returncode == 0:
            j = json.loads(r.stdout)
            got = j["spec_tree"]
            ignored_total += j["ignored"]
        if got != want:
            failed += 1
            print(f"MISMATCH tree {i} at {root}: git {want} cocoon-spec {got} rc={r.returncode} {r.stderr.strip()}")
        else:
            shutil.rmtree(root)
    print(f"{a.trees - failed} of {a.trees} trees agree with git; {ignored_total} entries were ignored by .gitignore rules")
    if not failed:
        shutil.rmtree(work)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
