"""Record: each results record written as it arrives, to the gradebook (with the course's late
penalty, ``late.py``), the autograded notebooks, the students' feedback pages and, last, the
journal (so a journal entry means fully recorded).

The records come ``finish``ed by the worker (``autograder.record.feedback``): their grades,
feedback pages and notebook files are made; this process only writes them, making a page
again from the gradebook only where it knows more than the worker did (hand grades from an
earlier grading, a late penalty). Records are saved in one gradebook transaction per ``BATCH``
records or ``BATCH_SECONDS``, committed, and only then journaled: when the batch is full, at the end, and on any interruption. A run stopped in
any way keeps every record it journaled, and the next run grades again only what was not.

A fault while recording (OUT read-only or full, the gradebook locked or damaged) stops the run
with a ``GraderError`` that says what happened and what to do; what was recorded stays, and
running the same command again completes the batch.
"""
import contextlib
import errno
import os
import time
from pathlib import Path

import nbformat
from nbgrader.api import InvalidEntry
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from autograder import GraderError
from autograder.intake.collect import NBGRADER_FILES
from autograder.intake import reader
from autograder.record import feedback, late
from autograder.record.gradebook import CourseGradebook
from autograder.record.journal import write_atomic


class Recorder:
    """Writes each record: gradebook, ``autograded/``, feedback, and the journal last.
    Opening it makes sure the gradebook knows the ``assignments`` to be graded."""
    BATCH, BATCH_SECONDS = 200, 1.0

    def __init__(self, course, out, db_url, journal, assignments, submissions):
        self.course, self.out, self.journal = course, out, journal
        self.gradebook = CourseGradebook(course.root, db_url)
        self.autograded = self.gradebook.autograded_folder(out, submissions)
        try:
            self.gradebook.connection
        except Exception as error:  # a bad URL, a driver that is not installed, a server down
            raise GraderError(f"cannot open the gradebook {self.gradebook.db_url}: "
                              f"{type(error).__name__}: {error}") from None
        for assignment in assignments:
            try:
                self.gradebook.prepare(assignment, course.source(assignment))
            except RuntimeError as error:
                raise GraderError(f"cannot update {assignment} in the gradebook: {error}") from None
        try:
            self.late_policy = late.course_policy(self.gradebook.config, course.root)
        except late.LateError as error:
            raise GraderError(str(error)) from None
        self.seconds = {"gradebook": 0.0, "files": 0.0}
        self.batch, self.pending, self.opened = contextlib.ExitStack(), [], 0.0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.flush()
        finally:
            self.gradebook.close()

    def replay(self, record, submission, key):
        """An earlier run's record: written again if the gradebook lacks it (a new ``--db``)."""
        if (record["student_id"], record["assignment"]) not in self.gradebook.submitted():
            self.record(record, submission, key)
        return record

    def record(self, record, submission, key):
        """Write ``record`` of the ``submission`` folder everywhere, the journal (under ``key``,
        see ``Journal.key``; None: the next run grades it again) last; returns it without its pages and notebook files (what the
        CSVs and the report need). A fault raises ``GraderError`` (see the module)."""
        try:
            self._record(record, submission, key)
        except (OSError, SQLAlchemyError, InvalidEntry) as error:
            self._abandon(error)
            raise GraderError(fault(error, self.out, self.gradebook.db_url)) from None
        return record

    def _record(self, record, submission, key):
        student, assignment = record["student_id"], record["assignment"]
        started = time.perf_counter()
        if not self.pending:
            self.batch.enter_context(self.gradebook.transaction())
            self.opened = time.monotonic()
        self.pending.append((record, key))
        given = _nbgrader_files(submission)
        timestamp = given.get("timestamp.txt", "").strip() or None
        by_hand, created = self.gradebook.save(record, timestamp,
                                               before=self.journal.previous(student, assignment))
        policy, extensions = self.late_policy
        if created and self.gradebook.duedate(assignment) is None and (
                (student, assignment) not in extensions):
            late_seconds = 0   # nothing to record: neither a due date nor an extension
        else:
            late_seconds = late.assign(self.gradebook.connection, assignment, student, policy,
                                       extensions)
        self.seconds["gradebook"] += time.perf_counter() - started
        started = time.perf_counter()
        autograded = self.autograded / student / assignment
        pages = self.out / "feedback" / student / assignment
        written = False
        for notebook in record["notebooks"]:
            page, text = notebook.pop("feedback_html", None), notebook.pop("autograded_ipynb", None)
            name = notebook["name"]
            if page is not None and (name in by_hand or late_seconds > 0):
                page = self._page_again(student, assignment, name, text)
            if page is not None:
                write_atomic(pages / f"{name}.html", page)
                write_atomic(autograded / f"{name}.ipynb", text)
                written = True
            else:   # not graded: nothing of an earlier submission is left to pass for it
                (pages / f"{name}.html").unlink(missing_ok=True)
                (autograded / f"{name}.ipynb").unlink(missing_ok=True)
        for folder in (autograded, pages):   # as nbgrader's autograde and generate_feedback
            for name in NBGRADER_FILES:
                if written and name in given:
                    write_atomic(folder / name, given[name])
                else:
                    (folder / name).unlink(missing_ok=True)
        self.seconds["files"] += time.perf_counter() - started
        if len(self.pending) >= self.BATCH or time.monotonic() - self.opened > self.BATCH_SECONDS:
            self.flush()

    def _page_again(self, student, assignment, name, text):
        """The feedback page of notebook ``name`` (``text``: the autograded notebook) made
        from the gradebook's grades (``CourseGradebook.grades``)."""
        return feedback.html(nbformat.reads(text, as_version=4),
                             self.gradebook.grades(student, assignment, name),
                             student=student, assignment=assignment, notebook=name)

    def flush(self):
        """Commit the open transaction, then journal its records."""
        if self.pending:
            started = time.perf_counter()
            try:
                self.batch.close()
            except (OSError, SQLAlchemyError, InvalidEntry) as error:
                self.pending = []
                with contextlib.suppress(Exception):
                    self.gradebook.connection.db.rollback()
                raise GraderError(fault(error, self.out, self.gradebook.db_url)) from None
            self.seconds["gradebook"] += time.perf_counter() - started
            for record, key in self.pending:
                self.journal.write(record, key)
            self.pending = []

    def _abandon(self, error):
        """Roll the open transaction back after the fault ``error``: its records are not
        journaled, so the next run grades them again."""
        self.pending = []
        with contextlib.suppress(Exception):
            self.batch.__exit__(type(error), error, error.__traceback__)
        self.batch = contextlib.ExitStack()


