"""Grading on a real Dask cluster: a ``dask scheduler`` and ``dask worker`` processes started
here on 127.0.0.1 (one process and one thread per worker, no dashboard).

Two clusters: a light one whose workers grade with ``fake_grade`` (test_coordinator's
synthetic course: quick), for the plumbing and the faults; and one whose workers run the real
engine on the first two chapters of the demo class (12 submissions, every kind), which must
grade exactly as the local pool does, survive a worker killed mid-run, and fill a PostgreSQL
gradebook.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from autograder.tools import demo
from autograder.run.coordinator import GraderError, run
from autograder.coursedir import ROOT, chapters
from autograder.engine import isolation
from autograder.record.gradebook import CourseGradebook
from tests.test_coordinator import (  # noqa: F401 (fixtures)
    broken_warm_up, course, fake_grade, gradebook, grades, klass, postgresql, slow_fake_grade,
    submit)

pytestmark = pytest.mark.slow
DASK = Path(sys.executable).with_name("dask")
START_SECONDS = 180


class Cluster:
    """A scheduler and ``workers`` worker processes, each in its own session (a lost node is
    its process group killed). ``config``: the scheduler's Dask settings (environment form)."""

    def __init__(self, folder, workers, config=None):
        self.folder, self.processes = Path(folder), []
        self.env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg",
                        PATH=f"{DASK.parent}{os.pathsep}{os.environ['PATH']}")
        scheduler_file = self.folder / "scheduler.json"
        self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", "0",
                                  "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                    dict(self.env, **(config or {})))
        deadline = time.monotonic() + START_SECONDS
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.address = json.loads(scheduler_file.read_text())["address"]
        self.workers = [self.add_worker(f"worker{index}") for index in range(workers)]
        from distributed import Client
        with Client(self.address, timeout=START_SECONDS) as client:
            client.wait_for_workers(workers, timeout=START_SECONDS)

    def _start(self, name, args, env):
        log = open(self.folder / f"{name}.log", "w")
        process = subprocess.Popen([str(DASK), *args], cwd=self.folder, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def add_worker(self, name):
        return self._start(name, ["worker", self.address, "--nworkers", "1", "--nthreads", "1",
                                  "--no-dashboard", "--local-directory",
                                  str(self.folder / name)], self.env)

    def deaths(self):
        """How many worker processes exited on their own so far (as their nannies logged)."""
        return sum(log.read_text().count(" exited with status ")
                   for log in self.folder.glob("worker*.log"))

    def kill(self, process):
        """SIGKILL a worker and everything it started (a lost node)."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self):
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="module")
def light(tmp_path_factory):
    """Two workers; a task that was on 2 lost workers fails (KilledWorker); a worker holds only
    the task it runs (so that only the culprit is on a worker when it dies)."""
    cluster = Cluster(tmp_path_factory.mktemp("light"), 2,
                      {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1",
                       "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0"})
    yield cluster
    cluster.stop()


def fake_run(klass, course, out, **options):
    """``fake_grade`` the class into ``out`` and ``<out>.db`` (see test_coordinator.grade)."""
    shutil.copy(course / "template.db", f"{out}.db")
    options.setdefault("grade", fake_grade)
    return run(klass, out, course_root=course, progress=False, db_url=f"sqlite:///{out}.db",
               **options)


def test_the_cluster_records_what_the_local_pool_does(klass, course, light, tmp_path):
    local = fake_run(klass, course, tmp_path / "local", workers=2)
    remote = fake_run(klass, course, tmp_path / "dask", scheduler=light.address)
    for name in ("grades.csv", "cells.csv"):
        assert (tmp_path / "local" / name).read_text() == (tmp_path / "dask" / name).read_text()
    assert gradebook(course, tmp_path / "local") == gradebook(course, tmp_path / "dask")
    pages = list((tmp_path / "local" / "feedback").rglob("*.html"))
    assert len(pages) == local.graded == remote.graded == 6
    for page in (tmp_path / "local" / "feedback").rglob("*.html"):
        twin = tmp_path / "dask" / page.relative_to(tmp_path / "local")
        assert twin.read_text() == page.read_text()
    layers = {r["worker"]["isolation"] for r in remote.records if "worker" in r}
    assert layers == {None}   # fake_grade's workers warm no engine up: no sandbox layer


def test_a_submission_that_kills_its_workers_becomes_an_error_record(klass, course, light,
                                                                    tmp_path):
    submit(klass, course, "crash", "a1", "return 2 * x")   # fake_grade kills its worker
    deaths = light.deaths()
    summary = fake_run(klass, course, tmp_path / "out", scheduler=light.address)
    assert light.deaths() - deaths == 2   # allowed-failures + 1 tries, then KilledWorker
    rows = grades(tmp_path / "out")
    assert rows["crash", "a1"]["status"] == "error"
    assert "the grading process died on this submission" in rows["crash", "a1"]["reason"]
    # 0 and for a human in the gradebook, flagged; not a grade to keep: the next run tries again
    assert gradebook(course, tmp_path / "out")["crash", "a1"]["first"]["test_double"] == (0.0, True)
    assert rows["ada", "a1"]["score"] == rows["ada", "a2"]["score"] == "2"
    assert rows["cy", "a1"]["score"] == "0" and summary.graded == 7


def test_a_worker_that_cannot_start_is_a_clear_error(klass, course, light, tmp_path):
    with pytest.raises(GraderError, match="could not start on the Dask cluster.*no sandbox here"):
        fake_run(klass, course, tmp_path / "out", scheduler=light.address,
                 warm_up=broken_warm_up)
    # Only the submissions that need no grading (not JSON, misnamed) were recorded.
    assert set(gradebook(course, tmp_path / "out")) == {("dee", "a1"), ("eve", "a1")}


def test_a_lost_scheduler_stops_the_run_and_the_next_run_grades_the_rest(klass, course, light,
                                                                        tmp_path):
    """The scheduler killed mid-run (its node lost): the run stops with a message naming it,
    what it recorded is kept, and the same command on a new cluster grades the rest, once."""
    out, doomed = tmp_path / "out", Cluster(tmp_path, 1)

    def kill_the_scheduler():
        deadline = time.monotonic() + START_SECONDS
        while not list(out.glob("records/[abc]*/*.json")):   # ada, bob or cy graded
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        doomed.kill(doomed.processes[0])

    def first_run():
        try:
            fake_run(klass, course, out, scheduler=doomed.address, grade=slow_fake_grade)
        except GraderError as error:
            stopped.append(str(error))

    stopped = []
    threading.Thread(target=kill_the_scheduler, daemon=True).start()
    runner = threading.Thread(target=first_run, daemon=True)
    runner.start()
    runner.join(timeout=START_SECONDS)
    doomed.stop()
    assert not runner.is_alive(), "the run hangs on a lost scheduler"
    assert stopped == [f"lost the Dask scheduler at {doomed.address}; run the same command "
                       "again to grade the rest"]
    kept = gradebook(course, out)
    assert {("dee", "a1"), ("eve", "a1")} < set(kept) and len(kept) < 8
    resumed = run(klass, out, course_root=course, grade=fake_grade, progress=False,
                  db_url=f"sqlite:///{out}.db", scheduler=light.address)
    assert resumed.graded == 6 - (len(kept) - 2)
    fake_run(klass, course, tmp_path / "local", workers=2)
    same_outputs(out, tmp_path / "local")
    assert gradebook(course, out) == gradebook(course, tmp_path / "local")


SETUP_MARKS = "AUTOGRADE_TEST_SETUP_MARKS"


def marked_slow_warm_up():
    """A warm-up that takes 3 s and leaves a file named after its worker's pid (in the folder
    ``$AUTOGRADE_TEST_SETUP_MARKS``) as it starts: a window to lose the worker in."""
    Path(os.environ[SETUP_MARKS], str(os.getpid())).touch()
    time.sleep(3)


def test_a_worker_lost_while_the_grader_is_set_up_on_it_costs_only_itself(
        klass, course, tmp_path, monkeypatch):
    """Issue 27: one of two workers SIGKILLed during its set-up (``register_plugin``); the run
    completes on the other with the local pool's grades."""
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv(SETUP_MARKS, str(marks))
    (tmp_path / "cluster").mkdir()
    cluster = Cluster(tmp_path / "cluster", 2)
    killed = []

    def kill_during_setup():
        deadline = time.monotonic() + START_SECONDS
        while not killed and time.monotonic() < deadline:
            for mark in marks.iterdir():
                victim = next((w for w in cluster.workers
                               if int(mark.name) in _descendants(w.pid)), None)
                if victim is not None:
                    cluster.kill(victim)
                    killed.append(victim)
                    break
            time.sleep(0.05)

    killer = threading.Thread(target=kill_during_setup, daemon=True)
    killer.start()
    try:
        remote = fake_run(klass, course, tmp_path / "dask", scheduler=cluster.address,
                          warm_up=marked_slow_warm_up)
    finally:
        killer.join(timeout=30)
        cluster.stop()
    assert killed and killed[0].poll() is not None, "no worker was killed during its set-up"
    assert len(list(marks.iterdir())) >= 2       # the other worker set the grader up too
    local = fake_run(klass, course, tmp_path / "local", workers=2)
    assert remote.graded == local.graded == 6
    for name in ("grades.csv", "cells.csv"):
        assert (tmp_path / "local" / name).read_text() == (tmp_path / "dask" / name).read_text()


