"""Confinement of one submission's process tree, in the layer ``autograder.engine.isolation`` chose.

``prepare`` runs in S, the process that will become the parent of the sandbox. In the root
and userns layers it unshares new mount, network, IPC, UTS and PID namespaces (userns: in a
new user namespace, as an ordinary user) and builds a new root file system on a tmpfs that
holds only what Python and the course's student package need, read-only:

    /usr /lib /lib64 /bin /sbin /etc       the system
    <python prefix>, <venv prefix>         the interpreter and the installed packages
    <course root>/course                   the student-side package (checks, widgets)
    /dev/{null,zero,random,urandom}        devices
    /tmp                                   the private scratch, the submission copy as cwd

Nothing else of the machine exists in there: not ``source/`` nor ``autograder/`` (the
answer key; a grader installed from its wheel lies in the venv's site-packages, where an empty
folder covers it, ``hidden_paths``), not ``release/``, other students' submissions, the gradebook, ``.git``, the
home directories. In the landlock (and none) layer it makes a private scratch directory
instead, and S becomes a subreaper. ``confine`` then runs in the sandbox's first process I
before any student code: a fresh /proc and chroot (root: an unprivileged uid; userns: no
capabilities), or Landlock on the same paths (landlock); resource limits; the seccomp
filter. ``release`` (in S, once I is gone) kills what the submission left running where no
PID namespace does it, and removes the scratch directory.
"""
import os
import resource
import shutil
import signal
import stat
import sys
import tempfile
from pathlib import Path

import course
from autograder.engine.isolation import kernel, landlock, reaper, seccomp, userns
from autograder.engine.isolation.kernel import (MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID,
                                                MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT)

SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc")
DEVICES = ("null", "zero", "random", "urandom")
NAMESPACED = ("root", "userns")
SCRATCH = "/tmp/submission"
SCRATCH_MB = 256
COPY_MB = 64
COPY_FILES = 1000
PROCESSES = 64


def visible_paths():
    """The directories the sandbox can read (what Python needs), outermost only."""
    paths = [Path(p) for p in SYSTEM_DIRS if Path(p).is_dir() and not Path(p).is_symlink()]
    paths += [Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
              Path(course.__file__).parent]   # this checkout's, or the installed wheel's
    unique = []
    for path in paths:
        if not any(path == kept or kept in path.parents for kept in unique):
            unique = [kept for kept in unique if path not in kept.parents] + [path]
    return unique


def hidden_paths(shown=None):
    """The grader's own package where it lies inside what the sandbox shows (``shown``,
    default ``visible_paths()``): a grader installed from its wheel, in site-packages. Hidden
    from the sandbox, so that no submission imports the answer key."""
    grader = Path(__file__).resolve().parents[1]
    shown = visible_paths() if shown is None else shown
    return [grader] if any(path in grader.parents for path in shown) else []


def landlock_paths(shown, hidden):
    """``(listed, readable)``: Landlock's rules for ``shown`` less ``hidden``. A folder on the
    way down to a hidden path may only be listed; everything beside that way is readable
    (a symbolic link that leads into the way, ``lib64 -> lib``, is left out: the way itself
    is walked)."""
    listed, readable = [], []
    for path in shown:
        _split(path, [h for h in hidden if path in h.parents], listed, readable)
    return listed, readable


def _split(folder, hidden, listed, readable):
    if not hidden:
        readable.append(folder)
        return
    listed.append(folder)
    for child in sorted(folder.iterdir()):
        target = child.resolve()
        if child.is_symlink() and any(h == target or target in h.parents for h in hidden):
            continue
        if child not in hidden:
            _split(child, [h for h in hidden if child in h.parents], listed, readable)


def prepare(layer, submission, uid):
    """In S: the sandbox's place (its new root, or its scratch directory in the landlock and
    none layers) holding a copy of ``submission`` (owned by ``uid`` in the root layer)."""
    if layer not in NAMESPACED:
        reaper.become_subreaper()
        place = Path(tempfile.mkdtemp(prefix="autograde-sandbox-"))
        owner = uid if os.geteuid() == 0 else None   # root still drops to a fresh uid
        _own(place, owner)
        copy_submission(submission, place / "submission", owner)
        return place
    root = _mount_point()   # named by the real uid: every user's id inside a userns is 1000
    if layer == "userns":
        userns.enter(userns.NAMESPACES)
        uid = None   # S already is the student's id inside: what it copies is the student's
    else:
        kernel.unshare(userns.NAMESPACES)
    return build_root(root, submission, uid)


def _mount_point():
    """This user's (empty) directory that the sandbox's root is mounted on."""
    root = Path(tempfile.gettempdir()) / f".sandbox-root-{os.getuid()}"
    root.mkdir(exist_ok=True)
    if root.is_symlink() or root.lstat().st_uid != os.getuid():
        raise OSError(f"{root} is not this user's directory (uid {os.getuid()}): remove it")
    return root


