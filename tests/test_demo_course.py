"""``make demo``'s course directory as nbgrader sees it: nbgrader's API lists every
submission, the formgrader's Autograde button (``NbGraderAPI.autograde``) regrades one student
in the sandbox keeping the hand grade of an unchanged written answer and the other students'
grades, and nbgrader's own ``generate_feedback`` never shows hidden-test code."""
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.coursedir import nbgrader_api
from autograder.engine import cells
from autograder.tools.demo import build_course, next_commands, same_command
from tests.test_nbgrader_safe import _hidden_lines

pytestmark = pytest.mark.slow
CHAPTER, NOTEBOOK, ANSWER = "01_locality", "locality", "q_invariance"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A demo course of one chapter (ann: the answer key, bob: the release), autograded from
    inside the course directory (``--course`` defaults to it) with the command the demo
    prints as its own."""
    root = tmp_path_factory.mktemp("demo")
    build_course(root, {("ann", CHAPTER): "complete", ("bob", CHAPTER): "blank"})
    done = _shell(same_command(), root)
    assert done.returncode == 0, done.stderr[-2000:]
    return root


def _shell(command, cwd):
    """Run a command as the demo prints it, with the venv's commands first on PATH."""
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(command.split(), cwd=cwd, env=env, capture_output=True, text=True)


def test_every_command_the_demo_prints_exists_and_runs(course):
    """What ``make demo`` tells the instructor to run next, run as printed (``--help`` for a
    server that would wait for a browser)."""
    commands = [command for command, _ in next_commands([CHAPTER])]
    assert any("generate_feedback" in c for c in commands) and "jupyter lab" in commands
    from nbgrader.apps.nbgraderapp import NbGraderApp
    for command in commands:
        words = command.split()
        if words[0] == "nbgrader":   # nbgrader prints its help and exits 0 for any other word
            assert words[1] in NbGraderApp.subcommands, command
        run = f"{command} --help" if command == "jupyter lab" else command
        done = _shell(run, course)
        assert done.returncode == 0, (run, done.stdout[-2000:], done.stderr[-2000:])
        assert "Unrecognized" not in done.stderr and "expected one argument" not in done.stderr
    assert (course / "grades.csv").exists()
    assert (course / "feedback" / "ann" / CHAPTER / f"{NOTEBOOK}.html").exists()


def _secret(course, student):
    """The hidden-test code lines of the chapter that the student's notebook does not hold."""
    source = nbformat.read(str(course / "source" / CHAPTER / f"{NOTEBOOK}.ipynb"), 4)
    submitted = nbformat.read(
        str(course / "submitted" / student / CHAPTER / f"{NOTEBOOK}.ipynb"), 4)
    own = {line.strip() for cell in submitted.cells for line in cell.source.split("\n")}
    hidden = {line.strip() for cell in source.cells if "### BEGIN HIDDEN TESTS" in cell.source
              for line in _hidden_lines(cell)}
    return hidden - own


def _text(path):
    """What a reader sees of a notebook (cell sources and outputs) or an HTML page (its text)."""
    if path.suffix == ".ipynb":
        return json.dumps(nbformat.read(str(path), 4).cells, ensure_ascii=False).encode() \
            .decode("unicode_escape")
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def _shows_secret(path, secret):
    text = _text(path)
    return sorted(line for line in secret if line in text)


def test_nbgrader_lists_every_submission_of_the_demo_course(course):
    api = nbgrader_api(course)
    listed = {s["student"]: s for s in api.get_submissions(CHAPTER)}
    assert set(listed) == {"ann", "bob"}
    assert all(s["autograded"] and s["submitted"] for s in listed.values())
    assert listed["ann"]["needs_manual_grade"]           # her written answer waits for a human


def test_the_autograde_button_regrades_in_the_sandbox_and_keeps_the_hand_grade(course):
    from nbgrader.api import Gradebook
    url = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(url, "cnn-basics") as gb:
        grade = gb.find_grade(ANSWER, NOTEBOOK, CHAPTER, "ann")
        grade.manual_score, grade.needs_manual_grade = 1.5, False   # as the formgrader does
        gb.db.commit()
        before = {s: gb.find_submission(CHAPTER, s).score for s in ("ann", "bob")}
    (course / "autograded" / "bob" / CHAPTER / f"{NOTEBOOK}.ipynb").touch()
    bob_graded = (course / "out" / "records" / "bob" / f"{CHAPTER}.json").stat().st_mtime_ns
    api = nbgrader_api(course)
    result = api.autograde(CHAPTER, "ann")           # the formgrader's Autograde button
    assert result["success"], result.get("error") or result.get("log")
    assert "grading ann/" in result["log"] and "in the sandbox" in result["log"]
    with Gradebook(url, "cnn-basics") as gb:
        kept = gb.find_grade(ANSWER, NOTEBOOK, CHAPTER, "ann")
        assert (kept.manual_score, kept.needs_manual_grade) == (1.5, False)
        assert {s: gb.find_submission(CHAPTER, s).score for s in ("ann", "bob")} == before
    assert (course / "out" / "records" / "bob" / f"{CHAPTER}.json").stat().st_mtime_ns \
        == bob_graded                                 # bob was not regraded
    secret = _secret(course, "ann")
    assert _shows_secret(course / "source" / CHAPTER / f"{NOTEBOOK}.ipynb", secret)  # control
    assert not _shows_secret(course / "autograded" / "ann" / CHAPTER / f"{NOTEBOOK}.ipynb",
                             secret)


def test_nbgraders_generate_feedback_never_shows_hidden_tests(course):
    api = nbgrader_api(course)
    for student in ("ann", "bob"):
        result = api.generate_feedback(CHAPTER, student)
        assert result["success"], result.get("error")
        page = course / "feedback" / student / CHAPTER / f"{NOTEBOOK}.html"
        secret = _secret(course, student)
        release = nbformat.read(str(course / "release" / CHAPTER / f"{NOTEBOOK}.ipynb"), 4)
        visible = [line.strip() for cell in release.cells if cells.is_test(cell)
                   for line in cell.source.split("\n") if len(line.strip()) > 15]
        assert secret and visible and all(line in _text(page) for line in visible)  # control
        assert not _shows_secret(page, secret)
        # ann's written answers wait for a human: pending, not 0; bob left them blank: 0
        assert ("pending" in _text(page)) == (student == "ann")


def test_nbgraders_feedback_shows_unmarked_answers_as_pending(course):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "cnn-basics") as gb:
        notebook = gb.find_submission_notebook(NOTEBOOK, CHAPTER, "ann")
        unmarked = [g for g in notebook.grades
                    if g.auto_score is None and g.manual_score is None]
        graded, pending = notebook.score, sum(g.max_score for g in unmarked)
    assert unmarked                                   # control: something waits for a human
    result = nbgrader_api(course).generate_feedback(CHAPTER, "ann")
    assert result["success"], result.get("error")
    text = _text(course / "feedback" / "ann" / CHAPTER / f"{NOTEBOOK}.html")
    assert f"{round(graded, 2)} graded, {pending:g} pending" in text
    assert text.count("pending") >= len(unmarked) + 1
