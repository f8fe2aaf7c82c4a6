"""Run a command as an ordinary user, optionally where user namespaces (or Landlock) are
unavailable: ``python -m tests.as_user [--no-userns] [--no-landlock] -- COMMAND...``.

As root it becomes :data:`USER` (created with ``useradd`` if missing) with a private HOME
and TMPDIR; as an ordinary user it stays who it is. ``--no-userns`` installs a seccomp
filter that fails ``unshare`` and ``clone`` with CLONE_NEWUSER with EPERM (and ``clone3``
with ENOSYS), as Docker's default profile does; ``--no-landlock`` makes the Landlock calls
fail with ENOSYS, as on a kernel without it. When root's interpreter lives where other users
cannot reach it (pyenv under /root), a private mount namespace shows them that directory
(only it) so the ordinary user runs the same Python.
"""
import errno
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pyseccomp

from autograder.engine.isolation import kernel, userns

USER = "autograde-test"
REPO = Path(__file__).resolve().parent.parent


def ensure_user():
    """The test user's ``pwd`` entry (created if missing; needs root)."""
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", USER], check=True)
        return pwd.getpwnam(USER)


def hidden_ancestor(path):
    """The first directory above ``path`` that other users cannot enter (None if none)."""
    for parent in reversed(Path(path).resolve().parents):
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            return parent
    return None


def command(argv, no_userns=False, no_landlock=False):
    """``argv`` wrapped to run as the ordinary user (a list for ``subprocess``)."""
    flags = ["--no-userns"] * no_userns + ["--no-landlock"] * no_landlock
    return [sys.executable, "-m", "tests.as_user", *flags, "--", *argv]


def _show(directory, inner):
    """In a new mount namespace, cover ``directory`` with a tmpfs that holds only the entry
    on the way to ``inner``."""
    kernel.unshare(userns.CLONE_NEWNS)
    kernel.mount(None, "/", None, kernel.MS_REC | kernel.MS_PRIVATE)
    target = Path(directory) / Path(inner).relative_to(directory).parts[0]
    keep = os.open(target, os.O_PATH)
    kernel.mount("tmpfs", directory, "tmpfs", 0, "mode=755")
    target.mkdir()
    kernel.mount(f"/proc/self/fd/{keep}", target, None, kernel.MS_BIND | kernel.MS_REC)
    os.close(keep)


def _block(no_userns, no_landlock):
    rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    if no_userns:
        deny = pyseccomp.ERRNO(errno.EPERM)
        rules.add_rule(deny, "unshare")
        rules.add_rule(deny, "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, 0x10000000,
                                                     0x10000000))
        rules.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
    if no_landlock:
        for name in ("landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self"):
            rules.add_rule(pyseccomp.ERRNO(errno.ENOSYS), name)
    kernel.prctl(kernel.PR_SET_NO_NEW_PRIVS, 1, "PR_SET_NO_NEW_PRIVS")
    rules.load()


def main(args):
    split = args.index("--")
    options, argv = args[:split], args[split + 1:]
    home = None
    if os.geteuid() == 0:
        user = ensure_user()
        hidden = hidden_ancestor(sys.base_prefix)
        if hidden is not None:
            _show(hidden, Path(sys.base_prefix).resolve())
        home = tempfile.mkdtemp(prefix="autograde-test-home-")
        os.chown(home, user.pw_uid, user.pw_gid)
        os.environ.update(HOME=home, TMPDIR=home, USER=USER, LOGNAME=USER)
        os.setgroups([])
        os.setresgid(user.pw_gid, user.pw_gid, user.pw_gid)
        os.setresuid(user.pw_uid, user.pw_uid, user.pw_uid)
    if "--no-userns" in options or "--no-landlock" in options:
        _block("--no-userns" in options, "--no-landlock" in options)
    try:
        return subprocess.run(argv).returncode
    finally:
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
