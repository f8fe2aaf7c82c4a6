"""Late work: a penalty per hour or day late, stored where nbgrader keeps it.

The due date is nbgrader's (the assignment's ``duedate``: formgrader's Manage Assignments, or
``nbgrader db assignment add NAME --duedate=...``), the submission time each submission's
``timestamp.txt`` (``nbgrader collect`` writes it), an extension the gradebook's
``SubmittedAssignment.extension`` (from the course's extensions file). The penalty goes into
each notebook's ``late_submission_penalty``, so the formgrader, ``nbgrader export`` and
``autograde export`` all subtract the same points. The policy is configured in the course's
``nbgrader_config.py``::

    c.LatePolicy.per = "day"          # or "hour"
    c.LatePolicy.percent = 10         # of the maximum score, per day (or part of one) late
    c.LatePolicy.cap = 50             # never more than this percent in all
    c.LatePolicy.grace_minutes = 15   # up to this late: no penalty
    c.LatePolicy.extensions = "extensions.csv"   # student_id,assignment,hours (course folder)

A submission later than the grace period is late from the due date itself: 2 h 10 min late
with 10 % per hour costs 30 %. The penalty is a share of the maximum score, so hand grading
later does not change it.
"""
import csv
import datetime
import math
from pathlib import Path

from traitlets import Enum, Float, Unicode
from traitlets.config import Configurable

SECONDS = {"hour": 3600, "day": 86400}


class LateError(ValueError):
    """An extensions file the policy cannot use; names the file and line."""


class LatePolicy(Configurable):
    """The course's late policy (``c.LatePolicy.*`` in ``nbgrader_config.py``); none by default."""
    per = Enum(("hour", "day"), default_value="day",
               help="the unit late work is counted in (each started unit counts)").tag(config=True)
    percent = Float(0.0, help="percent of the maximum score lost per unit late").tag(config=True)
    cap = Float(100.0, help="the most a late submission can lose, percent").tag(config=True)
    grace_minutes = Float(0.0, help="minutes late that cost nothing").tag(config=True)
    extensions = Unicode("extensions.csv",
                         help="CSV student_id,assignment,hours of extensions, relative to the "
                              "course directory (no file: no extensions)").tag(config=True)

    def share(self, seconds_late):
        """The share (0..1) of the maximum score lost by a submission ``seconds_late`` late."""
        if seconds_late <= self.grace_minutes * 60 or seconds_late <= 0:
            return 0.0
        units = math.ceil(seconds_late / SECONDS[self.per])
        return min(self.cap, self.percent * units) / 100

    def penalty(self, seconds_late, max_score):
        """Points lost on a notebook worth ``max_score``."""
        return round(self.share(seconds_late) * max_score, 6)


def read_extensions(path):
    """``{(student_id, assignment): timedelta}`` of an extensions CSV (``student_id,
    assignment,hours``); ``{}`` when there is no file. ``LateError`` names a bad line."""
    path = Path(path)
    if not path.exists():
        return {}
    extensions = {}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"student_id", "assignment", "hours"} - set(reader.fieldnames or ())
        if missing:
            raise LateError(f"extensions file {path} lacks the column(s) {', '.join(sorted(missing))}"
                            " (it needs student_id,assignment,hours)")
        for line, row in enumerate(reader, start=2):
            key = (row["student_id"].strip(), row["assignment"].strip())
            try:
                hours = float(row["hours"])
            except ValueError:
                raise LateError(f"extensions file {path} line {line}: hours {row['hours']!r} "
                                "is not a number") from None
            if not all(key) or hours < 0:
                raise LateError(f"extensions file {path} line {line}: needs a student, an "
                                "assignment and hours >= 0")
            if key in extensions:
                raise LateError(f"extensions file {path} line {line}: {key[0]}/{key[1]} twice")
            extensions[key] = datetime.timedelta(hours=hours)
    return extensions


def course_policy(config, course_root):
    """The ``LatePolicy`` of an nbgrader ``config`` and its extensions, read from the course."""
    policy = LatePolicy(config=config)
    return policy, read_extensions(Path(course_root, policy.extensions))


def assign(gradebook, assignment, student, policy, extensions):
    """Record the extension and each notebook's ``late_submission_penalty`` of one submission
    in an open nbgrader ``Gradebook`` (not committed); returns its seconds late."""
    submission = gradebook.find_submission(assignment, student)
    submission.extension = extensions.get((student, assignment))
    seconds = submission.total_seconds_late   # nbgrader's: due date + extension vs timestamp
    for notebook in submission.notebooks:
        points = policy.penalty(seconds, notebook.max_score)
        notebook.late_submission_penalty = points or None
    return seconds
