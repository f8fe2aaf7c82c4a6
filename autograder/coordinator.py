"""Coordinator: collect -> grade in a process pool -> record each result as it arrives -> report.

The workers only grade (``autograder.job.grade``: a submission in, a results record out); this
process alone writes the gradebook, ``autograded/``, the feedback, the CSVs and the report.
Every record is written as soon as it arrives and journaled in ``OUT/records/``, so an
interrupted run keeps each finished grade; the next run skips the submissions whose files (and
release, source notebooks and settings) have not changed and grades the rest.
"""
import contextlib
import csv
import functools
import hashlib
import json
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from autograder import collect, feedback, report
from autograder.course import ROOT
from autograder.gradebook import CourseGradebook

GRADES_COLUMNS = ["student_id", "assignment", "score", "max_score", "status", "reason"]
CELLS_COLUMNS = ["student_id", "assignment", "notebook", "grade_id", "points", "max_points",
                 "status", "message"]


class GraderError(RuntimeError):
    """The grader itself cannot run (no release, a bad argument, no gradebook); says what to do."""


class Interrupted(GraderError):
    """The run was stopped (Ctrl-C); every grade recorded so far is kept."""


@dataclass
class Summary:
    """What a run did: every record of this batch, the input problems, and the time spent."""
    records: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    graded: int = 0          # submissions graded by this run
    skipped: int = 0         # unchanged submissions already graded by an earlier run
    seconds: dict = field(default_factory=dict)


def run(submissions, out, *, course_root=ROOT, assignments=None, workers=None,
        cell_timeout=30.0, db_url=None, grade=None, warm_up=None, progress=True, scheduler=None):
    """Grade the folder or .zip ``submissions`` into ``out`` and the gradebook; a ``Summary``.

    ``grade``/``warm_up`` default to the engine's (``autograder.job``); tests inject others.
    ``scheduler``: the address of a Dask scheduler to grade on (``autograder.cluster``) instead
    of the local pool of ``workers`` processes.
    Raises ``GraderError`` when the grader cannot run, ``Interrupted`` on Ctrl-C.
    """
    started = time.perf_counter()
    _start_forkserver(grade.__module__ if grade else "autograder.job")
    from autograder import job as engine   # torch: a few seconds, while the forkserver imports it
    course_root, out = Path(course_root).resolve(), Path(out)
    if grade is None:
        grade, warm_up = engine.grade, engine.warm_up
    selected = _released(course_root, assignments)
    out.mkdir(parents=True, exist_ok=True)
    journal = Journal(out, course_root, {"cell_timeout": cell_timeout, "journal": 2})
    summary = Summary()
    with tempfile.TemporaryDirectory(prefix="autograde-") as scratch:
        try:
            folder = collect.unpack(submissions, scratch)
        except collect.SubmissionsError as error:
            raise GraderError(str(error)) from None

        def make_job(student_id, assignment, submission):
            return engine.Job(student_id=student_id, assignment=assignment,
                              submission=str(submission),
                              release=str(course_root / "release" / assignment),
                              source=str(course_root / "source" / assignment),
                              cell_timeout=cell_timeout)

        batch = collect.collect(folder, selected, make_job,
                                lambda assignment: course_root / "release" / assignment,
                                only=assignments)
        summary.problems = batch.problems
        earlier = {job: journal.lookup(job.student_id, job.assignment, job.submission)
                   for job in batch.jobs}
        pending = [job for job, record in earlier.items() if record is None]
        workers = min(workers or os.cpu_count(), len(pending))
        # The workers warm up (import torch, start the sandbox) while the gradebook is set up.
        if scheduler and pending:
            from autograder.cluster import DaskPool
            pool = DaskPool(scheduler, grade, warm_up)
        else:
            pool = _Pool(workers, warm_up) if pending else None
        used = {job.assignment for job in batch.jobs} | {r["assignment"] for r, _ in batch.unusable}
        try:
            with Recorder(course_root, out, db_url, journal, sorted(used)) as recorder:
                for job, record in earlier.items():
                    if record is not None:
                        summary.records.append(recorder.replay(record, job.submission))
                        summary.skipped += 1
                for record, submission in batch.unusable:
                    known = journal.lookup(record["student_id"], record["assignment"], submission)
                    summary.records.append(recorder.replay(known, submission) if known
                                           else recorder.record(record, submission))
                summary.seconds["collect+setup"] = time.perf_counter() - started

                def on_result(job, record):
                    summary.records.append(recorder.record(record, job.submission))
                    summary.graded += 1

                grading = time.perf_counter()
                try:
                    if scheduler:
                        with _bar(len(pending), progress) as bar:
                            pool.grade_all(pending, on_result, bar)
                    else:
                        _grade_all(pending, pool, workers, functools.partial(
                            feedback.grade_and_finish, grade), warm_up, on_result, progress)
                except KeyboardInterrupt:
                    write_outputs(out, summary.records + batch.missing, summary.problems)
                    raise Interrupted(
                        f"interrupted: {summary.graded} of {len(pending)} submissions graded "
                        "and recorded this run; run the same command again to grade the "
                        "rest") from None
                summary.seconds["grade+record"] = time.perf_counter() - grading
                summary.seconds.update({f"record: {k}": v for k, v in recorder.seconds.items()})
        finally:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
    summary.records += batch.missing
    writing = time.perf_counter()
    write_outputs(out, summary.records, summary.problems)
    summary.seconds["csv+report"] = time.perf_counter() - writing
    summary.seconds["total"] = time.perf_counter() - started
    summary.records.sort(key=_order)
    return summary


