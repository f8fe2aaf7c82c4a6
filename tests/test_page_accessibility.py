"""The instructor's report and a student's feedback page, read as a screen-reader or keyboard
user and a low-vision reader would: axe-core (from npm) in Chromium finds no WCAG 2.0/2.1 A or AA
violation; the page declares its language and underlines its links."""
import nbformat
import pytest

from autograder.engine.job import _verdict_outputs
from autograder.record import feedback, results
from autograder.report import class_report, sections, similarity
from tests import axe
from tests.chapters import BUILT, graded_tests, read, solution_names, source_notebook
from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, require_browser
from tests.test_report_sections import RECORDS

pytestmark = pytest.mark.browser


def report_page():
    """report.html for a small class: tables, plots, failures linked to feedback, similar
    answers side by side."""
    mine = ("def corr2d(X, K):\n    h, w = K.shape\n    Y = torch.zeros((X.shape[0] - h + 1, "
            "X.shape[1] - w + 1))  # the output: one cell per position of the kernel in X\n"
            "    for i in range(Y.shape[0]):\n        for j in range(Y.shape[1]):\n"
            "            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()\n    return Y")
    pairs = [similarity.Pair("02_cc", "corr2d", ("ann", "bob"), 0.97,
                             (mine, mine.replace("i", "r").replace("# the", "# an")))]
    records = [dict(record, score=1.0, max_score=4.0, isolation="namespaces",
                    reason="timed out") for record in RECORDS]
    records[0]["status"] = "flagged"
    page = class_report.html(records, ["a stray file: README.txt"])
    return page.replace("</body>", sections.similarity_section(similarity.groups(pairs))
                        + "</body>")


def feedback_page():
    """A student's feedback page for a whole chapter (its executed source notebook: code,
    outputs, passed tests, the explorers' pictures, written answers), with a failed test's
    verdict, a traceback in colour and a late penalty."""
    nb = read(source_notebook(BUILT[1]))
    test = next(cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade")
                and cell.cell_type == "code")
    test.outputs = [nbformat.from_dict(output) for output in _verdict_outputs(
        False, results.FAILED, "kernel flipped? — corr2d(X, K) is wrong at index (0, 0)", 3.0)]
    nb.cells.insert(nb.cells.index(test) + 1, nbformat.v4.new_code_cell(
        "corr2d(X, K)", outputs=[nbformat.v4.new_output(
            "error", ename="NotImplementedError", evalue="",
            traceback=["\x1b[0;31m-----\x1b[0m", "\x1b[0;31mNotImplementedError\x1b[0m: "
                       "\x1b[1;32mcorr2d\x1b[0m \x1b[0;36mline 3\x1b[0m"])]))
    grades = feedback.autograded_grades(nb)
    grades["late_penalty"] = 1.0
    return feedback.html(nb, grades, student="ada", assignment=BUILT[1],
                         notebook=source_notebook(BUILT[1]).stem)


def test_the_feedback_page_names_each_graded_cell_by_its_exercise_or_question():
    """Its table of contents and each graded cell's heading say "Exercise 1 · corr2d: tests"
    or "Question 1: your answer" with the points, as the chapter's headings do; never "Test
    cell", "In [ ]:" or an internal grade id."""
    from bs4 import BeautifulSoup
    page = BeautifulSoup(feedback_page(), "html.parser")
    nb = read(source_notebook(BUILT[1]))
    exercises = solution_names(nb)
    expected = [f"Exercise {k} · {name}: tests" for k, name in enumerate(exercises, 1)] + [
        f"Question {k}: your answer" for k in (1, 2)]
    toc = [item.get_text(" ", strip=True) for item in page.select("#toc li")]
    assert [entry.split(" (Score")[0] for entry in toc[:-1]] == expected, toc
    assert toc[0].endswith("(Score: 0.0 / 3.0)") and "pending / 2.0" in toc[-2]
    headings = [h.select_one(".nbgrader-label").get_text(strip=True)
                for h in page.select("div.nbgrader_cell .panel-heading")]
    assert headings[:2] == [f"Exercise 1 · {exercises[0]}: your code", expected[0]], headings
    assert set(expected) <= set(headings) and "Test cell" not in page.get_text()
    prompts = [cell.select_one(".input_prompt").get_text(strip=True)
               for cell in page.select("div.cell") if cell.select_one(".nbgrader_cell")]
    assert prompts and not any(prompts), prompts
    assert not any(grade_id in headings for grade_id in graded_tests(nb))


@pytest.fixture(scope="module")
def chromium():
    require_browser()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.mark.parametrize("name, make", [("report", report_page), ("feedback", feedback_page)])
def test_the_page_has_no_wcag_violation(chromium, tmp_path, name, make):
    path = tmp_path / f"{name}.html"
    path.write_text(make())
    page = chromium.new_page(viewport={"width": 1366, "height": 768})
    try:
        page.goto(path.as_uri())
        lang = page.evaluate("document.documentElement.lang")
        links = page.evaluate("[...document.querySelectorAll('a[href]')].filter(a => "
                              "a.offsetParent).map(a => getComputedStyle(a).textDecorationLine)")
        assert links and all("underline" in line for line in links), links
        found = axe.violations(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"page-{name}.png"))
    finally:
        page.close()
    assert not found, axe.summary(found)
    assert lang == "en"
