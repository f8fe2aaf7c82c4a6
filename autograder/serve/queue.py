"""The durable queue of the grading service: ``<state>/queue.db`` (sqlite), one row a submission.

A submission is accepted in one write transaction (sqlite's ``BEGIN IMMEDIATE``: one writer
at a time, across threads and processes): its idempotency key looked up, the policy's limits
checked against the rows already there, its files written to ``<state>/spool/<id>/`` and its
row inserted, then committed. So parallel requests cannot exceed a limit, a retried request
(the same key) gets the same submission, and an accepted submission is on disk before the
client hears of it. A row stays ``queued`` until its verdict is written (``done``, or
``failed`` when the grader itself failed: no attempt used); a service killed at any point
grades the ``queued`` rows again when it starts (see ``service`` for why that records each once).
"""
import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path

QUEUED, DONE, FAILED = "queued", "done", "failed"

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    student TEXT NOT NULL,
    assignment TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    sender TEXT NOT NULL,               -- who sent it (the student, or an instructor)
    received REAL NOT NULL,             -- unix time
    late INTEGER NOT NULL,              -- received after the deadline
    limited INTEGER NOT NULL,           -- subject to the policy (a student's own submission)
    state TEXT NOT NULL,                -- queued | done | failed
    counted INTEGER NOT NULL DEFAULT 0, -- recorded in the gradebook as the grade
    score REAL, max_score REAL,
    verdict TEXT,                       -- JSON, what the student may see
    finished REAL,
    UNIQUE (student, assignment, idempotency_key)
)"""


class Refused(Exception):
    """A submission the policy refuses: ``status`` (HTTP) and a message for the student."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


class Queue:
    """The queue in the sqlite file ``path`` (made if missing); files under ``spool``."""

    def __init__(self, path):
        self.path = Path(path)
        self.spool = self.path.parent / "spool"
        self.spool.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(SCHEMA)

    def _connect(self):
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        db.row_factory = sqlite3.Row
        return db

    def folder(self, submission_id):
        """The folder holding a submission's files (as ``autograde`` reads a submission)."""
        return self.spool / str(submission_id)

    def accept(self, student, assignment, key, sender, write, policy, now=None, limited=True):
        """Accept a submission: ``(row, new)``; a known ``key`` returns its row unchanged.
        ``write(folder)`` writes its files; ``limited``: the ``policy`` applies (a student's own
        submission). Raises ``Refused`` when the policy refuses it."""
        now = time.time() if now is None else now
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                known = db.execute("SELECT * FROM submissions WHERE student=? AND assignment=? "
                                   "AND idempotency_key=?", (student, assignment, key)).fetchone()
                if known is not None:
                    db.execute("ROLLBACK")
                    return dict(known), False
                late = policy.deadline is not None and now > policy.deadline_unix
                if limited:
                    _check(db, student, assignment, policy, now, late)
                cursor = db.execute(
                    "INSERT INTO submissions (student, assignment, idempotency_key, sender, "
                    "received, late, limited, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (student, assignment, key, sender, now, late, limited, QUEUED))
                write(self.folder(cursor.lastrowid))
                row = db.execute("SELECT * FROM submissions WHERE id=?",
                                 (cursor.lastrowid,)).fetchone()
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return dict(row), True

    def get(self, submission_id):
        """The row of a submission, or None."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM submissions WHERE id=?", (submission_id,)).fetchone()
        return dict(row) if row else None

    def rows(self, student=None, assignment=None, state=None):
        """The rows, oldest first, of ``student``/``assignment``/``state`` (None: any)."""
        where = [(column, value) for column, value in
                 (("student", student), ("assignment", assignment), ("state", state))
                 if value is not None]
        query = "SELECT * FROM submissions" + (
            " WHERE " + " AND ".join(f"{column}=?" for column, _ in where) if where else "")
        with closing(self._connect()) as db:
            return [dict(row) for row in db.execute(query + " ORDER BY id",
                                                    [value for _, value in where])]

    def counts(self, row, score, policy):
        """Whether ``row``, graded ``score``, is the grade under ``policy.counts``: the last
        one (no later submission of the same student's assignment counted already), or the
        best one so far; an instructor's (unlimited) submission always counts."""
        if not row["limited"]:
            return True
        with closing(self._connect()) as db:
            if policy.counts == "last":
                return db.execute(
                    "SELECT COUNT(*) FROM submissions WHERE student=? AND assignment=? "
                    "AND counted AND id>?", (row["student"], row["assignment"], row["id"])
                ).fetchone()[0] == 0
            best = db.execute("SELECT MAX(score) FROM submissions WHERE student=? AND "
                              "assignment=? AND counted", (row["student"], row["assignment"])
                              ).fetchone()[0]
        return best is None or score > best

    def finish(self, submission_id, state, verdict, counted=False, score=None, max_score=None):
        """Write a submission's verdict: ``state`` DONE or FAILED (no attempt used)."""
        with closing(self._connect()) as db:
            db.execute("UPDATE submissions SET state=?, verdict=?, counted=?, score=?, "
                       "max_score=?, finished=? WHERE id=?",
                       (state, json.dumps(verdict), counted, score, max_score, time.time(),
                        submission_id))


def _check(db, student, assignment, policy, now, late):
    """Raise ``Refused`` if ``policy`` refuses one more submission of ``student``'s
    ``assignment`` at ``now`` (``late``: after the deadline), given the rows in ``db``."""
    if late and policy.after_deadline == "refuse":
        raise Refused(403, f"the deadline of {assignment} ({policy.deadline:%Y-%m-%d %H:%M} "
                           "UTC) has passed: no more checked submissions")
    used, last = db.execute(
        "SELECT COUNT(*), MAX(received) FROM submissions WHERE student=? AND assignment=? "
        "AND limited AND state!=?", (student, assignment, FAILED)).fetchone()
    if policy.attempts is not None and used >= policy.attempts:
        raise Refused(429, f"you have used all {policy.attempts} checked submissions of "
                           f"{assignment}")
    if policy.interval and last is not None and now - last < policy.interval:
        raise Refused(429, f"one checked submission of {assignment} every "
                           f"{policy.interval:g} s: try again in "
                           f"{policy.interval - (now - last):.0f} s")
