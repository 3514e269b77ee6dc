"""The reference procedure that defines the spec hash, run by the real git.

git init --object-format=sha256, git add -A, git rm --cached of the top-level
runtime/, spec.tree and spec.meta and of every .gitignore, git write-tree.
The repository lives outside the spec (GIT_DIR), with no system or global
configuration, so nothing but the spec's own .gitignore files applies.
"""
import os
import subprocess
import tempfile


def _env(gitdir, root):
    return dict(os.environ, GIT_DIR=gitdir, GIT_WORK_TREE=root, GIT_CONFIG_NOSYSTEM="1",
                GIT_CONFIG_GLOBAL="/dev/null", HOME=gitdir)


def git_index(root, gitdir):
    """Runs the procedure up to write-tree in gitdir; returns a git() runner."""
    env = _env(gitdir, root)

    def git(*args, data=None):
        return subprocess.run(["git", *args], env=env, cwd=gitdir, check=True,
                              capture_output=True, input=data).stdout

    os.makedirs(gitdir, exist_ok=True)
    git("init", "-q", "--object-format=sha256")
    git("add", "-A")
    git("rm", "-r", "-q", "--cached", "--ignore-unmatch", "--", "runtime", "spec.tree", "spec.meta")
    listed = git("ls-files", "-z").split(b"\0")
    ign = [p for p in listed if p == b".gitignore" or p.endswith(b"/.gitignore")]
    if ign:
        git("--literal-pathspecs", "rm", "-q", "--cached", "--pathspec-from-file=-",
            "--pathspec-file-nul", data=b"\0".join(ign))
    return git


def git_tree_id(root):
    with tempfile.TemporaryDirectory(prefix="gitref-") as g:
        return git_index(root, g)("write-tree").decode().strip()


def git_ls_files(root):
    """`git ls-files -s` after the removals, as text."""
    with tempfile.TemporaryDirectory(prefix="gitref-") as g:
        return git_index(root, g)("-c", "core.quotePath=false", "ls-files", "-s").decode()
