"""The results record: what grading one submission produces, the one contract between the engine,
collection, the coordinator, the gradebook and the reports. Plain JSON data, so it crosses
process boundaries and is journaled as it is::

    record   {student_id, assignment, status, reason, score, max_score, flags: [str],
              notebooks: [notebook], timings: {part: seconds}, isolation: layer or None,
              ungraded: why an ERROR record has no grade (``UNGRADED``; absent: UNUSABLE)}
    notebook {name, status, reason, notebook: the autograded nbformat dict or None, cells: [cell]}
             (from a worker, ``finish``ed: ``notebook`` replaced by ``grades``, ``feedback_html``,
             ``autograded_ipynb``, the written ``answers``, the changed code ``solutions`` and
             its similarity ``fingerprints``; see ``autograder.record.feedback``)
    cell     {grade_id, kind, points (None: to grade by hand), max_points, status, message}
"""
import functools
import json
from pathlib import Path

from autograder.engine import cells as nbcells

# A record's status (a notebook's is GRADED or ERROR).
GRADED = "graded"        # every cell has its verdict
FLAGGED = "flagged"      # graded, and a human should look (``reason`` says why)
ERROR = "error"          # could not be graded: every cell scores 0
RECORD_STATUSES = (GRADED, FLAGGED, ERROR)

# Why an ERROR record has no grade (its ``ungraded``).
UNUSABLE = "unusable"            # handed in, but the grader cannot use it (unreadable, refused)
GRADER_FAULT = "grader fault"    # handed in; the grader itself failed on it
NOT_SUBMITTED = "not submitted"  # a released assignment the student has no folder for
UNGRADED = (UNUSABLE, GRADER_FAULT, NOT_SUBMITTED)

# A cell's kind.
AUTOGRADED = "autograded"   # a test cell
MANUAL = "manual"           # a written answer (or any graded cell that is not a test)

# A cell's status.
PASSED = "passed"
FAILED = "failed"        # a test's assertion failed, or the library rule
CRASHED = "crashed"      # the student's process died during the tests
TIMEOUT = "timeout"
LIBRARY = "library"      # a test's verdict only: the library rule; recorded as FAILED, flagged
NEEDS_GRADING = "manual" # a written answer waiting for a human
MISSING = "missing"      # no answer, or the notebook could not be graded
#: Verdicts of an attempted answer that did not pass (ERROR: the student's code raised).
NOT_PASSED = (FAILED, ERROR, TIMEOUT, CRASHED)


def key(record):
    """What a record is of: ``(student_id, assignment)``."""
    return record["student_id"], record["assignment"]


def cell_kind(cell):
    """The kind of a graded nbformat cell: AUTOGRADED for a test cell, else MANUAL."""
    return AUTOGRADED if nbcells.is_test(cell) else MANUAL


def cell(grade_id, kind, points, max_points, status, message):
    """One graded cell's result."""
    return {"grade_id": grade_id, "kind": kind, "points": points, "max_points": max_points,
            "status": status, "message": message}


def missing_cells(release_nb, reason):
    """Every graded cell of the release notebook (nbformat dict) as MISSING, worth 0."""
    return [cell(nbcells.nbgrader(c).get("grade_id"), cell_kind(c), 0.0,
                 float(nbcells.nbgrader(c).get("points", 0)), MISSING, reason)
            for c in (release_nb or {}).get("cells", []) if nbcells.nbgrader(c).get("grade")]


def graded_notebook(name, notebook, cells):
    """A notebook that was graded: the autograded nbformat dict and its cells' results."""
    return {"name": name, "status": GRADED, "reason": "", "notebook": notebook, "cells": cells}


def error_notebook(name, reason, release_nb=None):
    """A notebook that could not be graded: the release's graded cells, MISSING."""
    return {"name": name, "status": ERROR, "reason": reason, "notebook": None,
            "cells": missing_cells(release_nb, reason)}


def new_record(student_id, assignment, isolation=None):
    """A GRADED record with no notebook yet (see ``add_notebook``); ``isolation``: the sandbox
    layer its code runs under (``autograder.engine.isolation.LAYERS`` or "none"; None: no
    code of it ran)."""
    return {"student_id": student_id, "assignment": assignment, "status": GRADED, "reason": "",
            "score": 0.0, "max_score": 0.0, "flags": [], "notebooks": [], "timings": {},
            "isolation": isolation}


def add_notebook(record, notebook):
    """Append ``notebook`` to ``record`` and add its points to the score."""
    record["notebooks"].append(notebook)
    for result in notebook["cells"]:
        record["score"] += result["points"] or 0.0
        record["max_score"] += result["max_points"]


def add_flag(record, flag):
    """Flag a graded ``record`` for a human with ``flag`` (a line of text; "" adds nothing)."""
    if not flag:
        return
    record["flags"].append(flag)
    if record["status"] != ERROR:
        record["status"] = FLAGGED
        record["reason"] = "; ".join(record["flags"])[:2000]


def error_record(student_id, assignment, reason, release=None, ungraded=UNUSABLE):
    """The record of a submission that cannot be graded (``ungraded``: why, one of
    ``UNGRADED``): every graded cell of the notebooks in the ``release`` folder is MISSING,
    worth 0."""
    record = new_record(student_id, assignment)
    record.update(status=ERROR, reason=reason, ungraded=ungraded)
    for path in sorted(Path(release).glob("*.ipynb")) if release else []:
        add_notebook(record, error_notebook(path.stem, reason, _read_json(path)))
    return record


def ungraded(record):
    """Why a record has no grade (one of ``UNGRADED``), or None: it is graded."""
    return record.get("ungraded", UNUSABLE) if record["status"] == ERROR else None


def is_submission(record):
    """Whether a record is of a submission (graded, unusable or a grader fault): what the
    gradebook, the formgrader, the means and the plots count. A chapter not submitted is not
    one: it scores 0 only in ``grades.csv`` (see docs/semester.md, "Counts")."""
    return ungraded(record) != NOT_SUBMITTED


def counts(records):
    """``{name: number}`` of ``records``, each count with one meaning everywhere an instructor
    looks (the terminal, the report, the demo): "submissions" (``is_submission``), of them
    "graded" (every test has its verdict; flagged ones included) and "flagged" (graded, for a
    human to look at), "unusable" and "grader fault" (no grade: 0, flagged in the gradebook);
    and "not submitted"."""
    found = {name: 0 for name in ("submissions", "graded", "flagged", *UNGRADED)}
    for record in records:
        why = ungraded(record)
        found["submissions"] += why != NOT_SUBMITTED
        found["graded"] += why is None
        found["flagged"] += record["status"] == FLAGGED
        if why:
            found[why] += 1
    return found


@functools.lru_cache(maxsize=None)
def _read_json(path):
    return json.loads(Path(path).read_text())