def _released(course_root, assignments):
    """``{assignment: [notebook stems]}`` released in the course; checks what was asked for."""
    released = collect.released(course_root)
    if not released:
        raise GraderError(
            f"no release found in {course_root / 'release'}: release the assignments first "
            "(`python -m autograder.authoring` or `nbgrader generate_assignment <assignment>`), "
            "or point --course at the course directory")
    unknown = [a for a in assignments or () if a not in released]
    if unknown:
        raise GraderError(f"not released: {', '.join(unknown)} (released: {', '.join(released)})")
    for assignment in assignments or released:
        for stem in released[assignment]:
            if not (course_root / "source" / assignment / f"{stem}.ipynb").exists():
                raise GraderError(
                    f"source/{assignment}/{stem}.ipynb is missing: the hidden tests live there; "
                    f"build it with `python -m autograder.authoring {assignment}`")
    return released


def _grade_all(jobs, pool, workers, grade, warm_up, on_result, progress=True):
    """Grade ``jobs`` in ``pool`` (``workers`` processes), calling ``on_result(job, record)`` in
    this process as each record arrives. If a worker process dies, a new pool takes the
    unfinished jobs; the ones that may have killed it are graded again alone, so that only the
    culprit gets an error record."""
    bar = _bar(len(jobs), progress)
    strikes = dict.fromkeys(jobs, 0)
    try:
        remaining = list(jobs)
        while remaining:
            pool = pool or _Pool(workers, warm_up)
            unfinished, suspects = _pool_round(remaining, pool, grade, on_result, bar)
            pool = None
            for job in unfinished:
                strikes[job] += 1
            alone = [job for job in unfinished if job in suspects or strikes[job] > 1]
            remaining = [job for job in unfinished if job not in alone]
            for job in alone:
                if _pool_round([job], _Pool(1, warm_up), grade, on_result, bar)[0]:
                    on_result(job, _failure(job, "the grading process died on this submission"))
                    bar.update()
    finally:
        bar.close()


def _bar(total, progress):
    """The progress bar of a run: submissions graded, rate and time left."""
    return tqdm(total=total, unit="submission", desc="grading", disable=not progress or None)


def _start_forkserver(module):
    """Start the process that pool workers are forked from, importing the grader's ``module``
    once, in the background. Workers forked from it inherit neither this process's open
    gradebook connection and files nor its threads. (Once running, it is kept.)"""
    multiprocessing.get_context("forkserver").set_forkserver_preload([module])
    multiprocessing.forkserver.ensure_running()


class _Pool(ProcessPoolExecutor):
    """A pool of ``workers`` processes forked from the forkserver, started now: each runs
    ``warm_up`` in the background."""

    def __init__(self, workers, warm_up):
        super().__init__(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"),
                         initializer=_start_worker, initargs=(warm_up,))
        # A pool starts a worker per task submitted, up to max_workers.
        self.ready = [self.submit(_ready) for _ in range(workers)]

    def check_started(self):
        """Raise ``GraderError`` if no worker ever came up (``warm_up`` failed)."""
        if not any(f.done() and not f.cancelled() and f.exception() is None for f in self.ready):
            raise GraderError("the grading workers could not start (the error is above): "
                              "the grader cannot run on this machine as it is")


