"""Record: each results record written as it arrives, to the gradebook, ``autograded/``, the
students' feedback pages and, last, the journal (so a journal entry means fully recorded).

The records come ``finish``ed by the worker (``autograder.record.feedback``): their grades,
feedback pages and notebook files are made; this process only writes them. Records are saved
in one gradebook transaction per ``BATCH`` records or ``BATCH_SECONDS``, committed, and only
then journaled: when the batch is full, at the end, and on any interruption. A run stopped in
any way keeps every record it journaled, and the next run grades again only what was not.
"""
import contextlib
import time
from pathlib import Path

from autograder import GraderError
from autograder.record.gradebook import CourseGradebook
from autograder.record.journal import write_atomic


class Recorder:
    """Writes each record: gradebook, ``autograded/``, feedback, and the journal last.
    Opening it makes sure the gradebook knows the ``assignments`` to be graded."""
    BATCH, BATCH_SECONDS = 200, 1.0

    def __init__(self, course, out, db_url, journal, assignments):
        self.course, self.out, self.journal = course, out, journal
        self.gradebook = CourseGradebook(course.root, db_url)
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

    def replay(self, record, submission, key):
        """An earlier run's record: written again if the gradebook lacks it (a new ``--db``)."""
        if (record["student_id"], record["assignment"]) not in self.recorded:
            self.record(record, submission, key)
        return record

    def record(self, record, submission, key):
        """Write ``record`` of the ``submission`` folder everywhere, the journal (under ``key``,
        see ``Journal.key``) last; returns it without its pages and notebook files (what the
        CSVs and the report need)."""
        student, assignment = record["student_id"], record["assignment"]
        started = time.perf_counter()
        if not self.pending:
            self.batch.enter_context(self.gradebook.transaction())
            self.opened = time.monotonic()
        timestamp = Path(submission, "timestamp.txt")
        self.gradebook.save(record, timestamp.read_text().strip() if timestamp.exists() else None)
        self.pending.append((record, key))
        self.seconds["gradebook"] += time.perf_counter() - started
        started = time.perf_counter()
        for notebook in record["notebooks"]:
            page, text = notebook.pop("feedback_html", None), notebook.pop("autograded_ipynb", None)
            if page is not None:
                write_atomic(self.out / "feedback" / student / assignment
                             / f"{notebook['name']}.html", page)
                write_atomic(self.course.autograded(student, assignment)
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
            for record, key in self.pending:
                self.journal.write(record, key)
            self.pending = []
