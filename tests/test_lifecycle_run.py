"""A real ``autograde`` run SIGKILLed while its sandboxes run student code leaves no process
alive 10 s later, and the next run's start removes the temp folders it left.

The run: the real engine on the synthetic course of test_coordinator, two workers, two
students whose solution cell forks a child and both sleep. The processes of the run are
every descendant of the coordinator seen while it lived (forkserver, resource tracker,
workers, templates, the sandboxes and the student's child), and after the kill any process
still in its session or carrying its environment marker."""
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from tests.test_coordinator import course, submit  # noqa: F401 (fixture)
from tests.test_lifecycle import alive

BUSY = """return 2 * x
import os, time
if os.fork() == 0:      # the student's own process, inside the sandbox
    time.sleep(600)
    os._exit(0)
time.sleep(600)
"""
MARKER = "AUTOGRADE_TEST_RUN"
TEMPLATE = "autograder.engine.student.zygote"


def autograde(submissions, out, course, env, **popen):
    command = [Path(sys.executable).parent / "autograde", submissions, "--out", out,
               "--course", course, "--workers", "2", "--timeout", "600"]
    return subprocess.Popen(command, env=env, **popen)


def the_run(env_marker, session):
    """The processes of a run found without its tree: its session, or its marker."""
    found = []
    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) == session or process.environ().get(MARKER) == env_marker:
                found.append(process)
        except (psutil.Error, OSError):
            continue
    return found


def tree_when_busy(coordinator, timeout=300):
    """``{pid: Process}`` of every descendant of ``coordinator`` seen until both templates
    run a sandbox whose student code has forked (template -> S -> I -> the student's child)."""
    seen, deadline = {}, time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert coordinator.poll() is None, "the run ended before it was killed"
        try:
            tree = psutil.Process(coordinator.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        seen.update({(p.pid, p.create_time()): p for p in tree if p.is_running()})
        forked = {p.pid for p in tree if TEMPLATE in _cmdline(p)}   # and the sandboxes
        templates = [p for p in tree if p.pid in forked and p.ppid() not in forked]
        if len(templates) == 2 and all(len(_descendants(t)) >= 3 for t in templates):
            return seen, templates
        time.sleep(0.2)
    raise AssertionError("the sandboxes never ran the student's code")


def _cmdline(process):
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def _descendants(process):
    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []


@pytest.mark.slow
def test_a_killed_run_leaves_no_process_and_the_next_start_removes_its_folders(course, tmp_path):
    started = time.monotonic()
    for student in ("ada", "bob"):
        submit(tmp_path / "busy", course, student, "a1", BUSY)
    submit(tmp_path / "next", course, "dee", "a1", None).write_text("{ not json")
    temp = tmp_path / "tmp"
    temp.mkdir()
    marker = uuid.uuid4().hex
    env = {**os.environ, "TMPDIR": str(temp), MARKER: marker,
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    log = open(tmp_path / "killed.log", "w")
    coordinator = autograde(tmp_path / "busy", tmp_path / "out", course, env,
                            start_new_session=True, stdout=log, stderr=log)
    try:
        seen, templates = tree_when_busy(coordinator)
    except BaseException:
        coordinator.kill()
        raise
    commands = [_cmdline(p) for p in seen.values()]
    assert any("forkserver" in c for c in commands)
    assert any("resource_tracker" in c for c in commands)
    for template in templates:     # its sandbox S, the confined I, the student's child
        assert len([p for p in seen.values() if p in _descendants(template)]) >= 3
    assert len(seen) >= 12
    busy_at = time.monotonic()

    os.kill(coordinator.pid, signal.SIGKILL)
    coordinator.wait()
    run = list(seen.values()) + the_run(marker, coordinator.pid)
    deadline = time.monotonic() + 10
    while alive(run) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = alive(run + the_run(marker, coordinator.pid))
    for survivor in left:
        survivor.kill()
    assert not left, f"still running 10 s after the kill: {[_cmdline(p) for p in left]}"
    dead_in = time.monotonic() - busy_at

    def folders():
        return sorted(p.name for p in temp.iterdir() if not p.name.startswith(".sandbox-root"))
    leftover = folders()
    assert leftover and all(name.startswith("pymp-") for name in leftover)   # killed: kept
    done = autograde(tmp_path / "next", tmp_path / "out2", course, env,
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output, _ = done.communicate(timeout=300)
    assert done.returncode == 0, output
    assert folders() == [], f"left after the next run: {folders()}"
    print(f"\nbusy after {busy_at - started:.1f} s, all dead {dead_in:.1f} s after the kill, "
          f"whole test {time.monotonic() - started:.1f} s")
