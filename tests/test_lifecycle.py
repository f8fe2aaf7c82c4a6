"""Nothing of a run outlives it: a coordinator killed by any signal takes its forkserver,
resource tracker and pool workers with it, and its scratch folder is removed by the next
start. (The forkserver imports this module to find ``sleepy``: keep its imports light.)
The templates and sandboxes below the workers have their own parent-death signals
(``autograder.engine.student``); they are not started here."""
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from autograder.run import lifecycle
from autograder.coursedir import ROOT

COORDINATOR = """
import multiprocessing, multiprocessing.forkserver, sys, time
from concurrent.futures import ProcessPoolExecutor
from autograder.run import lifecycle
from tests.test_lifecycle import sleepy
print(lifecycle.scratch(), flush=True)
lifecycle.mark_coordinator()
context = multiprocessing.get_context("forkserver")
context.set_forkserver_preload(["autograder.run.lifecycle", "tests.test_lifecycle"])
pool = ProcessPoolExecutor(2, mp_context=context, initializer=lifecycle.die_with_parent)
futures = [pool.submit(sleepy) for _ in range(2)]
print("running", flush=True)
time.sleep(600)
"""


def sleepy():
    """A task that never ends by itself."""
    time.sleep(600)


def descendants_when_running(process, count, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = psutil.Process(process.pid).children(recursive=True)
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"the run started {len(found)} processes, not {count}")


def alive(processes):
    """Those of ``processes`` still running (a zombie is dead; pid reuse is told apart)."""
    def running(process):
        try:
            return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False
    return [process for process in processes if running(process)]


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM, signal.SIGSEGV])
def test_a_killed_coordinator_leaves_no_process_and_its_scratch_goes(signum):
    process = subprocess.Popen([sys.executable, "-c", COORDINATOR], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    scratch = Path(process.stdout.readline().strip())
    assert process.stdout.readline() == "running\n"
    # forkserver, resource tracker, two workers
    tree = descendants_when_running(process, 4)
    os.kill(process.pid, signum)
    process.wait()
    deadline = time.monotonic() + 10
    while alive(tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = alive(tree)
    for survivor in left:
        survivor.kill()
    assert not left, f"still running: {[p.cmdline() for p in left]}"
    assert (scratch / lifecycle.LOCK).exists()       # a killed process cleans nothing
    assert scratch in lifecycle.remove_stale(scratch.parent)
    assert not scratch.exists()


def test_a_live_runs_scratch_is_kept(tmp_path):
    mine = lifecycle.scratch()
    assert mine not in lifecycle.remove_stale(mine.parent)
    assert (mine / lifecycle.LOCK).exists()
    stale = tmp_path / "pymp-stale"
    stale.mkdir()
    (stale / lifecycle.LOCK).write_text("")
    (stale / "unpacked.zip.d").mkdir()
    other = tmp_path / "pymp-other"      # not ours: no lock file
    other.mkdir()
    assert lifecycle.remove_stale(tmp_path) == [stale]
    assert other.exists() and not stale.exists()


def aged(folder, seconds):
    """``folder`` made, last changed ``seconds`` ago."""
    folder.mkdir()
    (folder / "unpacked-x").mkdir()
    then = time.time() - seconds
    os.utime(folder, (then, then))
    return folder


def test_folders_of_runs_before_the_lock_go_once_old_and_only_those(tmp_path):
    hour = lifecycle.UNLOCKED_AGE
    old = [aged(tmp_path / "autograde-0brrzo89", hour + 60),
           aged(tmp_path / "autograde-sandbox-waj3x6mw", 2 * hour)]
    kept = [aged(tmp_path / "autograde-jvu6am_h", hour - 60),   # maybe a live run's
            aged(tmp_path / "autograde-bench-x1y2z3w4", 2 * hour),   # not a run's scratch
            aged(tmp_path / "pymp-q1w2e3r4", 2 * hour),              # no lock: not ours
            aged(tmp_path / "notes", 2 * hour)]
    pointer = tmp_path / "autograde-3mucqqrs"       # a symlink is never followed
    pointer.symlink_to(aged(tmp_path / "elsewhere", 2 * hour), target_is_directory=True)
    live = aged(tmp_path / "pymp-live0000", 2 * hour)      # a live run's lock, old or not
    with open(live / lifecycle.LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert sorted(lifecycle.remove_stale(tmp_path)) == old
    assert not any(folder.exists() for folder in old)
    assert all(folder.exists() for folder in kept + [live, pointer, tmp_path / "elsewhere"])
    assert lifecycle.remove_stale(tmp_path) == [live]   # its run is gone


@pytest.mark.skipif(os.geteuid() != 0, reason="another user's folder needs root to make")
def test_another_users_folder_is_kept(tmp_path):
    theirs = aged(tmp_path / "autograde-otheruse", 2 * lifecycle.UNLOCKED_AGE)
    os.chown(theirs, 12345, 12345)
    assert lifecycle.remove_stale(tmp_path) == [] and theirs.exists()
