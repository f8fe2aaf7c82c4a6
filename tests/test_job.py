"""The grading engine, both directions: right answers get full points, wrong ones lose them.

A small fixture chapter (``tests/hostile/course_fixture.py``) proves the contract of
``grade(job) -> record`` cell by cell; every built chapter of the course is then graded
with its answer key, a blank release, and the chapter's honest and wrong variants
(``tests/variants``). The hostile submissions are in ``test_hostile.py``.
"""
import importlib
import json
import re
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from nbgrader.api import Gradebook
from nbgrader.preprocessors import SaveAutoGrades, SaveCells

from autograder.engine import isolation, job
from autograder.engine.cells import nbgrader, source
from autograder.tools import timing
from tests.chapters import BUILT
from tests.hostile import course_fixture

pytestmark = pytest.mark.slow

WRONG_POOL2D = '''def pool2d(X, pool_size, mode='max'):
    p_h, p_w = pool_size
    Y = torch.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = X[i:i + p_h, j:j + p_w].mean()   # always averages
    return Y
'''
WRONG_CORR2D = '''def corr2d(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K.flip(0, 1)).sum()   # kernel flipped
    return Y
'''

#: Cells a student adds after a test cell (its grade id): they break what it tested.
LATER_CELLS_BREAK = [
    ("test_fc_param_count", "fc_param_count = lambda *args, **kwargs: -1"),
    ("test_pool2d", "corr2d = lambda X, K: F.conv2d(X[None, None], K[None, None])[0, 0]\n"
                    "del pool2d\nedge_kernel = None"),
]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return course_fixture.build(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="module")
def graded(course):
    """``{name: (job, record)}`` for the fixture's submissions, graded in one batch."""
    submissions = {
        "key": {},
        "blank": {"code": {n: None for n in course_fixture.answer_key_code(course)},
                  "answer": None},
        "blank_code": {"code": {n: "" for n in course_fixture.answer_key_code(course)}},
        "wrong_pool2d": {"code": {"pool2d": WRONG_POOL2D}},
        "wrong_corr2d": {"code": {"corr2d": WRONG_CORR2D}},
        "later_cells_break": {"extra": LATER_CELLS_BREAK},
        "earlier_cell_breaks": {"extra": [("pool2d", "del pool2d")]},
    }
    job.warm_up()
    results = {}
    for name, options in submissions.items():
        folder = course_fixture.submission(course, name, **options)
        grading = _job(course, name, folder)
        results[name] = grading, job.grade(grading)
    return results


def _job(course, name, folder):
    return job.Job(student_id=name, assignment=course_fixture.ASSIGNMENT, submission=str(folder),
                   release=str(course / "release" / course_fixture.ASSIGNMENT),
                   source=str(course / "source" / course_fixture.ASSIGNMENT), cell_timeout=10)


def _points(record):
    (notebook,) = record["notebooks"]
    return {cell["grade_id"]: cell["points"] for cell in notebook["cells"]}


def test_answer_key_gets_every_point(graded):
    _, record = graded["key"]
    assert (record["status"], record["flags"], record["reason"]) == ("graded", [], "")
    assert (record["score"], record["max_score"]) == (12.0, 14.0)
    (notebook,) = record["notebooks"]
    statuses = {cell["grade_id"]: (cell["kind"], cell["status"]) for cell in notebook["cells"]}
    assert statuses == {"test_fc_param_count": ("autograded", "passed"),
                        "test_corr2d": ("autograded", "passed"),
                        "test_Conv2D": ("autograded", "passed"),
                        "test_edge_kernel": ("autograded", "passed"),
                        "test_pool2d": ("autograded", "passed"),
                        "q_sharing": ("manual", "manual")}
    assert _points(record)["q_sharing"] is None, "a written answer waits for a human"


@pytest.mark.parametrize("name", ["blank", "blank_code"])
def test_blank_stubs_score_zero(graded, name):
    _, record = graded[name]
    assert record["status"] == "graded" and record["score"] == 0.0
    (notebook,) = record["notebooks"]
    for cell in notebook["cells"]:
        assert cell["points"] in (0.0, None)
        if cell["kind"] == "autograded":
            assert cell["status"] in ("failed", "error")
            assert "NotImplementedError" in cell["message"] or "not defined" in cell["message"]
    if name == "blank":
        answer = [c for c in notebook["cells"] if c["kind"] == "manual"][0]
        assert (answer["status"], answer["points"]) == ("missing", 0.0), "nbgrader: no response"


