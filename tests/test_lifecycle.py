"""Nothing of a run outlives it: a coordinator killed by any signal takes its forkserver,
resource tracker and pool workers with it, and its scratch folder is removed by the next
start. (The forkserver imports this module to find ``sleepy``: keep its imports light.)
The templates and sandboxes below the workers have their own parent-death signals
(``autograder.engine.student``); they are not started here."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from autograder import lifecycle
from autograder.coursedir import ROOT

COORDINATOR = """
import multiprocessing, multiprocessing.forkserver, sys, time
from concurrent.futures import ProcessPoolExecutor
from autograder import lifecycle
from tests.test_lifecycle import sleepy
print(lifecycle.scratch(), flush=True)
lifecycle.mark_coordinator()
context = multiprocessing.get_context("forkserver")
context.set_forkserver_preload(["autograder.lifecycle", "tests.test_lifecycle"])
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