def _ready():
    """Nothing: the task that makes a pool start a worker."""


def _pool_round(jobs, pool, grade, on_result, bar):
    """Grade ``jobs`` in ``pool`` (shut down at the end). If a worker dies the pool breaks:
    returns the unfinished jobs and, of those, the ones that were running (may have killed it)."""
    with pool:
        try:
            try:
                futures = {pool.submit(grade, job): job for job in jobs}
            except BrokenProcessPool:   # broke before the jobs were in: all unfinished
                pool.check_started()
                return list(jobs), set()
            pending, broken, running = set(futures), [], set()
            while pending:
                running = {future for future in pending if future.running()}
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                # Record every result that arrived before acting on a Ctrl-C among them.
                for future in sorted(finished, key=_interrupted):
                    if isinstance(future.exception(), BrokenProcessPool):
                        broken.append(future)
                    else:
                        on_result(futures[future], _result(future, futures[future]))
                        bar.update()
            if broken:
                pool.check_started()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return [futures[f] for f in broken], {futures[f] for f in broken if f in running}


def _start_worker(warm_up):
    """Pool initializer: Ctrl-C is for the coordinator (which stops the pool: a worker finishes
    the submission at hand, its record is dropped); then the grader's own ``warm_up``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if warm_up is not None:
        warm_up()


def _interrupted(future):
    return isinstance(future.exception(), KeyboardInterrupt)


def _result(future, job):
    """The record of a finished future; a grader exception becomes an error record."""
    error = future.exception()
    if isinstance(error, KeyboardInterrupt):
        raise KeyboardInterrupt
    if error is not None:
        return _failure(job, f"the grader failed: {type(error).__name__}: {error}")
    return future.result()


def _failure(job, reason):
    """The error record of a job the grader itself failed on: reported, not recorded in the
    gradebook or the journal, so the next run tries again."""
    record = collect.error_record(job.student_id, job.assignment,
                                  f"{reason} (run again to retry)", job.release)
    record["retry"] = True
    return record


class Journal:
    """``OUT/records/<student>/<assignment>.json``: each recorded submission's record and the key
    of what it was graded from (see ``key``); written last, so an entry means fully recorded."""

    def __init__(self, out, course_root, settings):
        self.folder, self.course_root, self.settings = out / "records", course_root, settings
        self.assignment_digests = {}

    def key(self, assignment, submission):
        """What the grade depends on: the submission's files, the assignment's release and
        source notebooks (hidden tests) and the grading settings. (After a change to the grader
        itself, grade into a new OUT.)"""
        if assignment not in self.assignment_digests:
            self.assignment_digests[assignment] = _digest(
                self.course_root / "release" / assignment, self.course_root / "source" / assignment)
        return hashlib.sha256(json.dumps(
            [_digest(submission), self.assignment_digests[assignment], self.settings]
        ).encode()).hexdigest()

    def _path(self, student, assignment):
        return self.folder / student / f"{assignment}.json"

    def lookup(self, student, assignment, submission):
        """The record of an earlier run if this submission has not changed since, else None."""
        path = self._path(student, assignment)
        if not path.exists():
            return None
        entry = json.loads(path.read_text())
        return entry["record"] if entry["key"] == self.key(assignment, submission) else None

    def write(self, record, submission):
        student, assignment = record["student_id"], record["assignment"]
        _write(self._path(student, assignment),
               json.dumps({"key": self.key(assignment, submission), "record": record}))


class Recorder:
    """Writes each record: gradebook, ``autograded/``, feedback, and the journal last.
    Opening it makes sure the gradebook knows the ``assignments`` to be graded.

    Records are saved as they arrive, in one gradebook transaction per ``BATCH`` records or
    ``BATCH_SECONDS``; the transaction is committed, and only then are its records journaled,
    when it is full, at the end, and on any interruption: a run stopped in any way keeps
    every record it journaled, and the next one grades again only what was not."""
    BATCH, BATCH_SECONDS = 200, 1.0

    def __init__(self, course_root, out, db_url, journal, assignments):
        self.course_root, self.out, self.journal = course_root, out, journal
        self.gradebook = CourseGradebook(course_root, db_url)
        try:
            self.gradebook.connection
        except Exception as error:  # a bad URL, a driver that is not installed, a server down
            raise GraderError(f"cannot open the gradebook {self.gradebook.db_url}: "
                              f"{type(error).__name__}: {error}") from None
        for assignment in assignments:
            try:
                self.gradebook.prepare(assignment, course_root / "source" / assignment)
            except RuntimeError as error:
                raise GraderError(f"cannot update {assignment} in the gradebook: {error}") from None
        self.recorded = set(self.gradebook.submissions())
        self.seconds = {"gradebook": 0.0, "files": 0.0}
        self.batch, self.pending, self.opened = contextlib.ExitStack(), [], 0.0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.flush()
        finally:
            self.gradebook.close()

    def replay(self, record, submission):
        """An earlier run's record: written again if the gradebook lacks it (a new ``--db``)."""
        if (record["student_id"], record["assignment"]) not in self.recorded:
            self.record(record, submission)
        return record

    def record(self, record, submission):
        """Write ``record`` (``feedback.finish``ed) everywhere, the journal last; returns it
        without its pages and notebook files (what the CSVs and the report need)."""
        student, assignment = record["student_id"], record["assignment"]
        if record.get("retry"):   # the grader failed: nothing to record, try again next run
            return record
        started = time.perf_counter()
        if not self.pending:
            self.batch.enter_context(self.gradebook.transaction())
            self.opened = time.monotonic()
        timestamp = Path(submission, "timestamp.txt")
        self.gradebook.save(record, timestamp.read_text().strip() if timestamp.exists() else None)
        self.pending.append((record, submission))
        self.seconds["gradebook"] += time.perf_counter() - started
        started = time.perf_counter()
        for notebook in record["notebooks"]:
            page, text = notebook.pop("feedback_html", None), notebook.pop("autograded_ipynb", None)
            if page is not None:
                _write(self.out / "feedback" / student / assignment / f"{notebook['name']}.html",
                       page)
                _write(self.course_root / "autograded" / student / assignment
                       / f"{notebook['name']}.ipynb", text)
        self.seconds["files"] += time.perf_counter() - started
        if len(self.pending) >= self.BATCH or time.monotonic() - self.opened > self.BATCH_SECONDS:
            self.flush()
        return record

    def flush(self):
        """Commit the open transaction, then journal its records."""
        if self.pending:
            started = time.perf_counter()
            self.batch.close()
            self.seconds["gradebook"] += time.perf_counter() - started
            for record, submission in self.pending:
                self.journal.write(record, submission)
            self.pending = []


