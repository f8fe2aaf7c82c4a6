"""One meaning of each count everywhere an instructor looks (issue 25): the terminal summary,
``grades.csv`` and ``cells.csv``, the class report and the gradebook the formgrader reads say
the same numbers for a class with a right answer, a wrong one, an unusable file, a test that
timed out, a grader fault and chapters not submitted (docs/semester.md, "Counts").

Graded with test_coordinator's ``fake_grade``: the engine is not the point here.
"""
import re

import pytest
from nbgrader.api import Gradebook

from autograder.cli import describe
from tests.test_coordinator import (_hand_grade, course, grade, grades,  # noqa: F401 (fixture)
                                    read_csv, submit)

pytestmark = pytest.mark.slow


def kinds_in_grades_csv(rows):
    """``{assignment: {kind: n}}`` as an instructor reads ``grades.csv``: its status, and for an
    "error" row the start of its reason."""
    found = {}
    for row in rows:
        if row["status"] != "error":
            kind = "graded"
        elif row["reason"].startswith("not submitted"):
            kind = "not submitted"
        elif "a fault of the grader" in row["reason"]:
            kind = "grader fault"
        else:
            kind = "unusable"
        counts = found.setdefault(row["assignment"], {})
        counts[kind] = counts.get(kind, 0) + 1
        counts["flagged"] = counts.get("flagged", 0) + (row["status"] == "flagged")
    return found


def report_rows(page):
    """``{assignment: [cell text]}`` of the report's Submissions table."""
    section = page.split("<h2>Submissions</h2>", 1)[1].split("<h2>", 1)[0]
    return {cells[0]: cells[1:] for cells in (
        re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", section))
        if cells}


def formgrader(database, assignment):
    """What the formgrader's Gradebook page shows for ``assignment`` (nbgrader's own queries),
    and its submissions flagged and needing manual grading."""
    with Gradebook(f"sqlite:///{database}", "cnn-basics") as gb:
        found = gb.find_assignment(assignment)
        shown = f"{gb.average_assignment_score(assignment):.2f} / {found.max_score:g}"
        to_look_at = {s.student_id for s in found.submissions
                      if any(nb.flagged for nb in s.notebooks)}
        needing = {s.student_id for s in found.submissions if s.needs_manual_grade}
        return shown, found.num_submissions, to_look_at, needing


def test_terminal_csvs_report_and_gradebook_count_alike(course, tmp_path):
    folder, out = tmp_path / "submitted", tmp_path / "out"
    for student, answer in (("ada", "return 2 * x"), ("cy", "return 3 * x  # WRONG"),
                            ("dee", "return 2 * x"), ("loop", "return 2 * x"),
                            ("fail", "return 2 * x")):
        submit(folder, course, student, "a1", answer)
    (folder / "dee" / "a1" / "first.ipynb").write_text("{ not json")        # unusable
    submit(folder, course, "ada", "a2", "return 2 * x")          # the others: not submitted
    summary = grade(folder, course, out)

    said = describe(summary, out)
    assert ("6 submissions: 4 graded (0 of them flagged for a human), 1 unusable, 1 grader "
            "faults (these score 0, flagged in the gradebook); 4 chapters not submitted") in said
    assert "1 test cells crashed or timed out" in said
    rows = read_csv(out / "grades.csv")
    assert kinds_in_grades_csv(rows) == {
        "a1": {"graded": 3, "flagged": 0, "unusable": 1, "grader fault": 1},
        "a2": {"graded": 1, "flagged": 0, "not submitted": 4}}
    cells = read_csv(out / "cells.csv")
    assert [(c["student_id"], c["grade_id"]) for c in cells
            if c["status"] in ("timeout", "crashed")] == [("loop", "test_double")]
    score = {k: float(r["score"]) for k, r in grades(out).items()}
    assert score["ada", "a1"] == 2 and score["cy", "a1"] == score["loop", "a1"] == 0

    page = (out / "report.html").read_text()
    table = report_rows(page)
    # submissions, graded, flagged, unusable, grader fault, not submitted, means, pending
    assert table["a1"][:6] == ["5", "3", "0", "1", "1", "0"]
    assert table["a2"][:6] == ["1", "1", "0", "0", "0", "4"]
    assert "6 submissions" in page
    shown, submitted, to_look_at, needing = formgrader(f"{out}.db", "a1")
    assert submitted == 5 and to_look_at == {"dee", "fail"}
    assert needing >= {"dee", "fail"}                     # the formgrader: needs manual grading
    assert table["a1"][6] == "0.40 / 2"                   # ada's 2 autograded points over 5
    assert table["a1"][7] == f"{shown} (5 submissions)" == "0.40 / 3 (5 submissions)"
    # a chapter not submitted is in neither mean (in the formgrader it is no submission)
    assert formgrader(f"{out}.db", "a2")[:2] == ("2.00 / 3", 1)
    assert table["a2"][6:8] == ["2.00 / 2", "2.00 / 3 (1 submissions)"]

    # A hand grade moves the formgrader's average and the report's copy of it, not the
    # autograded mean: the column is read from the gradebook, not made up from the records.
    _hand_grade(out, "ada", "a1", "q_why", 1.0)
    again = grade(folder, course, out)
    assert again.graded == 1                                # the grader fault, tried again
    table = report_rows((out / "report.html").read_text())
    assert table["a1"][6] == "0.40 / 2"
    assert table["a1"][7] == f"{formgrader(f'{out}.db', 'a1')[0]} (5 submissions)" == \
        "0.60 / 3 (5 submissions)"
