"""The ``autograde`` command: clear errors and exit codes, and one real class end to end.

Argument and setup errors exit non-zero with a message that says what to do; a batch that
finishes exits 0 whatever the submissions did. The end-to-end test runs the installed console
script with the real engine on a copy of the course's first chapter.
"""
import csv
import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import cli
from autograder.engine import isolation
from autograder.coursedir import ROOT, chapters
from tests.test_coordinator import course, klass  # noqa: F401 (fixtures)


def fails(argv, capsys):
    """Run ``autograde argv``; its exit status and what it printed on stderr."""
    try:
        status = cli.main([str(a) for a in argv])
    except SystemExit as stop:
        status = stop.code
    return status, capsys.readouterr().err


def test_no_arguments_prints_usage(capsys):
    status, err = fails([], capsys)
    assert status == 2
    assert "usage: autograde" in err
    assert "the following arguments are required: SUBMISSIONS, --out" in err


@pytest.mark.parametrize("option, value, message", [
    ("--workers", "0", "must be positive, not 0"),
    ("--workers", "two", "'two' is not a number"),
    ("--timeout", "-1", "must be positive, not -1"),
    ("--db", "not a url", "is not an SQLAlchemy URL"),
])
def test_bad_option_values_are_refused(tmp_path, capsys, option, value, message):
    status, err = fails([tmp_path, "--out", tmp_path / "out", option, value], capsys)
    assert status == 2 and message in err


def test_missing_submissions_or_out_a_file(tmp_path, capsys):
    status, err = fails([tmp_path / "nowhere", "--out", tmp_path / "out"], capsys)
    assert status == 2 and "nowhere does not exist: give the folder of submissions" in err
    (tmp_path / "out.txt").write_text("")
    status, err = fails([tmp_path, "--out", tmp_path / "out.txt"], capsys)
    assert status == 2 and "out.txt is a file: give a folder" in err


def test_no_release_says_how_to_make_one(tmp_path, capsys):
    (tmp_path / "submitted").mkdir()
    status, err = fails([tmp_path / "submitted", "--out", tmp_path / "out",
                         "--course", tmp_path], capsys)
    assert status == 1
    assert "no release found in" in err and "python -m autograder.author" in err


@pytest.mark.slow
def test_unknown_assignment_and_gradebook_errors(klass, course, tmp_path, capsys):
    status, err = fails([klass, "--out", tmp_path / "out", "--course", course,
                         "--assignment", "a1", "a3"], capsys)
    assert status == 1 and "not released: a3 (released: a1, a2)" in err
    status, err = fails([klass, "--out", tmp_path / "out", "--course", course,
                         "--db", "sqlite:////no/such/folder/gradebook.db"], capsys)
    assert status == 1 and "cannot open the gradebook sqlite:////no/such/folder" in err


def hidden_lines(source_notebook):
    """The lines only the hidden tests of a source notebook hold (not the answer key's code,
    nor the visible tests'), long enough to be worth looking for."""
    import nbformat
    hidden_text, seen, hidden = [], set(), False
    for cell in nbformat.read(source_notebook, as_version=4).cells:
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line or "END HIDDEN TESTS" in line:
                hidden = "BEGIN" in line
            elif hidden:
                hidden_text.append(line.strip())
            else:
                seen.add(line.strip())
    return [line for line in hidden_text if len(line) > 20 and line not in seen]


