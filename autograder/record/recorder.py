"""Record: each results record written as it arrives, to the gradebook, ``autograded/``, the
students' feedback pages and, last, the journal (so a journal entry means fully recorded)."""
import time
from pathlib import Path

import nbformat

from autograder import GraderError
from autograder.record.gradebook import CourseGradebook, notebook_node
from autograder.record.journal import write_atomic


class Recorder:
    """Writes each record: gradebook, ``autograded/``, feedback, and the journal last.
    Opening it makes sure the gradebook knows the ``assignments`` to be graded."""

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
        self.seconds = {"gradebook": 0.0, "feedback": 0.0, "files": 0.0}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.gradebook.close()

    def replay(self, record, submission, key):
        """An earlier run's record: written again if the gradebook lacks it (a new ``--db``)."""
        if (record["student_id"], record["assignment"]) not in self.recorded:
            self.record(record, submission, key)
        return record

    def record(self, record, submission, key):
        """Write ``record`` of the ``submission`` folder everywhere, the journal (under ``key``,
        see ``Journal.key``) last; returns it."""
        student, assignment = record["student_id"], record["assignment"]
        started = time.perf_counter()
        timestamp = Path(submission, "timestamp.txt")
        self.gradebook.save(record, timestamp.read_text().strip() if timestamp.exists() else None)
        self.seconds["gradebook"] += time.perf_counter() - started
        for notebook in record["notebooks"]:
            if not notebook.get("notebook"):
                continue
            started = time.perf_counter()
            html = self.gradebook.feedback_html(student, assignment, notebook["name"],
                                                notebook["notebook"])
            self.seconds["feedback"] += time.perf_counter() - started
            started = time.perf_counter()
            write_atomic(self.out / "feedback" / student / assignment / f"{notebook['name']}.html",
                         html)
            write_atomic(self.course.autograded(student, assignment) / f"{notebook['name']}.ipynb",
                         nbformat.writes(notebook_node(notebook["notebook"])))
            self.seconds["files"] += time.perf_counter() - started
        self.journal.write(record, key)
        return record