def build_root(root, submission, uid):
    """The tmpfs root of a new mount namespace on ``root`` (see the module's docstring)."""
    kernel.mount(None, "/", None, MS_REC | MS_PRIVATE)
    kernel.mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, f"size={SCRATCH_MB}m,mode=755")
    for path in visible_paths():
        target = root / path.relative_to("/")
        target.mkdir(parents=True, exist_ok=True)
        kernel.mount(str(path), target, None, MS_BIND | MS_REC)
        kernel.mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID
                     | kernel.locked_flags(path))
    for path in hidden_paths():
        kernel.mount("tmpfs", root / path.relative_to("/"), "tmpfs",
                     MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=555")
    for link in ("bin", "sbin", "lib", "lib64", "lib32"):
        source = Path("/") / link
        if source.is_symlink():
            (root / link).symlink_to(os.readlink(source))
    (root / "dev").mkdir()
    for device in DEVICES:
        (root / "dev" / device).touch()
        kernel.mount(f"/dev/{device}", root / "dev" / device, None, MS_BIND)
    (root / "dev" / "shm").mkdir(mode=0o1777)
    (root / "proc").mkdir()
    tmp = root / "tmp"
    tmp.mkdir(exist_ok=True)  # already there when the course or its venv lives under /tmp
    os.chmod(tmp, 0o1777)
    copy_submission(submission, root / SCRATCH.lstrip("/"), uid)
    return root


def copied_files(submission, max_files=COPY_FILES, max_bytes=COPY_MB << 20):
    """``(files, left_out)``: the submission's regular files that go into the sandbox, as paths
    relative to it (never what a symlink points to; at most ``max_files`` files and
    ``max_bytes`` in all), and how many regular files were left out."""
    files, left_out, budget = [], 0, max_bytes
    if os.path.islink(submission) or not os.path.isdir(submission):
        return files, left_out
    for directory, folders, names in os.walk(submission):
        folders[:] = sorted(f for f in folders if f != ".ipynb_checkpoints"
                            and not os.path.islink(os.path.join(directory, f)))
        for name in sorted(names):
            info = os.lstat(os.path.join(directory, name))
            if not stat.S_ISREG(info.st_mode):
                continue
            if info.st_size > budget or len(files) == max_files:
                left_out += 1
                continue
            budget -= info.st_size
            files.append(os.path.relpath(os.path.join(directory, name), submission))
    return files, left_out


def copy_submission(submission, scratch, uid):
    """Copy the submission's ``copied_files`` to ``scratch``, owned by ``uid`` (None: by
    whoever copies)."""
    scratch.mkdir()
    _own(scratch, uid)
    for relative in copied_files(submission)[0]:
        target = scratch / relative
        for folder in reversed(target.relative_to(scratch).parents[:-1]):
            if not (scratch / folder).exists():
                (scratch / folder).mkdir()
                _own(scratch / folder, uid)
        shutil.copyfile(os.path.join(submission, relative), target, follow_symlinks=False)
        _own(target, uid)


def _own(path, uid):
    if uid is not None:
        os.chown(path, uid, uid)


def confine(layer, place, uid, memory_mb, cpu_seconds):
    """In the sandbox's I, before any student code; the scratch directory (its cwd)."""
    os.setsid()   # its own process group: kill(0) from the sandbox never reaches S
    if layer in NAMESPACED:
        kernel.mount("proc", Path(place) / "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        os.chroot(place)
        scratch = "/tmp"
        os.chdir(SCRATCH)
        if layer == "userns":
            userns.drop_capabilities()
        processes = PROCESSES
    else:
        reaper.become_subreaper()
        scratch = str(place)
        os.chdir(Path(place) / "submission")
        own = f"/proc/{os.getpid()}"   # I's own entry: it lists I's children (kill_strays)
        processes = _user_processes() + PROCESSES   # the limit counts all of this user's
    if os.geteuid() == 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    kernel.prctl(kernel.PR_SET_NO_NEW_PRIVS, 1, "PR_SET_NO_NEW_PRIVS")
    set_parent_death_signal()
    _limit(memory_mb, cpu_seconds, processes)
    if layer == "landlock":
        listed, readable = landlock_paths(visible_paths(), hidden_paths())
        landlock.restrict([str(path) for path in readable] + [own], [scratch],
                          [f"/dev/{device}" for device in DEVICES], listed)
    if layer != "none":
        seccomp.install(strict_unix=layer == "landlock",
                        first_process=None if layer in NAMESPACED else os.getpid())
    return scratch


def _limit(memory_mb, cpu_seconds, processes):
    data = _current_data_bytes() + memory_mb * (1 << 20)
    limits = {
        resource.RLIMIT_DATA: data,
        resource.RLIMIT_AS: data + (4 << 30),  # torch maps much more than it uses
        resource.RLIMIT_CPU: cpu_seconds,
        resource.RLIMIT_NPROC: processes,
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


def _user_processes():
    """How many processes (threads included: the limit counts them) this uid runs."""
    uid, count = os.getuid(), 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                pass
    return count


def kill_strays(layer):
    """In I: kill every other process of the sandbox; whether there was any. In a PID
    namespace I is its PID 1 and ``kill(-1)`` does it; elsewhere I is a subreaper (all the
    submission's orphans become its children) and kills its children."""
    if layer not in NAMESPACED:
        return reaper.kill_children() > 0
    try:
        os.kill(-1, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


def release(layer, place):
    """In S, once I is gone: kill what is left (no PID namespace did) and the scratch."""
    if layer not in NAMESPACED:
        reaper.kill_children()
        shutil.rmtree(place, ignore_errors=True)


def set_parent_death_signal(signal=9):
    """Die with ``signal`` when the parent process dies."""
    kernel.prctl(kernel.PR_SET_PDEATHSIG, signal, "PR_SET_PDEATHSIG")