def test_wrong_code_loses_the_points_of_its_cell(graded):
    points = _points(graded["wrong_pool2d"][1])
    assert points == {"test_fc_param_count": 2.0, "test_corr2d": 3.0, "test_Conv2D": 2.0,
                      "test_edge_kernel": 2.0, "test_pool2d": 0.0, "q_sharing": None}
    (notebook,) = graded["wrong_pool2d"][1]["notebooks"]
    (pool,) = [c for c in notebook["cells"] if c["grade_id"] == "test_pool2d"]
    assert pool["status"] == "failed" and pool["message"].startswith("pool2d(X, (2, 2)) is wrong")
    # Conv2D is built on the student's corr2d: a flipped kernel costs both.
    points = _points(graded["wrong_corr2d"][1])
    assert points["test_corr2d"] == points["test_Conv2D"] == 0.0
    assert points["test_pool2d"] == 3.0 and points["test_edge_kernel"] == 2.0


def test_a_test_cell_judges_the_notebook_where_it_stands(graded):
    """Later cells that rebind, delete or turn a graded name into a library call change
    nothing (nbgrader runs a test cell where it stands); an earlier one does."""
    key = _points(graded["key"][1])
    record = graded["later_cells_break"][1]
    assert _points(record) == key and record["status"] == "graded" and not record["flags"], \
        record["reason"]
    points = _points(graded["earlier_cell_breaks"][1])
    assert points == {**key, "test_pool2d": 0.0}


def test_record_is_json_with_the_contract_fields(graded):
    _, record = graded["key"]
    assert json.loads(json.dumps(record)) == record
    assert set(record) == {"student_id", "assignment", "status", "reason", "score",
                           "max_score", "flags", "notebooks", "timings", "isolation"}
    assert record["isolation"] == job.isolation_layer() in isolation.LAYERS   # never "none"
    assert set(record["timings"]) == {"fork", "student_code", "tests", "total"}
    (notebook,) = record["notebooks"]
    assert set(notebook) == {"name", "status", "reason", "notebook", "cells"}
    for cell in notebook["cells"]:
        assert set(cell) == {"grade_id", "kind", "points", "max_points", "status", "message"}


def test_autograded_notebook_is_the_release_plus_the_students_answers(course, graded):
    grading, record = graded["wrong_corr2d"]
    (notebook,) = record["notebooks"]
    nb = nbformat.from_dict(notebook["notebook"])
    nbformat.validate(nb)
    release = json.loads((course / "release" / "fixture" / "fixture.ipynb").read_text())
    locked = {nbgrader(c)["grade_id"]: c for c in release["cells"]
              if nbgrader(c).get("locked")}
    cells = {nbgrader(c).get("grade_id"): c for c in nb.cells}
    for grade_id, original in locked.items():
        assert cells[grade_id].source == source(original)
        assert cells[grade_id].metadata["nbgrader"] == original["metadata"]["nbgrader"]
    assert "HIDDEN" not in json.dumps(notebook["notebook"]), "hidden tests never leak"
    assert cells["test_corr2d"].outputs[0]["output_type"] == "error"
    assert cells["test_pool2d"].outputs[0]["text"].startswith("passed")
    assert "K.flip(0, 1)" in cells["corr2d"].source, "the student's own solution is kept"
    demo = [c for c in nb.cells if c.cell_type == "code" and "corr2d(X, K)" in c.source
            and not nbgrader(c)]
    assert demo[0].outputs[0]["output_type"] == "execute_result", "outputs of the student's run"


def test_nbgrader_saves_the_same_grades(course, graded, tmp_path):
    """The autograded notebook goes through nbgrader's own SaveAutoGrades unchanged."""
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    source = nbformat.read(str(course / "source" / "fixture" / "fixture.ipynb"), as_version=4)
    with Gradebook(db_url) as gradebook:
        gradebook.add_assignment("fixture")
    resources = {"nbgrader": {"db_url": db_url, "assignment": "fixture", "notebook": "fixture"}}
    SaveCells().preprocess(source, resources)
    for name in ("key", "blank", "wrong_corr2d"):
        _, record = graded[name]
        with Gradebook(db_url) as gradebook:
            gradebook.add_student(name)
            gradebook.add_submission("fixture", name)
        (notebook,) = record["notebooks"]
        SaveAutoGrades().preprocess(nbformat.from_dict(notebook["notebook"]), {
            "nbgrader": dict(resources["nbgrader"], student=name)})
        with Gradebook(db_url) as gradebook:
            saved = {grade.name: grade.auto_score for grade in
                     gradebook.find_submission_notebook("fixture", "fixture", name).grades}
        assert saved == {cell["grade_id"]: cell["points"] for cell in notebook["cells"]}