def test_an_unreachable_scheduler_is_a_clear_error(klass, course, tmp_path, monkeypatch):
    monkeypatch.setattr("autograder.run.cluster.CONNECT_SECONDS", 2)
    with pytest.raises(GraderError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        fake_run(klass, course, tmp_path / "out", scheduler="tcp://127.0.0.1:9")


# The real engine on a real cluster.

ASSIGNMENTS = chapters()[:2]


@pytest.fixture(scope="module")
def demo_class(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo") / "submitted"
    demo.write_class(folder, demo.demo_class(ASSIGNMENTS))
    return folder


def engine_run(folder, out, **options):
    options.setdefault("db_url", f"sqlite:///{out}.db")
    return run(folder, out, assignments=ASSIGNMENTS, cell_timeout=10.0, progress=False,
               **options)


@pytest.fixture(scope="module")
def local(demo_class, tmp_path_factory):
    """The demo class graded by the local pool: what the cluster must give."""
    out = tmp_path_factory.mktemp("local") / "out"
    return out, engine_run(demo_class, out, workers=2)


@pytest.fixture(scope="module")
def engine_cluster(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp("engine"), 2)
    yield cluster
    cluster.stop()


def same_outputs(out, expected):
    for name in ("grades.csv", "cells.csv"):
        assert (out / name).read_text() == (expected / name).read_text(), name


def test_the_autograde_command_grades_on_the_cluster_as_in_the_local_pool(
        demo_class, local, engine_cluster, tmp_path):
    """The real entry point, ``autograde SUBMISSIONS --out OUT --scheduler ADDRESS``: the local
    pool's grades, gradebook and pages, each submission graded in the sandbox layer its worker
    chose on this machine (the record says so)."""
    expected, _ = local
    out = tmp_path / "out"
    command = [Path(sys.executable).with_name("autograde"), demo_class, "--out", out,
               "--assignment", *ASSIGNMENTS, "--timeout", "10", "--db", f"sqlite:///{out}.db",
               "--scheduler", engine_cluster.address]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, DASK_SCHEDULER_ADDRESS="tcp://127.0.0.1:9"))
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == ("autograde: sandbox: --isolation auto on each worker "
                                           f"of the Dask cluster at {engine_cluster.address}")
    assert "12 submissions:" in done.stdout and "this run sent 11 submissions to the grader" in done.stdout
    same_outputs(out, expected)
    with CourseGradebook(ROOT, f"sqlite:///{out}.db") as book, \
            CourseGradebook(ROOT, f"sqlite:///{expected}.db") as reference:
        assert book.submissions() == reference.submissions()
    records = [json.loads(path.read_text())["record"] for path in out.glob("records/*/*.json")]
    graded = [r for r in records if "worker" in r]
    assert len(records) == 12 and len(graded) == 11   # the broken file is not graded
    strongest = isolation.probe()
    assert {r["worker"]["isolation"] for r in graded} == {strongest}
    assert {r["isolation"] for r in graded} == {strongest}
    assert len(list((out / "feedback").rglob("*.html"))) == 11


