"""Faults during a run end in a message that says what happened and what to do; every grade
recorded before the fault is kept, and running the same command again completes the batch
with the grades a clean run gives. (Grading with ``fake_grade``: the faults are the point.)

The output folder is a tmpfs mounted for the test (read-only, or too small): root only."""
import os
import shutil
import sqlite3
import subprocess
import threading
import time
from contextlib import contextmanager

import pytest

from autograder.run.coordinator import GraderError, run
from autograder.record.recorder import Recorder
from tests.test_coordinator import (course, gradebook, grade, grades, klass,  # noqa: F401
                                    slow_fake_grade)

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")

pytestmark = pytest.mark.slow  # grades a class: run by make test, not make test-quick


@contextmanager
def tmpfs(path, size):
    """A tmpfs of ``size`` (mount's syntax: '8m') mounted at ``path`` for the block."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def remount(path, options):
    subprocess.run(["mount", "-o", f"remount,{options}", str(path)], check=True)


def one_line(error):
    text = str(error.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def same_as_clean(klass, course, tmp_path, out):
    """``out`` (and its gradebook) hold what a clean run of ``klass`` gives."""
    clean = tmp_path / "clean"
    if not (clean / "grades.csv").exists():
        grade(klass, course, clean)
    assert grades(out) == grades(clean)
    assert gradebook(course, out) == gradebook(course, clean)


@needs_root
def test_a_read_only_out_says_so_before_grading_and_the_rerun_completes(klass, course, tmp_path):
    with tmpfs(tmp_path / "out", "64m") as out:
        remount(out, "ro")
        with pytest.raises(GraderError) as error:
            grade(klass, course, out)
        message = one_line(error)
        assert f"cannot write to {out}" in message and "Read-only file system" in message
        assert "run the same command again" in message
        assert gradebook(course, out) == {}
        remount(out, "rw")
        again = grade(klass, course, out)
        assert again.graded == 6
        same_as_clean(klass, course, tmp_path, out)


@needs_root
def test_a_full_out_keeps_what_was_recorded_and_the_rerun_completes(klass, course, tmp_path,
                                                                    monkeypatch):
    # one record per transaction: what is committed before the disk fills does not depend on
    # how fast the records arrive (a batch still open at the fault is rolled back, by design)
    monkeypatch.setattr(Recorder, "BATCH", 1)
    grade(klass, course, tmp_path / "clean")
    used = sum(p.stat().st_size for p in (tmp_path / "clean").rglob("*") if p.is_file())
    with tmpfs(tmp_path / "out", f"{used // 2 // 1024}k") as out:
        with pytest.raises(GraderError) as error:
            grade(klass, course, out, workers=1)
        message = one_line(error)
        assert f"{out} is full" in message and "free some space" in message
        kept = gradebook(course, out)
        assert 0 < len(kept) < 8
        assert all(gradebook(course, tmp_path / "clean")[key] == value
                   for key, value in kept.items())
        remount(out, f"size={4 * used // 1024}k")
        grade(klass, course, out)
        assert not list(out.rglob("*.partial"))
        same_as_clean(klass, course, tmp_path, out)


def grade_slowly(klass, course, out):
    """``grade`` with one worker that takes its time, so that a fault can strike mid-run."""
    if not os.path.exists(f"{out}.db"):
        shutil.copy(course / "template.db", f"{out}.db")
    return run(klass, out, course_root=course, grade=slow_fake_grade, progress=False, workers=1,
               db_url=f"sqlite:///{out}.db")


def after_records(out, count, action):
    """Run ``action()`` in a thread once ``count`` gradings are journaled in ``out`` (dee's and
    eve's unusable submissions are recorded before any grading)."""
    def graded():
        return [p for p in out.glob("records/*/*.json") if p.parent.name in ("ada", "bob", "cy")]

    def wait_then_act():
        deadline = time.monotonic() + 120
        while len(graded()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        action()
    thread = threading.Thread(target=wait_then_act, daemon=True)
    thread.start()
    return thread


def test_a_gradebook_locked_mid_run_says_so_and_the_rerun_completes(klass, course, tmp_path):
    out = tmp_path / "out"
    shutil.copy(course / "template.db", f"{out}.db")
    locker = sqlite3.connect(f"{out}.db", isolation_level=None, check_same_thread=False)
    thread = after_records(out, 2, lambda: locker.execute("BEGIN EXCLUSIVE"))
    with pytest.raises(GraderError) as error:
        grade_slowly(klass, course, out)
    thread.join()
    message = one_line(error)
    assert "gradebook" in message and "is locked by another program" in message
    assert "run the same command again" in message
    locker.execute("ROLLBACK")
    locker.close()
    assert len(gradebook(course, out)) >= 4       # dee's, eve's and two gradings
    grade(klass, course, out)
    same_as_clean(klass, course, tmp_path, out)


def test_a_gradebook_damaged_mid_run_says_what_to_do(klass, course, tmp_path):
    out = tmp_path / "out"
    shutil.copy(course / "template.db", f"{out}.db")

    def damage():
        with open(f"{out}.db", "wb") as handle:
            handle.write(b"this is no longer a database" * 4096)
    thread = after_records(out, 1, damage)
    with pytest.raises(GraderError) as error:
        grade_slowly(klass, course, out)
    thread.join()
    message = one_line(error)
    assert "is damaged" in message and "OUT/records" in message
    os.remove(f"{out}.db")              # what the message says to do: start a new gradebook
    again = grade(klass, course, out)
    assert again.skipped >= 1           # recorded again from the journal, not regraded
    same_as_clean(klass, course, tmp_path, out)