def _nbgrader_files(submission):
    """``{name: text}`` of the files nbgrader's ``submit`` and ``collect`` put next to the
    notebooks of the ``submission`` folder (``collect.NBGRADER_FILES``: ``timestamp.txt``,
    ``submission_secret.txt``) that are there. ``autograded/<student>/<assignment>/`` and the
    feedback folder get copies, as nbgrader's ``autograde`` and ``generate_feedback`` copy
    them: ``generate_feedback`` compares the timestamps to make a resubmission's page again,
    ``release_feedback`` files each page under its submission's secret."""
    if submission is None or os.path.islink(submission):
        return {}
    found = {}
    for name in NBGRADER_FILES:
        try:
            found[name] = reader.read_bytes(Path(submission, name), 1024).decode()
        except (reader.Unreadable, UnicodeDecodeError):
            continue
    return found


AGAIN = "every grade recorded so far is kept; run the same command again to grade the rest"


def fault(error, out, db_url):
    """One line for the instructor on a failed write (``error``, an ``OSError`` writing to
    ``out`` or an SQLAlchemy error of the gradebook ``db_url``, maybe wrapped by nbgrader):
    what happened, what to do."""
    if isinstance(error, OSError):
        where = error.filename or out
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            return f"{out} is full ({error.strerror}, writing {where}): free some space; {AGAIN}"
        return (f"cannot write to {where}: {error.strerror}: make {out} writable or choose "
                f"another --out; {AGAIN}")
    if isinstance(error, InvalidEntry):   # nbgrader re-raises the database's error as this
        error = error.__cause__ or error.__context__ or error
    detail = str(error.orig if isinstance(error, DBAPIError) else error).splitlines()[0]
    if "locked" in detail:
        return (f"the gradebook {db_url} is locked by another program ({detail}): close the "
                f"formgrader or the other nbgrader or autograde using it; {AGAIN}")
    if "not a database" in detail or "malformed" in detail:
        return (f"the gradebook {db_url} is damaged ({detail}): restore it from a backup, or "
                "move it away to start a new one; every grade is also in OUT/records/ and "
                "goes into the new gradebook without grading again")
    return f"the gradebook {db_url} failed ({type(error).__name__}: {detail}); {AGAIN}"