def test_the_gradebook_can_be_postgresql_on_a_cluster_run(demo_class, local, engine_cluster,
                                                          tmp_path, postgresql):
    expected, _ = local
    engine_run(demo_class, tmp_path / "out", scheduler=engine_cluster.address, db_url=postgresql)
    same_outputs(tmp_path / "out", expected)
    with CourseGradebook(ROOT, postgresql) as book, \
            CourseGradebook(ROOT, f"sqlite:///{expected}.db") as reference:
        assert book.submissions() == reference.submissions()


def test_a_worker_killed_mid_run_costs_only_a_retry(demo_class, local, engine_cluster, tmp_path):
    expected, _ = local
    out = tmp_path / "out"
    victim = engine_cluster.workers[0]
    killed = threading.Event()

    def kill_when_busy():
        from distributed import Client
        with Client(engine_cluster.address, timeout=60) as client:
            address = next(address for address, pid in client.run(os.getpid).items()
                           if pid in _descendants(victim.pid))
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not killed.is_set():
                if list(out.glob("records/*/*.json")) and client.processing()[address]:
                    engine_cluster.kill(victim)   # while it grades a submission
                    killed.set()
                time.sleep(0.1)

    killer = threading.Thread(target=kill_when_busy, daemon=True)
    killer.start()
    summary = engine_run(demo_class, out, scheduler=engine_cluster.address)
    killer.join(timeout=30)
    assert killed.is_set(), "the worker was not killed mid-run"
    same_outputs(out, expected)
    keys = [(r["student_id"], r["assignment"]) for r in summary.records]
    assert len(keys) == len(set(keys)) == 12 and summary.graded == 11
    assert len(list(out.glob("records/*/*.json"))) == 12   # each journaled once


def _descendants(pid):
    """``pid`` and the pids of its descendants (a nanny's worker process)."""
    found, frontier = {pid}, [pid]
    while frontier:
        children = Path(f"/proc/{frontier.pop()}/task")
        for task in children.glob("*/children") if children.exists() else ():
            for child in task.read_text().split():
                found.add(int(child))
                frontier.append(int(child))
    return found
