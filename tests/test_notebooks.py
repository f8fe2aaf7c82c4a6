"""Author -> release, proven: the source notebooks are built from their text sources and the
answer key, release/ is what nbgrader generates from source/, and nbgrader's own autograde gives
blank stubs 0, the answer key full points and wrong implementations nothing on their cells.

(nbval executes every source notebook and compares its outputs: ``pytest --nbval source``.)
"""
import shutil

import nbformat
import pytest

from autograder import author as authoring
from autograder.coursedir import ROOT, nbgrader_api
from autograder.nbgrader_safe import stock_config
from autograder.tools.submissions import fill, key_code
from tests.chapters import (BUILT, graded_tests, nbgrader, read, solution_names,
                            source_notebook, variants)

pytestmark = pytest.mark.skipif(not BUILT, reason="no chapter is built yet")


def cell_view(nb):
    """What a reviewer and nbgrader care about: each cell's id, type, source and grading."""
    return [(c.get("id"), c.cell_type, c.source, nbgrader(c)) for c in nb.cells]


@pytest.mark.parametrize("assignment", BUILT)
def test_source_notebook_is_built_from_text_and_answer_key(assignment):
    path = source_notebook(assignment)
    built = authoring.parse(path.with_suffix(".py"))
    assert cell_view(read(path)) == cell_view(built), (
        f"{path.relative_to(ROOT)} is out of date with its text source or the answer key: "
        f"run `python -m autograder.author {assignment}`")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A scratch course directory: a copy of source/ and the config (with nbgrader's stock
    autograde: the proofs run it on trusted code), released there by nbgrader."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "source", root / "source")
    (root / "nbgrader_config.py").write_text(stock_config(ROOT / "nbgrader_config.py"))
    authoring.release(BUILT, course_root=root)
    return root


@pytest.mark.parametrize("assignment", BUILT)
@pytest.mark.slow
def test_release_is_what_nbgrader_generates(course, assignment):
    for generated in sorted((course / "release" / assignment).iterdir()):
        committed = ROOT / "release" / assignment / generated.name
        assert committed.exists(), f"release/{assignment}/{generated.name} is missing"
        assert cell_view(read(committed)) == cell_view(read(generated)), (
            f"release/{assignment}/{generated.name} is out of date with source/: "
            f"run `python -m autograder.author {assignment}`")


#: What a variant may use (tests/variants), imported in the cell that holds it.
VARIANT_IMPORTS = ("import math\nimport torch\nfrom torch import nn\n"
                   "from torch.nn import functional as F\nfrom d2l import torch as d2l\n"
                   "from course import pair\n\n")


@pytest.fixture(scope="module")
def autograded(course):
    """nbgrader's own autograde of three students: blank stubs, the answer key, all wrong."""
    students = ("blank", "key", "wrong")
    for assignment in BUILT:
        key = key_code(read(source_notebook(assignment)))
        wrong = {name: VARIANT_IMPORTS + entries[0][1]
                 for name, entries in variants(assignment).WRONG.items()}
        codes = {"blank": None, "key": key, "wrong": wrong}
        for release in (course / "release" / assignment).glob("*.ipynb"):
            for student, code in codes.items():
                nb = nbformat.from_dict(fill(read(release), code or {}))
                target = course / "submitted" / student / assignment / release.name
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, str(target))
    api = nbgrader_api(course)
    for assignment in BUILT:
        result = api.autograde(assignment, "*")
        assert result["success"], result.get("error", "") + result.get("log", "")
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {}
        for assignment in BUILT:
            for student in students:
                submission = gradebook.find_submission(assignment, student)
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        if grade.auto_score is not None:
                            scores[assignment, student, grade.name] = (grade.auto_score,
                                                                        grade.max_score)
    return scores


@pytest.mark.parametrize("assignment", BUILT)
@pytest.mark.slow
def test_nbgrader_scores_blank_key_and_wrong(autograded, assignment):
    tests = graded_tests(read(source_notebook(assignment)))
    for test_id in tests:
        blank, max_score = autograded[assignment, "blank", test_id]
        key, _ = autograded[assignment, "key", test_id]
        wrong, _ = autograded[assignment, "wrong", test_id]
        assert blank == 0, f"{test_id}: an untouched stub earned {blank} points"
        assert key == max_score > 0, f"{test_id}: the answer key earned {key} of {max_score}"
        assert wrong == 0, f"{test_id}: a wrong implementation earned {wrong} points"


@pytest.mark.parametrize("assignment", BUILT)
@pytest.mark.slow
def test_release_runs_with_errors_only_in_stub_tests(course, autograded, assignment):
    """A blank release notebook, run top to bottom, errs only in the test cells of the stubs."""
    (path,) = (course / "autograded" / "blank" / assignment).glob("*.ipynb")
    nb = read(path)
    names = solution_names(read(source_notebook(assignment)))
    for cell in nb.cells:
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if not errors:
            continue
        meta = nbgrader(cell)
        is_test = meta.get("grade") and not meta.get("solution")
        calls_stub = any(name in cell.source for name in names)
        assert is_test or calls_stub, (
            f"{path.name}: a cell that is neither a test nor a use of a stub fails "
            f"({errors[0].ename}: {errors[0].evalue}):\n{cell.source[:200]}")
