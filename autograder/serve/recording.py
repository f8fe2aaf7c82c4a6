"""The grading service's bookkeeping, run in its one recorder thread: the gradebook, the
policies and deadlines, the record of each graded submission (the batch's recorder), the
verdicts written to the queue, the recovery after a kill, the CSVs and the class report.

Exactly once: a submission leaves the queue only when its verdict is written, after it was
recorded. A service killed in between finds, when it starts again, the journal entry of the
submission's own files (``Journal.lookup``: the key digests them, timestamp included) and
writes the verdict from it without grading again; one killed before recording grades it
again (grading writes nothing).
"""
import copy
import logging
import shutil
import time
from dataclasses import replace

from autograder import GraderError
from autograder.intake.names import Ignored
from autograder.record import results
from autograder.serve.policy import PolicyError, policies
from autograder.serve.queue import DONE, FAILED

log = logging.getLogger("autograde.serve")
REPORT_SECONDS = 60.0        # in a rush, the CSVs and the class report rewritten this often
IDLE_REPORT_SECONDS = 5.0    # and when the queue is empty, at most this often


class Recording:
    """The recorder of one course (``autograder.record.recorder``: the gradebook,
    ``autograded/``, ``OUT/feedback``, the journal ``OUT/records``) and the ``queue``'s
    verdicts. Every method but ``__init__`` runs in the recorder thread."""

    def __init__(self, course, released, out, db_url, journal, queue):
        self.course, self.released, self.out, self.db_url = course, released, out, db_url
        self.journal, self.queue = journal, queue
        self.recorder, self.policies = None, {}
        self.dirty, self.reported = False, 0.0

    def open(self):
        """The recorder, the policies and the deadlines (opened again if open)."""
        from autograder.record.recorder import Recorder
        if self.recorder is not None:
            self.recorder.__exit__(None, None, None)
        self.recorder = Recorder(self.course, self.out, self.db_url, self.journal,
                                 sorted(self.released), self.course.root / "submitted")
        try:
            found = policies(self.recorder.gradebook.config, sorted(self.released))
        except PolicyError as error:
            raise GraderError(str(error)) from None
        self.policies = {a: p if p.deadline else
                         replace(p, deadline=self.recorder.gradebook.duedate(a))
                         for a, p in found.items()}

    def close(self):
        """The CSVs and the report written, the gradebook closed."""
        if self.recorder is not None:
            self.report(idle=True, force=True)
            self.recorder.__exit__(None, None, None)
            self.recorder = None

    def record(self, row, record, failure):
        """Record a graded ``row`` (``record``; or its grader ``failure``), then write its
        verdict: the queue's row last."""
        try:
            self._record_one(row, record, failure)
        except Exception as error:  # noqa: BLE001 (say so to the student; the service goes on)
            log.exception("%s/%s #%d could not be recorded", row["student"], row["assignment"],
                          row["id"])
            self.queue.finish(row["id"], FAILED, {
                "status": results.ERROR, "reason": f"it could not be recorded ({error}); this "
                "did not use an attempt: submit again later"})

    def _record_one(self, row, record, failure):
        if failure is not None:
            log.error("%s/%s #%d: %s", row["student"], row["assignment"], row["id"], failure)
            self.queue.finish(row["id"], FAILED, {
                "status": results.ERROR, "reason": f"{failure}: this did not use an attempt; "
                "submit again, and tell your instructor if it happens again"})
            return
        started = time.perf_counter()
        policy = self.policies[row["assignment"]]
        counted = not (row["late"] and policy.after_deadline == "feedback") and \
            self.queue.counts(row, record["score"], policy)
        view = verdict(record, policy)
        if counted:
            self._record_counted(row, record)
        self.queue.finish(row["id"], DONE, view, counted, record["score"], record["max_score"])
        log.info("%s/%s #%d: %s %g/%g%s (graded in %.2f s, recorded in %.2f s)", row["student"],
                 row["assignment"], row["id"], record["status"], record["score"],
                 record["max_score"], " (counted)" if counted else "",
                 record["timings"].get("total", 0), time.perf_counter() - started)

    def _record_counted(self, row, record):
        """Put the submission in ``submitted/`` and record it (a second try with the
        gradebook opened again: another program may have changed it)."""
        folder = self.course.root / "submitted" / row["student"] / row["assignment"]
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(self.queue.folder(row["id"]), folder, symlinks=True)
        key = self.journal.key(row["assignment"], folder)
        for attempt in (1, 2):
            try:
                self.recorder.record(copy.deepcopy(record), folder, key)   # it takes the pages
                self.recorder.flush()
                break
            except GraderError:
                if attempt == 2:
                    raise
                self.open()
        self.dirty = True

    def recover(self, row):
        """Whether a queued ``row`` was recorded before the service was killed (its verdict
        then written from the journal); else it is graded again."""
        key = self.journal.key(row["assignment"], self.queue.folder(row["id"]))
        record = self.journal.lookup(row["student"], row["assignment"], key)
        if record is None:
            return False
        self.queue.finish(row["id"], DONE, verdict(record, self.policies[row["assignment"]]),
                          True, record["score"], record["max_score"])
        log.info("%s/%s #%d: recorded before the service stopped: verdict from the journal",
                 row["student"], row["assignment"], row["id"])
        return True

    def report(self, idle, force=False):
        """The CSVs and the class report, from the journal (as the batch): when nothing is
        left to grade (``idle``; at most every ``IDLE_REPORT_SECONDS``), or every
        ``REPORT_SECONDS`` in a rush."""
        since = time.monotonic() - self.reported
        if self.dirty and (force or since > REPORT_SECONDS or
                           (idle and since > IDLE_REPORT_SECONDS)):
            from autograder.run.coordinator import write_outputs
            write_outputs(self.out, self.journal.records(), Ignored(), self.course.root / "release",
                          self.recorder.gradebook.formgrader_averages())
            self.dirty, self.reported = False, time.monotonic()


def verdict(record, policy):
    """What a student sees of a results ``record`` under ``policy.show``: the score, the
    status and, for ``"tests"``, each hidden test's points and message (never its code)."""
    autograded = [(nb["name"], cell) for nb in record["notebooks"] for cell in nb["cells"]
                  if cell["kind"] == results.AUTOGRADED]
    shown = {"status": record["status"],
             "score": sum(cell["points"] or 0 for _, cell in autograded),
             "max_score": sum(cell["max_points"] for _, cell in autograded),
             "pending": sum(cell["max_points"] for nb in record["notebooks"]
                            for cell in nb["cells"] if cell["kind"] == results.MANUAL)}
    if record["status"] == results.ERROR:
        shown["reason"] = record["reason"]
    if policy.show == "tests":
        shown["tests"] = [{"notebook": name, "test": cell["grade_id"], "points": cell["points"],
                           "max_points": cell["max_points"], "status": cell["status"],
                           "message": cell["message"]} for name, cell in autograded]
        if record["status"] == results.FLAGGED:
            shown["reason"] = record["reason"]
    return shown
