"""The instructor's round trip in a real browser: `autograde`, then nbgrader's formgrader in
JupyterLab (headless Chromium) to grade a written answer, then `autograde export` and nbgrader's
own `generate_feedback` show it, with no hidden test anywhere.

Screenshots of the grading page and the feedback page go to artifacts/. Run it alone with
``pytest -m browser tests/test_formgrader.py``.
"""
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.coursedir import ROOT, nbgrader_api
from autograder.tools.demo import write_class
from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, jupyterlab_server, require_browser
from tests.test_nbgrader_safe import HIDDEN, _hidden_lines

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHAPTER, NOTEBOOK, ANSWER = "01_locality", "locality", "q_invariance"
COMMENT = "Right idea: the same kernel at every position. Say why that saves parameters."


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course directory graded by `autograde`: ann handed in the answer key, bob the release."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for part in ("source", "release"):
        shutil.copytree(ROOT / part / CHAPTER, root / part / CHAPTER)
    write_class(root / "submitted", {("ann", CHAPTER): "complete", ("bob", CHAPTER): "blank"})
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    subprocess.run([Path(sys.executable).parent / "autograde", "submitted", "--out", "out",
                    "--workers", "1"], cwd=root, env=env, check=True, capture_output=True)
    return root


def _gradebook(course):
    from nbgrader.api import Gradebook
    return Gradebook(f"sqlite:///{course / 'gradebook.db'}", "cnn-basics")


def test_grade_a_written_answer_in_formgrader_then_export_and_feedback(course, tmp_path_factory):
    require_browser()
    from playwright.sync_api import sync_playwright
    with _gradebook(course) as gb:
        submission = gb.find_submission_notebook(NOTEBOOK, CHAPTER, "ann")
        assert submission.needs_manual_grade
        notebook_id, before = submission.id, gb.find_submission(CHAPTER, "ann").score
    with jupyterlab_server(course, tmp_path_factory.mktemp("home")) as (url, token), \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        # the page's own API calls carry no token: every request gets it as a header
        page = browser.new_page(viewport={"width": 1280, "height": 900},
                                extra_http_headers={"Authorization": f"token {token}"})
        page.goto(f"{url}/formgrader/submissions/{notebook_id}/?token={token}")
        grade_by_hand(page, ANSWER, 1.5, COMMENT)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "formgrader_grading.png"))
        assert HIDDEN not in page.content()
        _check_and_export(course, before)
        result = nbgrader_api(course).generate_feedback(CHAPTER, "ann")
        assert result["success"], result.get("error")
        feedback = course / "feedback" / "ann" / CHAPTER / f"{NOTEBOOK}.html"
        page.goto(feedback.as_uri())
        page.get_by_text(COMMENT).first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "feedback_after_hand_grading.png"))
        shown = {line.strip() for line in page.inner_text("body").splitlines()}
        browser.close()
    text = feedback.read_text()
    assert COMMENT in text and "1.5" in text
    assert HIDDEN not in text
    hidden = [cell for cell in nbformat.read(str(ROOT / "source" / CHAPTER / f"{NOTEBOOK}.ipynb"),
                                             4).cells if HIDDEN in cell.source]
    submitted = nbformat.read(str(course / "submitted" / "ann" / CHAPTER / f"{NOTEBOOK}.ipynb"), 4)
    own = {line.strip() for cell in submitted.cells for line in cell.source.split("\n")}
    secret = {line.strip() for cell in hidden for line in _hidden_lines(cell)} - own
    assert secret and COMMENT in " ".join(shown) and ": tests" in " ".join(shown)   # text read
    assert not shown & secret


def grade_by_hand(page, answer, score, comment, timeout=60_000):
    """On the formgrader's page of one submitted notebook (its Manual Grading view), give the
    written answer ``answer`` (its grade id) ``score`` points and ``comment``, as a grader
    types them; each field is saved (its PUT answered) before the next."""
    points = page.locator(f"input.score#{answer}")
    points.wait_for(timeout=timeout)
    page.wait_for_function("window.formgrader && formgrader.grades && formgrader.comments"
                           " && formgrader.grades.loaded && formgrader.comments.loaded",
                           timeout=timeout)   # the page's fields are bound to the gradebook
    for field, value, api in ((points, str(score), "/formgrader/api/grade/"),
                              (page.locator(f"textarea#{answer}-comment"), comment,
                               "/formgrader/api/comment/")):
        field.fill(value)
        with page.expect_response(lambda r: api in r.url and r.request.method == "PUT",
                                  timeout=timeout) as saved:
            field.press("Tab")   # the page saves a field when it changes
        assert saved.value.ok, saved.value.status
    points.scroll_into_view_if_needed()


def _check_and_export(course, before):
    """The hand grade is in the gradebook, and `autograde export` (canvas) includes it."""
    with _gradebook(course) as gb:
        gb.db.expire_all()
        grade = gb.find_grade(ANSWER, NOTEBOOK, CHAPTER, "ann")
        assert grade.manual_score == 1.5 and not grade.needs_manual_grade
        assert gb.find_comment(ANSWER, NOTEBOOK, CHAPTER, "ann").manual_comment == COMMENT
        after = gb.find_submission(CHAPTER, "ann").score
    assert after == before + 1.5
    export = course / "canvas.csv"
    subprocess.run([Path(sys.executable).parent / "autograde", "export", "--format", "canvas",
                    "--out", str(export)], cwd=course, check=False, capture_output=True)
    with open(export, newline="") as handle:
        rows = {row["SIS Login ID"]: row for row in csv.DictReader(handle)}
    assert float(rows["ann"][CHAPTER]) == after and float(rows["bob"][CHAPTER]) == 0
