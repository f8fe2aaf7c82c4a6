"""``autograde export``: every format parsed back and checked cell by cell against nbgrader's
gradebook (hand grades, pending answers, late penalties, no submission), rosters, bad input."""
import csv
import datetime

import pytest
from nbgrader.api import Gradebook

from autograder import cli
from autograder.record import export
from autograder.report.spreadsheet import spreadsheet_cell

# nbgrader's add_submission trips SQLAlchemy's autoflush notice; harmless.
pytestmark = [pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning"), pytest.mark.slow]


def _class_gradebook(path):
    """A gradebook of two assignments and three students, built with nbgrader's API:

    ann: a1 autograded 3/4, written answer hand-graded 1.5/2 (+0.5 extra credit); a2 late, 4/4
    with a 1-point penalty and the written answer pending. bob: a1 0/4, answer pending; no a2.
    =cmd|evil: a1 all autograded points, answer graded 0 by hand."""
    url = f"sqlite:///{path}"
    gb = Gradebook(url)
    for name in ("a1", "a2"):
        gb.add_assignment(name, duedate=datetime.datetime(2030, 1, 1))
        gb.add_notebook("nb", name)
        gb.add_grade_cell("test_f", "nb", name, max_score=4, cell_type="code")
        gb.add_solution_cell("f", "nb", name)
        gb.add_grade_cell("q_why", "nb", name, max_score=2, cell_type="markdown")
        gb.add_solution_cell("q_why", "nb", name)
    gb.add_student("ann", first_name="Ann", last_name="Lee", email="ann@uni.example")
    gb.add_student("bob")
    gb.add_student("=cmd|evil")

    def grades(assignment, student, auto, manual=None, extra=None, pending=False):
        gb.add_submission(assignment, student)
        test = gb.find_grade("test_f", "nb", assignment, student)
        test.auto_score, test.needs_manual_grade = auto, False
        answer = gb.find_grade("q_why", "nb", assignment, student)
        answer.manual_score, answer.extra_credit = manual, extra
        answer.needs_manual_grade = pending

    grades("a1", "ann", 3, manual=1.5, extra=0.5)
    grades("a2", "ann", 4, pending=True)
    gb.update_or_create_submission("a2", "ann", timestamp="2030-01-02 10:00:00")
    gb.find_submission_notebook("nb", "a2", "ann").late_submission_penalty = 1.0
    grades("a1", "bob", 0, pending=True)
    grades("a1", "=cmd|evil", 4, manual=0.0)
    gb.db.commit()
    return url, gb


@pytest.fixture
def gradebook(tmp_path):
    url, gb = _class_gradebook(tmp_path / "gradebook.db")
    yield gb
    gb.close()


def _expected(gb, student, assignment):
    """What nbgrader itself says: score less penalty (at least 0), max, pending points."""
    try:
        submission = gb.find_submission(assignment, student)
    except Exception:
        return 0.0, gb.find_assignment(assignment).max_score, 0.0
    pending = sum(g.max_score for nb in submission.notebooks for g in nb.grades
                  if g.needs_manual_grade)
    return (max(0.0, submission.score - submission.late_submission_penalty),
            submission.max_score, pending)


def _read(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def test_csv_matches_the_gradebook_cell_by_cell(gradebook, tmp_path):
    out = tmp_path / "grades.csv"
    errors, warnings = export.export(gradebook, "csv", out)
    header, *body = _read(out)
    assert header[:4] == ["student_id", "assignment", "score", "max_score"]
    assert any("pending" in column for column in header)
    rows = {(r[0], r[1]): dict(zip(header, r)) for r in body}
    assert set(rows) == {("'=cmd|evil", a) for a in ("a1", "a2")} | {
        (s, a) for s in ("ann", "bob") for a in ("a1", "a2")}
    for (student, assignment), row in rows.items():
        student = student.lstrip("'")
        score, max_score, pending = _expected(gradebook, student, assignment)
        assert float(row["score"]) == pytest.approx(score)
        assert float(row["max_score"]) == max_score
        assert float(row["pending_hand_grading"]) == pending
    # Hand-graded points are in the final grade: 3 autograded + 1.5 by hand + 0.5 extra.
    assert rows["ann", "a1"]["score"] == "5" and rows["ann", "a1"]["hand_graded"] == "2"
    assert rows["ann", "a2"]["late_penalty"] == "1" and rows["ann", "a2"]["score"] == "3"
    assert rows["ann", "a2"]["status"] == "pending hand grading"
    assert rows["bob", "a2"]["status"] == "not submitted" and rows["bob", "a2"]["score"] == "0"
    assert errors == [] and "ann/a2 (2 points)" in warnings[0] and "bob/a1" in warnings[0]


def test_canvas_and_moodle_match_the_gradebook(gradebook, tmp_path):
    roster = {"ann": {"Student": "Lee, Ann", "ID": "101", "SIS User ID": "u-ann",
                      "SIS Login ID": "alee", "Section": "A", "username": "alee",
                      "email": "ann@lms.example"},
              "bob": {"Student": "Bob", "ID": "102", "SIS User ID": "u-bob",
                      "SIS Login ID": "bob", "Section": "B", "username": "bob", "email": ""},
              "=cmd|evil": {"Student": "=HYPERLINK(1)", "ID": "103", "SIS User ID": "",
                            "SIS Login ID": "ev", "Section": "A", "username": "ev", "email": ""}}
    for fmt, ids, key in (("canvas", export.CANVAS_IDS, "SIS Login ID"),
                          ("moodle", export.MOODLE_IDS, "username")):
        out = tmp_path / f"{fmt}.csv"
        errors, _ = export.export(gradebook, fmt, out, roster)
        assert errors == []
        header, *body = _read(out)
        assert header == ids + ["a1", "a2"]
        if fmt == "canvas":
            points, *body = body
            assert points[0] == "Points Possible" and points[-2:] == ["6", "6"]
        by_login = {dict(zip(header, r))[key]: dict(zip(header, r)) for r in body}
        assert len(body) == 3
        for student, lms in roster.items():
            row = by_login[lms[key]]
            for column in ids:
                assert row[column] == spreadsheet_cell(lms[column]), (fmt, column)
            for assignment in ("a1", "a2"):
                assert float(row[assignment]) == pytest.approx(
                    _expected(gradebook, student, assignment)[0])
    assert by_login["ev"]["username"] == "ev"


def test_roster_missing_student_is_reported_not_dropped(gradebook, tmp_path):
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text("student_id,Student,ID,SIS Login ID,Section\n"
                           "ann,\"Lee, Ann\",101,alee,A\n=cmd|evil,Eve,103,ev,A\n"
                           "carl,Carl,104,carl,B\n")
    out = tmp_path / "canvas.csv"
    errors, _ = export.export(gradebook, "canvas", out, export.read_roster(roster_file))
    assert any("not in the roster" in e and "bob" in e for e in errors)
    assert any("no submission" in e and "carl" in e for e in errors)
    names = [row[0] for row in _read(out)[2:]]
    assert sorted(names) == sorted(["Lee, Ann", "Eve", "bob", "Carl"])
    bob = next(row for row in _read(out) if row[0] == "bob")
    assert bob[1:4] == ["", "", ""]   # no LMS id to match on: never a guessed one


def test_cli_export_and_bad_input(tmp_path, capsys):
    url, gb = _class_gradebook(tmp_path / "gradebook.db")
    gb.close()
    out = tmp_path / "grades.csv"
    assert cli.main(["export", "--format", "csv", "--out", str(out), "--db", url]) == 0
    assert "ann" in out.read_text()
    with pytest.raises(SystemExit) as stop:
        cli.main(["export", "--format", "csv", "--out", str(out), "--db", url,
                  "--assignment", "a9"])
    assert stop.value.code == 2 and "a9" in capsys.readouterr().err
    roster = tmp_path / "roster.csv"
    roster.write_text("name,email\nann,ann@x\n")
    with pytest.raises(SystemExit):
        cli.main(["export", "--format", "canvas", "--out", str(out), "--db", url,
                  "--roster", str(roster)])
    assert "no student_id column" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["export", "--format", "csv", "--out", str(out),
                  "--db", f"sqlite:///{tmp_path / 'none.db'}"])
    assert "no gradebook at" in capsys.readouterr().err
