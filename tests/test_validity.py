"""Grading validity (issue 13): no honest answer is accused; every forbidden call is flagged.

The names each chapter's notebook binds are collected from its release notebook (the cells
the grader runs; names bound by an import, modules and imported routines, are left out: a
helper named ``torch`` would break the student's own code). Each one names a helper of an
honest answer, which keeps every point unflagged, and of a cheat that reaches the library
routine that is the answer through it, which is caught with the path named. The helper lives
in the solution cell of the chapter's last graded function that has a forbidden routine, or,
if a notes cell rebinds the name after that cell (then the notes' value is what the tests
would call), in a cell the student adds at the end.
"""
import functools
import inspect
import json
import textwrap

import pytest

from autograder import answer_key
from autograder.coursedir import CourseDir
from autograder.engine import cells as accessors, job, library
from autograder.tools import timing
from autograder.engine.program import Program
from course import checks
from tests.chapters import BUILT
from tests.hostile import course_fixture

#: A body for each chapter's helper-using function that calls the routine that is its answer.
CHEATS = {
    "corr1d": "return F.conv1d(x[None, None], k[None, None])[0, 0]",
    "corr2d_as_matrix": "return F.conv2d(torch.eye(n_h * n_w).reshape(-1, 1, n_h, n_w), "
                        "K[None, None]).flatten(1).T",
    "mirror_pad2d": "return F.pad(X[None], (padding,) * 4, mode='reflect')[0]",
    "compose_kernels": "return F.conv_transpose2d(K1[None, None], K2[None, None])[0, 0]",
    "max_via_relu": "return torch.maximum(a, b)",
}


@functools.lru_cache
def release_cells(assignment):
    """The release notebook's cells, as dicts."""
    (path,) = CourseDir().release(assignment).glob("*.ipynb")
    return json.loads(path.read_text())["cells"]


def graded_names(assignment):
    """The chapter's graded functions, in cell order."""
    return [accessors.grade_id(c) for c in release_cells(assignment)
            if c["cell_type"] == "code" and accessors.nbgrader(c).get("solution")]


def graded_function(assignment):
    """The chapter's last graded function that has a forbidden routine."""
    return [n for n in graded_names(assignment) if library.FORBIDDEN.get(n)][-1]


def program(assignment, code=None, extra=None):
    """``(number, source, editable)`` of the cells the grader runs: the release with the
    answer key's solutions, ``code`` (``{name: source}``) replacing some, ``extra`` added."""
    cells = []
    for number, cell in enumerate(release_cells(assignment), 1):
        meta = accessors.nbgrader(cell)
        if cell["cell_type"] != "code" or accessors.is_test(cell):
            continue
        text = accessors.source(cell)
        if meta.get("solution"):
            name = meta["grade_id"]
            text = (code or {}).get(name) or inspect.getsource(getattr(answer_key, name))
        cells.append((number, text, not meta.get("locked")))
    return cells + ([(len(release_cells(assignment)) + 1, extra, True)] if extra else [])


@functools.lru_cache
def notes_names(assignment):
    """``{name: number of the last cell binding it}`` over the release's notes code cells."""
    solutions = {solution_cell(assignment, name) for name in graded_names(assignment)}
    cells = [c for c in program(assignment) if c[0] not in solutions]
    last = {}
    for name, bindings in Program(cells).bindings.items():
        if not any(b.line.startswith(("import ", "from ")) for b in bindings):
            last[name] = bindings[-1].cell
    return last


def solution_cell(assignment, name):
    return next(number for number, cell in enumerate(release_cells(assignment), 1)
                if accessors.grade_id(cell) == name)


def chained(function, helpers, body=None, after=None):
    """Code defining ``helpers`` in turn, each calling the one before, and ``function``
    calling the last. The first one calls ``after``, or is the answer key's code for
    ``function``, or a cheat's ``body``."""
    if after:
        code = f"def {helpers[0]}(*args, **kwargs):\n    return {after}(*args, **kwargs)\n"
    elif body is None:
        code = textwrap.dedent(inspect.getsource(getattr(answer_key, function)))
        code = code.replace(f"def {function}(", f"def {helpers[0]}(", 1)
    else:
        signature = inspect.signature(getattr(answer_key, function))
        code = f"def {helpers[0]}{signature}:\n    {body}\n"
    for before, name in zip(helpers, helpers[1:]):
        code += f"\n\ndef {name}(*args, **kwargs):\n    return {before}(*args, **kwargs)\n"
    return code + f"\n\ndef {function}(*args, **kwargs):\n    return {helpers[-1]}(*args, **kwargs)\n"


