"""A real ``autograde`` run SIGKILLed while its sandboxes run student code leaves no process
alive 10 s later, and the next run's start removes the temp folders it left.

The run: the real engine on the synthetic course of test_coordinator, two workers, two
students whose solution cell forks a child and both sleep; in the strongest layer here, and
in the landlock layer as an ordinary user (no PID namespace there: the sandbox's S kills the
submission's processes when its template dies). The processes of the run are every
descendant of the coordinator seen while it lived (forkserver, resource tracker, workers,
templates, the sandboxes and the student's child), and after the kill any process still in
its session or carrying its environment marker."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import pytest

from tests import as_user
from tests.test_coordinator import course, submit  # noqa: F401 (fixture)
from tests.test_lifecycle import alive

LAYERS = {"strongest": lambda argv: argv,
          "landlock": lambda argv: as_user.command(argv, no_userns=True)}

BUSY = """return 2 * x
import os, time
if os.fork() == 0:      # the student's own process, inside the sandbox
    time.sleep(600)
    os._exit(0)
time.sleep(600)
"""
MARKER = "AUTOGRADE_TEST_RUN"
TEMPLATE = "autograder.engine.student.zygote"


def autograde(submissions, out, course, env, wrap=LAYERS["strongest"], **popen):
    """``(process started, the autograde command)``."""
    command = [str(Path(sys.executable).parent / "autograde"), str(submissions), "--out",
               str(out), "--course", str(course), "--workers", "2", "--timeout", "600"]
    return subprocess.Popen(wrap(command), env=env, **popen), command


def coordinator_of(started, command, timeout=60):
    """The process of ``command`` (``autograde``'s): ``started`` itself or its child
    (``as_user``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert started.poll() is None, "the run ended before it was killed"
        for process in [psutil.Process(started.pid)] + psutil.Process(started.pid).children():
            if process.cmdline()[1:2] == [command[0]]:
                return process
        time.sleep(0.1)
    raise AssertionError("autograde did not start")


def sandbox_places(marker):
    """The landlock layer's sandbox folders in /tmp holding a copy of this run's submissions."""
    return [folder for folder in Path("/tmp").glob("autograde-sandbox-*")
            if any(marker in _text(path) for path in folder.glob("submission/*.ipynb"))]


def _text(path):
    try:
        return path.read_text()
    except OSError:
        return ""


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
        try:
            tree = coordinator.children(recursive=True)
        except psutil.NoSuchProcess:
            raise AssertionError("the run ended before it was killed") from None
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
@pytest.mark.parametrize("layer", LAYERS)
def test_a_killed_run_leaves_no_process_and_the_next_start_removes_its_folders(course, layer):
    started = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="autograde-killed-run-"))   # the test user reads it
    shutil.copytree(course, base / "course")
    marker = uuid.uuid4().hex
    for student in ("ada", "bob"):
        submit(base / "busy", base / "course", student, "a1", f"{BUSY}# {marker}")
    submit(base / "next", base / "course", "dee", "a1", None).write_text("{ not json")
    temp = base / "tmp"
    (base / "out").mkdir()
    temp.mkdir()
    subprocess.run(["chmod", "-R", "a+rwX", base], check=True)
    env = {**os.environ, "TMPDIR": str(temp), MARKER: marker,
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    log = open(base / "killed.log", "w")
    wrapper, command = autograde(base / "busy", base / "out", base / "course", env,
                                 LAYERS[layer], start_new_session=True, stdout=log, stderr=log)
    try:
        coordinator = coordinator_of(wrapper, command)
        seen, templates = tree_when_busy(coordinator)
        commands = [_cmdline(p) for p in seen.values()]
        assert any("forkserver" in c for c in commands)
        assert any("resource_tracker" in c for c in commands)
        workers = {template.ppid() for template in templates}
        assert len(workers) == 2 and workers <= {pid for pid, _ in seen}, commands
        places = sandbox_places(marker)
        assert len(places) == (2 if layer == "landlock" else 0)
        busy_at = time.monotonic()

        coordinator.kill()
        coordinator.wait()
        run = list(seen.values()) + the_run(marker, wrapper.pid)
        deadline = time.monotonic() + 10
        while alive(run) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = alive(run + the_run(marker, wrapper.pid))
        for survivor in left:
            survivor.kill()
        assert not left, f"still running 10 s after the kill: {[_cmdline(p) for p in left]}"
        print(f"\n{layer}: busy after {busy_at - started:.1f} s, all dead "
              f"{time.monotonic() - busy_at:.1f} s after the kill")
        wrapper.wait(timeout=60)
        assert not any(place.exists() for place in places)
        if layer == "landlock":
            assert "Landlock" in (base / "killed.log").read_text()
            return     # its TMPDIR was as_user's own (removed by it)

        def folders():
            return sorted(p.name for p in temp.iterdir() if not p.name.startswith(".sandbox-"))
        leftover = folders()
        assert leftover and all(name.startswith("pymp-") for name in leftover)   # killed: kept
        done, _ = autograde(base / "next", base / "out2", base / "course", env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output, _ = done.communicate(timeout=300)
        assert done.returncode == 0, output
        assert folders() == [], f"left after the next run: {folders()}"
        print(f"whole test {time.monotonic() - started:.1f} s")
    finally:
        if wrapper.poll() is None:
            os.killpg(wrapper.pid, signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["3 s after the start", "while a template warms up"])
def test_a_run_killed_early_leaves_no_process(course, tmp_path, moment):
    """Issue 27: the coordinator SIGKILLed 3 s after its start (forkserver and workers
    starting), or as soon as a worker's sandbox template exists (importing torch, long before
    it is ready): no process of the run is alive 5 s later."""
    submit(tmp_path / "class", course, "ada", "a1", "return 2 * x")
    marker = uuid.uuid4().hex
    env = {**os.environ, "TMPDIR": str(tmp_path), MARKER: marker,
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    log = open(tmp_path / "run.log", "w")
    started = time.monotonic()
    wrapper, command = autograde(tmp_path / "class", tmp_path / "out", course, env,
                                 start_new_session=True, stdout=log, stderr=log)
    try:
        coordinator = coordinator_of(wrapper, command)
        seen = {}
        while True:
            tree = _descendants(coordinator)
            seen.update({(p.pid, p.create_time()): p for p in tree})
            warming = any(TEMPLATE in _cmdline(p) for p in tree)
            if (time.monotonic() - started >= 3) if moment.startswith("3") else warming:
                break
            assert time.monotonic() - started < 300, "no template started"
            time.sleep(0.05)
        coordinator.kill()
        coordinator.wait()
        run = list(seen.values()) + the_run(marker, wrapper.pid)
        time.sleep(5)
        left = alive(run + the_run(marker, wrapper.pid))
        for survivor in left:
            survivor.kill()
        assert not left, f"alive 5 s after the kill: {[_cmdline(p) for p in left]}"
        print(f"\n{moment}: {len(seen)} processes of the run seen, none alive 5 s after the kill")
    finally:
        if wrapper.poll() is None:
            os.killpg(wrapper.pid, signal.SIGKILL)
