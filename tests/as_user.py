"""Run a command as an ordinary user, optionally where user namespaces (or Landlock) are
unavailable: ``python -m tests.as_user [--no-userns] [--no-landlock] -- COMMAND...``.

As root it becomes :data:`USER` (created with ``useradd`` if missing) with a private HOME
and TMPDIR; as an ordinary user it stays who it is. ``--no-userns`` installs a seccomp
filter that fails ``unshare`` and ``clone`` with CLONE_NEWUSER with EPERM (and ``clone3``
with ENOSYS), as Docker's default profile does; ``--no-landlock`` makes the Landlock calls
fail with ENOSYS, as on a kernel without it. When root's interpreter or this checkout lives
where other users cannot reach it (pyenv under /root, a clone in a ``mktemp -d`` folder), a
private mount namespace shows them those directories (only them) so the ordinary user runs
the same Python on the same code.
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


def become(user):
    """Drop root for ``user`` (a ``pwd`` entry): its uid and gid, no supplementary groups."""
    os.setgroups([])
    os.setresgid(user.pw_gid, user.pw_gid, user.pw_gid)
    os.setresuid(user.pw_uid, user.pw_uid, user.pw_uid)


def command(argv, no_userns=False, no_landlock=False):
    """``argv`` wrapped to run as the ordinary user (a list for ``subprocess``)."""
    flags = ["--no-userns"] * no_userns + ["--no-landlock"] * no_landlock
    return [sys.executable, "-m", "tests.as_user", *flags, "--", *argv]


def hidden(paths):
    """``{directory other users cannot enter: the names in it they must reach}`` on the way
    to each of ``paths`` (the path itself included), top-down; ``None`` means every name."""
    shown = {}
    for path in map(Path, paths):
        path = path.resolve()
        for directory in [*reversed(path.parents), path]:
            mode = os.stat(directory).st_mode
            if not stat.S_ISDIR(mode) or mode & stat.S_IXOTH:
                continue
            names = shown.setdefault(directory, set())
            if directory == path:
                shown[directory] = None
            elif names is not None:
                names.add(path.relative_to(directory).parts[0])
    return dict(sorted(shown.items(), key=lambda item: len(item[0].parts)))


def _show(shown):
    """In a new mount namespace, cover each directory of ``shown`` (see :func:`hidden`) with
    a tmpfs (mode 755) that holds only its shown entries, bind-mounted from the original."""
    kernel.unshare(userns.CLONE_NEWNS)
    kernel.mount(None, "/", None, kernel.MS_REC | kernel.MS_PRIVATE)
    for directory, names in shown.items():
        entries = sorted(os.listdir(directory)) if names is None else sorted(names)
        links = {name: os.readlink(directory / name) for name in entries
                 if (directory / name).is_symlink()}
        kept = {name: os.open(directory / name, os.O_PATH) for name in entries
                if name not in links}
        kernel.mount("tmpfs", directory, "tmpfs", 0, "mode=755")
        for name, link in links.items():
            (directory / name).symlink_to(link)
        for name, keep in kept.items():
            target = directory / name
            if stat.S_ISDIR(os.fstat(keep).st_mode):
                target.mkdir()
            else:
                target.touch()
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
        shown = hidden([sys.base_prefix, sys.prefix, REPO])
        if shown:
            _show(shown)
        home = tempfile.mkdtemp(prefix="autograde-test-home-")
        os.chown(home, user.pw_uid, user.pw_gid)
        os.environ.update(HOME=home, TMPDIR=home, USER=USER, LOGNAME=USER)
        become(user)
    if "--no-userns" in options or "--no-landlock" in options:
        _block("--no-userns" in options, "--no-landlock" in options)
    try:
        return subprocess.run(argv).returncode
    finally:
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
