"""Confinement of one submission's process tree (Linux; needs root to set up).

``enter_namespaces`` runs as root in the process that will become the parent of the
sandbox: new mount, network, IPC, UTS and PID namespaces, and a new root file system built
on a tmpfs that holds only what Python and the course's student package need, read-only:

    /usr /lib /lib64 /bin /sbin /etc       the system
    <python prefix>, <venv prefix>         the interpreter and the installed packages
    <course root>/course                   the student-side package (checks, widgets)
    /dev/{null,zero,random,urandom}        devices
    /tmp                                   the private scratch, the submission copy as cwd

Nothing else of the machine exists in there: not ``source/`` nor ``autograder/`` (the
answer key), not ``release/``, other students' submissions, the gradebook, ``.git``, the
home directories. ``drop_privileges`` then runs in the sandbox's first process (PID 1 of
the new PID namespace): it mounts a fresh /proc, switches to an unprivileged uid and gid,
and sets resource limits.
"""
import ctypes
import os
import resource
import shutil
import stat
import sys
from pathlib import Path

from autograder.coursedir import ROOT

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38

SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc")
DEVICES = ("null", "zero", "random", "urandom")
SCRATCH = "/tmp/submission"
SCRATCH_MB = 256
COPY_MB = 64

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None):
    _check(_libc.mount(source and source.encode(), str(target).encode(),
                       fstype and fstype.encode(), ctypes.c_ulong(flags),
                       data and data.encode()), f"mount {target}")


def visible_paths():
    """The directories bound read-only into the sandbox's root (what Python needs)."""
    paths = [Path(p) for p in SYSTEM_DIRS if Path(p).is_dir() and not Path(p).is_symlink()]
    paths += [Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
              ROOT / "course"]
    unique = []
    for path in paths:
        if not any(path == kept or kept in path.parents for kept in unique):
            unique = [kept for kept in unique if path not in kept.parents] + [path]
    return unique


def enter_namespaces(submission, uid, root_dir="/tmp/.sandbox-root"):
    """Unshare namespaces and build the sandbox root; the caller's next child lives in it.

    ``submission``'s files are copied to the scratch directory, owned by ``uid``.
    Returns the new root's path (the child ``chroot``s into it in ``drop_privileges``).
    """
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID),
           "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    root = Path(root_dir)
    root.mkdir(parents=True, exist_ok=True)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, f"size={SCRATCH_MB}m,mode=755")
    for path in visible_paths():
        target = root / path.relative_to("/")
        target.mkdir(parents=True, exist_ok=True)
        _mount(str(path), target, None, MS_BIND | MS_REC)
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_REC)
    for link in ("bin", "sbin", "lib", "lib64", "lib32"):
        source = Path("/") / link
        if source.is_symlink():
            (root / link).symlink_to(os.readlink(source))
    (root / "dev").mkdir()
    for device in DEVICES:
        (root / "dev" / device).touch()
        _mount(f"/dev/{device}", root / "dev" / device, None, MS_BIND)
    (root / "dev" / "shm").mkdir(mode=0o1777)
    (root / "proc").mkdir()
    tmp = root / "tmp"
    tmp.mkdir(exist_ok=True)  # already there when the course or its venv lives under /tmp
    os.chmod(tmp, 0o1777)
    copy_submission(submission, root / SCRATCH.lstrip("/"), uid)
    return root


def copy_submission(submission, scratch, uid, max_bytes=COPY_MB << 20):
    """Copy the submission's regular files (never what a symlink points to) to ``scratch``,
    owned by ``uid``, up to ``max_bytes`` in all."""
    scratch.mkdir()
    os.chown(scratch, uid, uid)
    if os.path.islink(submission) or not os.path.isdir(submission):
        return
    budget = max_bytes
    for directory, folders, files in os.walk(submission):
        folders[:] = [f for f in folders if not os.path.islink(os.path.join(directory, f))
                      and f != ".ipynb_checkpoints"]
        target = scratch / os.path.relpath(directory, submission)
        if not target.exists():
            target.mkdir()
            os.chown(target, uid, uid)
        for name in files:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode) or info.st_size > budget:
                continue
            budget -= info.st_size
            shutil.copyfile(path, target / name, follow_symlinks=False)
            os.chown(target / name, uid, uid)


def drop_privileges(root, uid, memory_mb, cpu_seconds):
    """In the sandbox's PID 1: fresh /proc, chroot, unprivileged uid, resource limits."""
    _mount("proc", Path(root) / "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chroot(root)
    os.chdir(SCRATCH)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    data = _current_data_bytes() + memory_mb * (1 << 20)
    limits = {
        resource.RLIMIT_DATA: data,
        resource.RLIMIT_AS: data + (4 << 30),  # torch maps much more than it uses
        resource.RLIMIT_CPU: cpu_seconds,
        resource.RLIMIT_NPROC: 64,
        resource.RLIMIT_FSIZE: 64 << 20,
        resource.RLIMIT_NOFILE: 256,
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_MEMLOCK: 0,
    }
    for which, value in limits.items():
        resource.setrlimit(which, (value, value))


def _current_data_bytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def set_parent_death_signal(signal=9):
    """Die with ``signal`` when the parent process dies."""
    _libc.prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0)
