"""Coordinator: collect -> grade in a process pool -> record each result as it arrives -> report.

The workers only grade (``autograder.engine.job.grade``: a submission in, a results record
out, ``autograder.run.pool``); this process alone records (``autograder.record``: the gradebook,
``autograded/``, the feedback, the journal ``OUT/records/``) and reports (``autograder.report``:
the CSVs and the class report). Every record is written as soon as it arrives, so an
interrupted run keeps each finished grade; the next run skips the submissions whose files (and
release, source notebooks and settings) have not changed and grades the rest.
"""
import functools
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder import GraderError
from autograder.intake import collect
from autograder.run import lifecycle, pool
from autograder.coursedir import ROOT, CourseDir
from autograder.record import results
from autograder.record.gradebook import CourseGradebook
from autograder.record.journal import Journal, write_atomic
from autograder.record.recorder import Recorder, fault
from autograder.report import class_report, tables

__all__ = ["GraderError", "Interrupted", "Summary", "run"]


#: What a human must do about a submission the grader itself failed on.
GRADER_FAULT = ("a fault of the grader, not of the submission: it scores 0 and is flagged in "
                "the gradebook as needing grading by hand until a run grades it (the next "
                "autograde run tries again); grade it by hand in the formgrader and report "
                "the fault with this submission")


class Interrupted(GraderError):
    """The run was stopped (Ctrl-C); every grade recorded so far is kept."""


@dataclass
class Summary:
    """What a run did: every record of this batch, the inputs ignored, and the time spent."""
    records: list = field(default_factory=list)
    ignored: collect.Ignored = field(default_factory=collect.Ignored)
    graded: int = 0          # submissions graded by this run
    skipped: int = 0         # unchanged submissions already graded by an earlier run
    seconds: dict = field(default_factory=dict)


def run(submissions, out, *, course_root=ROOT, assignments=None, students=None, force=False,
        workers=None, cell_timeout=30.0, db_url=None, grade=None, warm_up=None, progress=True,
        isolation="auto", scheduler=None):
    """Grade the folder or .zip ``submissions`` into ``out`` and the gradebook; a ``Summary``.

    ``students`` and ``assignments`` limit the run to these student ids and assignments (every
    other submission's grades stay as they are, and its rows in the CSVs and the report stay
    byte for byte); ``force`` regrades submissions that did not change
    (a hand grade of a written answer that did not change is kept either way).
    ``grade``/``warm_up`` default to the engine's (``autograder.engine.job``, its sandbox in
    the ``isolation`` layer); tests inject others.
    ``scheduler``: the address of a Dask scheduler to grade on (``autograder.run.cluster``, a
    sibling of ``autograder.run.pool``) instead of the local pool of ``workers`` processes.
    Raises ``GraderError`` when the grader cannot run, ``Interrupted`` on Ctrl-C.
    """
    started = time.perf_counter()
    if not scheduler:
        lifecycle.start_forkserver(grade.__module__ if grade else "autograder.run.preload")
    from autograder.engine import job as engine   # torch: seconds, while the forkserver imports it
    course, out = CourseDir(Path(course_root).resolve()), Path(out)
    if grade is None:
        grade, warm_up = engine.grade, functools.partial(engine.warm_up, isolation)
    selected = _released(course, assignments)
    _check_writable(out)
    journal = Journal.of_grading(out, course, cell_timeout)
    summary = Summary()
    with tempfile.TemporaryDirectory(prefix="unpacked-", dir=lifecycle.scratch()) as scratch:
        try:
            folder, refused = collect.unpack(submissions, scratch, summary.ignored)
        except collect.SubmissionsError as error:
            raise GraderError(str(error)) from None
        batch = _only(collect.collect(folder, selected, only=assignments, refused=refused,
                                      ignored=summary.ignored,
                                      instructor=[course.root / "source", ROOT / "autograder"],
                                      scratch=scratch),
                      students)
        missing = [_error_record(course, found) for found in batch.missing]
        keys = {found: journal.key(found.assignment, found.folder)
                for found in batch.gradable + batch.unusable}
        earlier = {found: None if force else
                   journal.lookup(found.student_id, found.assignment, key)
                   for found, key in keys.items()}
        pending = {engine.Job(student_id=found.student_id, assignment=found.assignment,
                              submission=str(found.folder),
                              release=str(course.release(found.assignment)),
                              source=str(course.source(found.assignment)),
                              cell_timeout=cell_timeout): found
                   for found in batch.gradable if earlier[found] is None}
        workers = min(workers or os.cpu_count(), len(pending))
        # The workers warm up (import torch, start the sandbox) while the gradebook is set up.
        grading_pool = _grading_pool(scheduler, workers, grade, warm_up) if pending else None
        used = sorted({found.assignment for found in batch.gradable + batch.unusable})
        try:
            with Recorder(course, out, db_url, journal, used, submissions) as recorder:
                for found in batch.gradable:
                    if earlier[found] is not None:
                        summary.records.append(
                            recorder.replay(earlier[found], found.folder, keys[found]))
                        summary.skipped += 1
                for found in batch.unusable:
                    summary.records.append(
                        recorder.replay(earlier[found], found.folder, keys[found])
                        if earlier[found] else
                        recorder.record(_error_record(course, found), found.folder, keys[found]))
                summary.seconds["collect+setup"] = time.perf_counter() - started

                def on_result(job, record):
                    found = pending[job]
                    results.add_flag(record, found.flag)
                    summary.records.append(recorder.record(record, found.folder, keys[found]))
                    graded()

                def on_failure(job, reason):
                    # Recorded without a grade and journaled under no key: a retry now does
                    # not help (a worker that died did so again grading it alone, pool.py; an
                    # exception is a bug of the grader), the next run grades it again.
                    record = results.error_record(
                        job.student_id, job.assignment, f"{reason}: {GRADER_FAULT}",
                        job.release, results.GRADER_FAULT)
                    summary.records.append(recorder.record(record, pending[job].folder, None))
                    graded()

                def graded():
                    summary.graded += 1
                    if summary.graded == 1:   # the workers' start-up, as far as it shows
                        summary.seconds["first result"] = time.perf_counter() - grading

                grading = time.perf_counter()
                try:
                    if grading_pool is not None:
                        grading_pool.grade_all(list(pending), on_result, on_failure, progress)
                except KeyboardInterrupt:
                    write_outputs(out, _whole_class(summary.records + missing, journal,
                                                    students, assignments),
                                  summary.ignored, course.root / "release")
                    raise Interrupted(
                        f"interrupted: {summary.graded} of {len(pending)} submissions graded "
                        "and recorded this run; run the same command again to grade the "
                        "rest") from None
                summary.seconds["grade+record"] = time.perf_counter() - grading
                summary.seconds.update({f"record: {k}": v for k, v in recorder.seconds.items()})
        finally:
            if grading_pool is not None:
                grading_pool.close()
    summary.records += missing
    writing = time.perf_counter()
    with CourseGradebook(course.root, db_url) as book:
        formgrader = book.formgrader_averages()
    write_outputs(out, _whole_class(summary.records, journal, students, assignments),
                  summary.ignored, course.root / "release", formgrader)
    summary.seconds["csv+report"] = time.perf_counter() - writing
    summary.seconds["total"] = time.perf_counter() - started
    summary.records.sort(key=results.key)
    return summary