def test_unusable_submissions_are_errors_with_a_reason(course, tmp_path):
    job.warm_up()
    folder = tmp_path / "broken" / "fixture"
    folder.mkdir(parents=True)
    (folder / "fixture.ipynb").write_text("{ this is not json")
    record = job.grade(_job(course, "broken", folder))
    assert record["status"] == "error" and "not a valid notebook" in record["reason"]
    assert (record["score"], record["max_score"]) == (0.0, 14.0)
    (folder / "fixture.ipynb").unlink()
    (folder / "fixture.ipynb").symlink_to(course / "source" / "fixture" / "fixture.ipynb")
    record = job.grade(_job(course, "linked", folder))
    assert record["status"] == "error" and "symbolic link" in record["reason"], \
        "a symlink to the source notebook must not be graded as the student's work"
    assert record["score"] == 0.0
    (folder / "fixture.ipynb").unlink()
    (folder / "Fixture (1).ipynb").write_text("{}")
    record = job.grade(_job(course, "renamed", folder))
    assert record["status"] == "error" and "fixture.ipynb is missing" in record["reason"]
    assert {c["status"] for c in record["notebooks"][0]["cells"]} == {"missing"}




@pytest.mark.parametrize("assignment", BUILT)
def test_every_chapter_both_directions(assignment, tmp_path):
    """The answer key and an honest variant of every function get every autograded point;
    the blank release and a wrong variant of every function get none."""
    variants = importlib.import_module(f"tests.variants.{assignment}")
    prelude = "import math\nfrom course import pair\n"
    submissions = {
        "key": ("key", None),
        "blank": ("blank", None),
        "honest": ("key", {n: prelude + v[-1] for n, v in variants.HONEST.items()}),
        "wrong": ("key", {n: prelude + v[0][1] for n, v in variants.WRONG.items()}),
    }
    job.warm_up()
    for name, (kind, code) in submissions.items():
        record = job.grade(timing.sample_submission(assignment, kind, tmp_path / name, code=code))
        cells = [c for nb in record["notebooks"] for c in nb["cells"] if c["kind"] == "autograded"]
        full = name in ("key", "honest")
        wrong = [(c["grade_id"], c["message"]) for c in cells
                 if (c["status"] == "passed") != full]
        assert not wrong, (name, wrong)
        if full:
            assert record["status"] == "graded", record["reason"]


def test_an_error_names_its_type_once(graded):
    """A test cell that raised shows "NotImplementedError: ...", not the type twice."""
    _, record = graded["blank"]
    (notebook,) = record["notebooks"]
    errors = [output for cell in notebook["notebook"]["cells"] for output in cell.get("outputs", [])
              if output["output_type"] == "error" and nbgrader(cell).get("grade")]
    assert errors, "the blank submission's test cells failed"
    for error in errors:
        assert error["traceback"] == [f"{error['ename']}: {error['evalue']}"]
        assert not error["evalue"].startswith(error["ename"]), error
        assert error["ename"].isidentifier(), error   # "NotImplementedError", not "...Error:"


def test_finished_sandboxes_leave_without_python_shutdown(graded):
    """A sandbox's parent S outlives the grader's interest in it (the grader closes a session
    without waiting): it ends with ``os._exit``, never by unwinding into the template's loop
    and through the interpreter's shutdown of torch, d2l and matplotlib (0.3-0.5 s of CPU for
    every notebook), which would leave its traceback in the template's log."""
    template = job._zygote
    written = template.log.seek(0, 2)   # what earlier sandboxes wrote is not this test's
    record = job.grade(graded["key"][0])
    assert record["status"] == "graded", record["reason"]
    deadline = time.monotonic() + 60
    while psutil.Process(template.process.pid).children() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not psutil.Process(template.process.pid).children(), "sandboxes still running"
    template.log.seek(written)
    log = template.log.read().decode(errors="replace")
    assert "Traceback" not in log, log[-2000:]


def test_the_template_forks_from_huge_pages(graded):
    """The template's memory is in transparent huge pages where the kernel allows them: a fork
    copies, and an exit frees, one page-table entry per 2 MB of it."""
    modes = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not modes.exists() or "[never]" in modes.read_text():
        pytest.skip("transparent huge pages are off on this machine")
    rollup = Path(f"/proc/{job._zygote.process.pid}/smaps_rollup").read_text()
    huge = int(re.search(r"AnonHugePages:\s+(\d+) kB", rollup).group(1))
    assert huge > 256 << 10, rollup   # most of its ~475 MB of private memory