def helper_cases():
    for assignment in BUILT:
        for name in sorted(notes_names(assignment)):
            yield pytest.param(assignment, name, id=f"{assignment}-{name}")


def submission_code(assignment, helpers, body=None):
    """``(code, extra)``: the solution cell and the added last cell (or None) of a submission
    whose graded function uses ``helpers``, each placed where it is live when the tests run
    (the solution cell, unless a notes cell after it rebinds the name)."""
    function = graded_function(assignment)
    cell = solution_cell(assignment, function)
    early = [h for h in helpers if notes_names(assignment)[h] < cell]
    late = [h for h in helpers if notes_names(assignment)[h] > cell]
    code = {function: chained(function, early, body)} if early else {}
    extra = chained(function, late, body, after=early[-1] if early else None) if late else None
    return code, extra


@pytest.mark.parametrize("assignment, name", list(helper_cases()))
def test_a_helper_named_like_a_notes_binding_is_not_accused(assignment, name):
    code, extra = submission_code(assignment, [name])
    assert library.violations(program(assignment, code, extra), set(graded_names(assignment))) == {}


@pytest.mark.parametrize("assignment, name", list(helper_cases()))
def test_a_library_call_through_that_helper_is_caught_with_its_path(assignment, name):
    function = graded_function(assignment)
    code, extra = submission_code(assignment, [name], CHEATS[function])
    found = library.violations(program(assignment, code, extra), set(graded_names(assignment)))
    reason = found.get(f"test_{function}", "")
    assert "the library routine that is the answer, through" in reason, found
    assert f"`{name}` (cell " in reason, reason


@pytest.mark.slow
@pytest.mark.parametrize("assignment", BUILT)
def test_honest_helpers_named_like_every_notes_binding_keep_full_points(assignment, tmp_path):
    """One graded submission per chapter: every notes name at once as a helper."""
    code, extra = submission_code(assignment, sorted(notes_names(assignment)))
    grading = timing.sample_submission(assignment, "key", tmp_path, code=code)
    if extra:
        for path in tmp_path.glob("*.ipynb"):
            nb = json.loads(path.read_text())
            nb["cells"].append({"cell_type": "code", "id": "added-by-student", "metadata": {},
                                "source": "import math\nfrom course import pair\n" + extra,
                                "outputs": [], "execution_count": None})
            path.write_text(json.dumps(nb))
    job.warm_up()
    record = job.grade(grading)
    lost = [(c["grade_id"], c["message"]) for nb in record["notebooks"] for c in nb["cells"]
            if c["kind"] == "autograded" and c["status"] != "passed"]
    assert not lost and record["status"] == "graded" and not record["flags"], \
        (lost, record["reason"])


@pytest.mark.slow
def test_a_forbidden_call_found_only_at_run_time_is_flagged_like_a_static_one(
        tmp_path, monkeypatch):
    """The same cheat graded twice: found by the code check, then (with conv2d taken off the
    code check's list, as for a routine it does not know by name) by the tests' trace."""
    root = course_fixture.build(tmp_path / "course")
    cheat = {"corr2d": "def corr2d(X, K):\n    return F.conv2d(X[None, None], K[None, None])[0, 0]\n"}
    folder = course_fixture.submission(root, "cheat", cheat)
    grading = job.Job(student_id="cheat", assignment=course_fixture.ASSIGNMENT,
                      submission=str(folder), release=str(root / "release" / "fixture"),
                      source=str(root / "source" / "fixture"), cell_timeout=10)
    job.warm_up()
    records = [job.grade(grading)]
    for name in ("corr2d", "Conv2D"):
        monkeypatch.setitem(library.FORBIDDEN, name, library.CONVOLUTION - {"conv2d"})
    records.append(job.grade(grading))
    static, traced = ([f for f in r["flags"] if "library: corr2d" in f] for r in records)
    assert static == [f"fixture: library: {checks.library_message('corr2d', ['conv2d'])}"]
    assert traced == [f"fixture: library: "
                      f"{checks.traced_message('corr2d', ['convolution'], ['convolution'], ', when the tests ran it')}"]
    for record in records:
        (notebook,) = record["notebooks"]
        cells = {c["grade_id"]: c for c in notebook["cells"]}
        assert record["status"] == "flagged"
        assert cells["test_corr2d"]["points"] == 0.0 and cells["test_corr2d"]["status"] == "failed"
        assert cells["test_pool2d"]["points"] == cells["test_pool2d"]["max_points"]