def _digest(*folders):
    """sha256 of every file under ``folders`` (names and contents)."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _write(path, text):
    """Write ``text`` to ``path`` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


def _order(record):
    return record["student_id"], record["assignment"]


def _number(value):
    return "" if value is None else f"{value:g}"


def grade_rows(records):
    """``grades.csv`` rows: one per student and assignment."""
    rows = []
    for record in sorted(records, key=_order):
        reason = record["reason"]
        manual = sum(c["max_points"] for nb in record["notebooks"] for c in nb["cells"]
                     if c["status"] == "manual")
        if manual:
            waiting = f"{_number(manual)} point{'s' if manual != 1 else ''} to grade by hand"
            reason = f"{reason}; {waiting}" if reason else waiting
        rows.append({"student_id": record["student_id"], "assignment": record["assignment"],
                     "score": _number(record["score"]), "max_score": _number(record["max_score"]),
                     "status": record["status"], "reason": reason})
    return rows


def cell_rows(records):
    """``cells.csv`` rows: one per graded cell of every notebook."""
    return [{"student_id": record["student_id"], "assignment": record["assignment"],
             "notebook": notebook["name"], "grade_id": cell["grade_id"],
             "points": _number(cell["points"]), "max_points": _number(cell["max_points"]),
             "status": cell["status"], "message": cell["message"]}
            for record in sorted(records, key=_order)
            for notebook in record["notebooks"] for cell in notebook["cells"]]


def write_outputs(out, records, problems):
    """``OUT/grades.csv``, ``OUT/cells.csv`` and the class report ``OUT/report.html``."""
    for name, columns, rows in (("grades.csv", GRADES_COLUMNS, grade_rows(records)),
                                ("cells.csv", CELLS_COLUMNS, cell_rows(records))):
        with open(out / f"{name}.partial", "w", newline="") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(out / f"{name}.partial", out / name)
    _write(out / "report.html", report.html(records, problems))
