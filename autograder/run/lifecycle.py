"""Nothing of a run outlives it: its processes die with the coordinator, its temp folder goes.

Processes: the coordinator starts the forkserver, which forks the pool's workers, each of
which starts a sandbox template that forks the sandboxes. Each link is a parent-death signal
(``PR_SET_PDEATHSIG``): the template and the sandboxes have theirs (``autograder.student``);
the forkserver imports this module as a preload, and a forkserver whose parent is the
coordinator named in ``$AUTOGRADE_COORDINATOR`` sets its own at that import and names
itself in ``$AUTOGRADE_FORKSERVER``; a worker sets its own when it starts
(``die_with_parent``), and exits at once if the forkserver is already gone. So a
coordinator killed by any signal, SIGKILL included, takes the whole tree with it. (Without
this, the forkserver waits for its workers and the workers for work, forever.)

Temp folders: the coordinator's scratch is multiprocessing's temp folder (removed at a
normal exit), holding a lock file locked while the coordinator lives. A killed run leaves
it behind unlocked: the next run removes it when it starts. It also removes the folders
that runs from before the lock left (``autograde-XXXXXXXX``, and the landlock layer's
``autograde-sandbox-XXXXXXXX``) once they are older than ``UNLOCKED_AGE``. Only this user's
real folders are removed, never a locked one.
"""
import fcntl
import multiprocessing.forkserver
import multiprocessing.util
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path

from autograder.engine import isolation, sandbox

COORDINATOR = "AUTOGRADE_COORDINATOR"
FORKSERVER = "AUTOGRADE_FORKSERVER"
LOCK = "autograde.lock"
#: The names ``tempfile.mkdtemp`` gave the scratch folders of runs without a lock.
UNLOCKED = re.compile(r"autograde-(sandbox-)?[a-z0-9_]{8}")
UNLOCKED_AGE = 3600     # seconds since a folder without a lock last changed
_held = None


def die_with_parent(parent=None):
    """Be killed (SIGKILL) when the parent process (pid ``parent``, default: the current
    one, or the forkserver for a worker forked from it) dies; exit now if it already has."""
    parent = parent or int(os.environ.get(FORKSERVER, 0)) or os.getppid()
    sandbox.set_parent_death_signal()
    if os.getppid() != parent:
        os._exit(1)


def mark_coordinator():
    """Make this process the coordinator its forkserver dies with (call before starting it)."""
    os.environ[COORDINATOR] = str(os.getpid())


def start_forkserver(module):
    """Start the process that pool workers are forked from, importing the grader's ``module``
    (``autograder.run.preload``: the grader, warmed) once, in the background. Workers forked from
    it inherit neither this process's open gradebook connection and files nor its threads. It
    and they die with this process (see the module doc). (Once running, it is kept: the first
    call's ``module`` stays.)"""
    mark_coordinator()
    multiprocessing.get_context("forkserver").set_forkserver_preload(
        ["autograder.run.lifecycle", module])
    multiprocessing.forkserver.ensure_running()


def start_local_grading(choice):
    """The sandbox layer for ``choice`` (``isolation.probe``: raises ``isolation.Unavailable``),
    announced on stderr, and the forkserver started with the warmed grader, which imports it
    while the caller imports the rest; the layer."""
    layer = isolation.probe(choice)
    print(isolation.announce(layer), file=sys.stderr, flush=True)
    start_forkserver("autograder.run.preload")
    return layer


def scratch():
    """This process's scratch folder, locked while the process lives; first removes the
    scratch folders that killed runs left behind."""
    global _held
    if _held is None:
        remove_stale(Path(tempfile.gettempdir()))
        folder = Path(multiprocessing.util.get_temp_dir())
        partial = folder / f"{LOCK}.partial"
        _held = os.open(partial, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        fcntl.flock(_held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(partial, folder / LOCK)    # visible to others only once locked
    return Path(multiprocessing.util.get_temp_dir())


def remove_stale(parent):
    """Remove the folders under ``parent`` that runs killed or gone left: this user's
    ``pymp-*`` holding a ``LOCK`` that no live process holds, and this user's ``UNLOCKED``
    folders without one unchanged for ``UNLOCKED_AGE`` seconds; the folders removed."""
    now, removed = time.time(), []
    for folder in parent.iterdir():
        if not (folder.name.startswith("pymp-") or UNLOCKED.fullmatch(folder.name)):
            continue
        try:
            info = folder.lstat()
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            continue
        held = _lock_held(folder / LOCK)
        if held is None:      # no lock: a run from before the lock, or not ours
            if not UNLOCKED.fullmatch(folder.name) or now - info.st_mtime < UNLOCKED_AGE:
                continue
        elif held:
            continue          # a live run's
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _lock_held(lock):
    """Whether a live process holds ``lock``; None if there is no such lock file."""
    try:
        fd = os.open(lock, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


if os.environ.get(COORDINATOR) == str(os.getppid()):
    # imported by a coordinator's forkserver (see the module's doc); its workers' parent
    os.environ.pop(FORKSERVER, None)
    die_with_parent(os.getppid())
    os.environ[FORKSERVER] = str(os.getpid())