def _whole_class(records, journal, students, assignments):
    """``records`` of this run, and for a run limited to some ``students`` or ``assignments``
    the journal's records of every other submission as they are (the CSVs and the report
    show the whole class; a regrade of some changes only their rows). A chapter not
    submitted shows only for the assignments asked for and those graded before."""
    if not students and not assignments:
        return records

    def chosen(record):
        return (not students or record["student_id"] in students) and (
            not assignments or record["assignment"] in assignments)

    earlier = [record for record in journal.records() if not chosen(record)]
    shown = {record["assignment"] for record in earlier} | set(assignments or ())
    kept = [record for record in records
            if not assignments or record["assignment"] in shown]
    keys = {results.key(record) for record in kept}
    return kept + [record for record in earlier if results.key(record) not in keys]


def _only(batch, students):
    """``batch`` with only the submissions of ``students`` to grade (None: everyone; the
    chapters not submitted stay everyone's); a student without a folder is an error naming them."""
    if not students:
        return batch
    there = sorted({found.student_id
                    for found in batch.gradable + batch.unusable + batch.missing})
    unknown = sorted(set(students) - set(there))
    if unknown:
        raise GraderError(f"no submissions of {', '.join(unknown)} in SUBMISSIONS "
                          f"(students there: {', '.join(there) or 'none'})")
    batch.gradable = [found for found in batch.gradable if found.student_id in students]
    batch.unusable = [found for found in batch.unusable if found.student_id in students]
    return batch


def _grading_pool(scheduler, workers, grade, warm_up):
    """The pool that grades (``grade_all``, ``close``): on the Dask cluster at ``scheduler``
    (``autograder.run.cluster``), else ``workers`` local processes (``autograder.run.pool``); the
    pure work on each record is the worker's (``feedback.finish``)."""
    if scheduler:
        from autograder.run.cluster import DaskPool
        return DaskPool(scheduler, grade, warm_up)
    return pool.LocalPool(workers, grade, warm_up)


def _error_record(course, found):
    """The error record of a submission ``collect`` found unusable or missing."""
    record = results.error_record(
        found.student_id, found.assignment, found.reason, course.release(found.assignment),
        results.UNUSABLE if found.submitted else results.NOT_SUBMITTED)
    record["flags"] += [found.flag] if found.flag else []
    return record


def _check_writable(out):
    """Make ``out`` and check that a file can be written there (before grading anything)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".autograde-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise GraderError(fault(error, out, None)) from None


def _released(course, assignments):
    """``{assignment: [notebook stems]}`` released in the course; checks what was asked for."""
    released = course.released()
    if not released:
        raise GraderError(
            f"no release found in {course.root / 'release'}: release the assignments first "
            "(`python -m autograder.author` or `nbgrader generate_assignment <assignment>`), "
            "or point --course at the course directory")
    unknown = [a for a in assignments or () if a not in released]
    if unknown:
        raise GraderError(f"not released: {', '.join(unknown)} (released: {', '.join(released)})")
    for assignment in assignments or released:
        for stem in released[assignment]:
            if not (course.source(assignment) / f"{stem}.ipynb").exists():
                raise GraderError(
                    f"source/{assignment}/{stem}.ipynb is missing: the hidden tests live there; "
                    f"build it with `python -m autograder.author {assignment}`")
    return released


def write_outputs(out, records, ignored, release_root=None, formgrader=None):
    """``OUT/grades.csv``, ``OUT/cells.csv`` and the class report ``OUT/report.html``
    (``release_root``: the course's ``release/``, for the similarity section; ``formgrader``:
    the gradebook's ``formgrader_averages``, shown beside the report's own means)."""
    try:
        tables.write_tables(out, records)
        write_atomic(out / "report.html", class_report.html(
            records, ignored.lines(first=20), release_root, formgrader))
    except OSError as error:
        raise GraderError(fault(error, out, None)) from None