def page_text(path):
    """What a feedback page shows: its text without tags (code is split in highlight spans)."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


@pytest.mark.slow
def test_a_class_end_to_end_with_the_real_engine(tmp_path):
    from autograder.tools import demo
    from autograder.record.gradebook import CourseGradebook
    assignment = chapters()[0]
    root = tmp_path / "course"
    for part in ("source", "release"):
        shutil.copytree(ROOT / part / assignment, root / part / assignment)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    kinds = {(kind, assignment): kind for kind in
             ("complete", "blank", "partly_wrong", "broken_file", "infinite_loop")}
    demo.write_class(tmp_path / "submitted", kinds, course_root=root)
    (tmp_path / "submitted" / "README.txt").write_text("stray")
    # --timeout 10: the infinite loop waits 10 s, not the default 30 (10 s is ample for a cell
    # of the first chapter on a loaded machine)
    command = [Path(sys.executable).parent / "autograde", tmp_path / "submitted",
               "--out", tmp_path / "out", "--course", root, "--timeout", "10"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr
    assert "stray files at the top level (1): README.txt" in done.stdout
    described = isolation.DESCRIPTIONS[isolation.probe()]   # the strongest layer here
    assert done.stderr.splitlines()[0] == f"autograde: sandbox: {described}"
    assert f"<p>Sandbox: {html.escape(described)}</p>" in (tmp_path / "out" / "report.html"
                                                         ).read_text()

    with open(tmp_path / "out" / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    (source,) = (root / "source" / assignment).glob("*.ipynb")
    with CourseGradebook(root) as book:
        gradebook = book.submissions()
    waiting = [score for *_, (score, needs) in _grades(gradebook["complete", assignment]) if needs]
    assert waiting and set(waiting) == {None}      # written answers: manual grading, not zero
    complete = float(rows["complete"]["score"])
    assert rows["complete"]["status"] == "graded"
    assert complete == float(rows["complete"]["max_score"]) - _manual_points(root, assignment)
    assert float(rows["blank"]["score"]) == 0
    assert 0 < float(rows["partly_wrong"]["score"]) < complete
    assert rows["broken_file"]["status"] == "error"
    assert "is not a valid notebook" in rows["broken_file"]["reason"]
    assert float(rows["infinite_loop"]["score"]) == complete        # the loop cost no point
    assert rows["infinite_loop"]["status"] == "flagged" and "timed out after 10 s" in rows[
        "infinite_loop"]["reason"]
    # the gradebook agrees with grades.csv, holds each submission once, flags what to look at
    assert set(gradebook) == {(s, assignment) for s in rows}
    with CourseGradebook(root) as book:
        flagged = {student for student in rows if any(
            nb.flagged for nb in book.connection.find_submission(assignment, student).notebooks)}
    assert flagged == {"infinite_loop", "broken_file"}   # and what could not be graded
    for student, row in rows.items():
        scores = [score or 0 for *_, (score, _) in _grades(gradebook[student, assignment])]
        assert sum(scores) == pytest.approx(float(row["score"]))

    assert len(hidden_lines(source)) > 5
    visible = _visible_test_line(root, assignment)   # proof that the search sees code
    assert visible in page_text(next((tmp_path / "out" / "feedback" / "complete").rglob("*.html")))
    for page in (tmp_path / "out" / "feedback").rglob("*.html"):
        text = page_text(page)
        for line in hidden_lines(source):
            assert line not in text, f"{page} shows a hidden test: {line}"
    assert len(list((tmp_path / "out" / "feedback").rglob("*.html"))) == 4
    assert (tmp_path / "out" / "report.html").read_text().count("data:image/png;base64,") == 2

    first = (tmp_path / "out" / "grades.csv").read_text()
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0
    assert "this run sent 0 submissions to the grader; 4 were unchanged since the last run" in (
        again.stdout)
    assert (tmp_path / "out" / "grades.csv").read_text() == first


def test_no_sandbox_is_announced_loudly():
    assert isolation.announce("root") == f"autograde: sandbox: {isolation.DESCRIPTIONS['root']}"
    first, text, last = isolation.announce("none").splitlines()
    assert first == last == "!" * 88 and "NONE: student code runs unconfined" in text


def _grades(submission):
    """``(notebook, grade_id, (auto_score, needs_manual_grade))`` of a gradebook submission."""
    return [(nb, grade_id, value) for nb, cells in submission.items()
            for grade_id, value in cells.items()]


def _visible_test_line(root, assignment):
    """A long line of the release's first test cell (visible to students)."""
    import nbformat
    for path in (root / "release" / assignment).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                return next(line.strip() for line in cell.source.splitlines()
                            if len(line.strip()) > 20)


def _manual_points(root, assignment):
    import nbformat
    return sum(cell.metadata["nbgrader"]["points"]
               for path in (root / "release" / assignment).glob("*.ipynb")
               for cell in nbformat.read(path, as_version=4).cells
               if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("grade"))
