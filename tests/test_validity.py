"""Grading validity (issues 13 and 30): no honest answer is accused; every forbidden call is
flagged; each test cell judges the notebook as it is where that test cell stands.

The names each chapter's notebook binds are collected from its release notebook (the cells
the grader runs; names bound by an import, modules and imported routines, are left out: a
helper named ``torch`` would break the student's own code). Each one names a helper of an
honest answer, which keeps every point unflagged, and of a cheat that reaches the library
routine that is the answer through it, which is caught with the path named. A name the notes
bind again after a graded function's test cell (``pool = nn.MaxPool2d(...)`` after
``pool2d``'s test) is a helper of that function: what the notes bind later does not count. A
name the notes bind only before the graded functions is a helper of the chapter's last graded
function that has a forbidden routine (the student's ``def`` shadows the notes' binding), or,
if a notes cell rebinds it between that solution cell and its test, of a cell the student
adds at the end.
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
_POOL = "(F.max_pool2d if mode == 'max' else F.avg_pool2d)"
CHEATS = {
    "corr1d": "return F.conv1d(x[None, None], k[None, None])[0, 0]",
    "corr2d": "return F.conv2d(X[None, None], K[None, None])[0, 0]",
    "conv2d_true": "return F.conv2d(X[None, None], K.flip(0, 1)[None, None])[0, 0]",
    "corr2d_pad_stride": "return F.conv2d(X[None, None], K[None, None], padding=padding, "
                         "stride=stride)[0, 0]",
    "corr2d_multi_in": "return F.conv2d(X[None], K[None])[0, 0]",
    "corr2d_multi_in_out": "return F.conv2d(X[None], K)[0]",
    "corr2d_multi_in_out_1x1": "return F.conv2d(X[None], K)[0]",
    "pool2d": f"return {_POOL}(X[None, None], pool_size, stride=1)[0, 0]",
    "pool2d_pad_stride": f"return {_POOL}(X[None], pool_size, stride, padding)[0]",
    "pool2d_multi_channel": f"return {_POOL}(X, pool_size, stride, padding)",
    "corr2d_as_matrix": "return F.conv2d(torch.eye(n_h * n_w).reshape(-1, 1, n_h, n_w), "
                        "K[None, None]).flatten(1).T",
    "pad2d": "return F.pad(X, (padding,) * 4)",
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
def notes_bindings(assignment):
    """``{name: numbers of the notes cells binding it}`` over the release's notes code cells."""
    solutions = {solution_cell(assignment, name) for name in graded_names(assignment)}
    cells = [c for c in program(assignment) if c[0] not in solutions]
    return {name: sorted({b.cell for b in bindings})
            for name, bindings in Program(cells).bindings.items()
            if not any(b.line.startswith(("import ", "from ")) for b in bindings)}


def notes_names(assignment):
    """``{name: number of the last notes cell binding it}``."""
    return {name: cells[-1] for name, cells in notes_bindings(assignment).items()}


def solution_cell(assignment, name):
    return next(number for number, cell in enumerate(release_cells(assignment), 1)
                if accessors.grade_id(cell) == name)


def where_tested(assignment):
    """``{test grade id: cell number}``: where each test cell stands."""
    return {accessors.grade_id(c): number for number, c in enumerate(release_cells(assignment), 1)
            if accessors.is_test(c)}


@functools.lru_cache
def key_bindings(assignment):
    """The bindings of the answer key's ``program`` (built once: collecting the cases asks for
    them over a thousand times)."""
    return Program(program(assignment)).bindings


def uses(assignment, function):
    """The graded functions the answer key's ``function`` calls, directly or not."""
    bindings = key_bindings(assignment)
    found, todo = set(), [function]
    while todo:
        for read in bindings[todo.pop()][-1].later - found:
            if read in graded_names(assignment):
                found.add(read)
                todo.append(read)
    return found


def rebound_after_test(assignment, name):
    """The graded functions (with a forbidden routine, in cell order) whose helper ``name`` is
    the student's at their test cell, while the notes bind ``name`` again after it. Those a
    later test cell calls after that binding (``conv2d_true`` calls ``corr2d``) are left out:
    there the notes' value is what the helper name means, for nbgrader too (the notes keep such
    names unlike a helper's: ``pool_layer``, ``conv_layer``)."""
    cells, tests = notes_bindings(assignment)[name], where_tested(assignment)
    found = []
    for function in graded_names(assignment):
        begin, end = solution_cell(assignment, function), tests.get(f"test_{function}")
        if not (library.FORBIDDEN.get(function) and end and inspect.isfunction(
                getattr(answer_key, function)) and not any(begin < c < end for c in cells)):
            continue
        rebound = [c for c in cells if c > end]
        if rebound and not any(function in uses(assignment, other) and tests[f"test_{other}"]
                               > rebound[0] for other in graded_names(assignment)
                               if f"test_{other}" in tests):
            found.append(function)
    return found


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


def rebound_cases():
    for assignment in BUILT:
        for name in sorted(notes_names(assignment)):
            for function in rebound_after_test(assignment, name):
                yield pytest.param(assignment, name, function,
                                   id=f"{assignment}-{name}-in-{function}")


def submission_code(assignment, helpers, cheat=False):
    """``{graded name: solution code}`` of a submission whose graded functions use
    ``helpers``, each where it is the student's at the test cell: in the last graded function
    whose test comes before the notes bind it again, else in the chapter's last graded function
    with a forbidden routine (the student's ``def`` shadows the notes' earlier bindings).
    ``cheat``: the first helper of each function calls the library routine that is its answer."""
    placed = {}
    for helper in helpers:
        functions = rebound_after_test(assignment, helper) or [graded_function(assignment)]
        placed.setdefault(functions[-1], []).append(helper)
    return {function: chained(function, names, CHEATS[function] if cheat else None)
            for function, names in placed.items()}


def helper_function(assignment, name):
    """The graded function whose helper ``name`` is in ``submission_code``."""
    (function,) = submission_code(assignment, [name])
    return function


def test_every_notes_binding_has_a_place_as_a_helper():
    """Each notes name is the student's at its test cell where ``submission_code`` puts it."""
    for assignment in BUILT:
        for name in notes_names(assignment):
            function = helper_function(assignment, name)
            begin = solution_cell(assignment, function)
            end = where_tested(assignment)[f"test_{function}"]
            assert not any(begin < c < end for c in notes_bindings(assignment)[name]), \
                (assignment, name, function)


@pytest.mark.parametrize("assignment, name", list(helper_cases()))
def test_a_helper_named_like_a_notes_binding_is_not_accused(assignment, name):
    code = submission_code(assignment, [name])
    assert library.violations(program(assignment, code), set(graded_names(assignment)),
                              where_tested(assignment)) == {}


@pytest.mark.parametrize("assignment, name", list(helper_cases()))
def test_a_library_call_through_that_helper_is_caught_with_its_path(assignment, name):
    function = helper_function(assignment, name)
    code = submission_code(assignment, [name], cheat=True)
    found = library.violations(program(assignment, code), set(graded_names(assignment)),
                               where_tested(assignment))
    reason = found.get(f"test_{function}", "")
    assert "the library routine that is the answer, through" in reason, found
    assert f"`{name}` (cell {solution_cell(assignment, function)}: `def {name}(" in reason, reason


@pytest.mark.parametrize("assignment, name, function", list(rebound_cases()))
def test_a_helper_the_notes_rebind_after_the_test_cell_keeps_its_verdict(
        assignment, name, function):
    """Honest: nothing flagged (the notes' later binding is not what the test cell calls);
    the same helper calling the library: flagged, through the student's own binding."""
    honest = {function: chained(function, [name])}
    graded = set(graded_names(assignment))
    assert library.violations(program(assignment, honest), graded, where_tested(assignment)) == {}
    cheat = {function: chained(function, [name], CHEATS[function])}
    found = library.violations(program(assignment, cheat), graded, where_tested(assignment))
    reason = found.get(f"test_{function}", "")
    assert "the library routine that is the answer, through" in reason, found
    assert f"`{name}` (cell {solution_cell(assignment, function)}: `def {name}(" in reason, reason


@pytest.mark.slow
@pytest.mark.parametrize("assignment", BUILT)
def test_honest_helpers_named_like_every_notes_binding_keep_full_points(assignment, tmp_path):
    """One graded submission per chapter with every notes name at once as a helper, each the
    student's at its test cell, even if the notes bind it again later: every point, no flag.
    The same helpers where the first one calls the library: 0 and the flag there."""
    names = sorted(notes_names(assignment))
    job.warm_up()
    honest = job.grade(timing.sample_submission(assignment, "key", tmp_path / "honest",
                                                code=submission_code(assignment, names)))
    lost = [(c["grade_id"], c["message"]) for nb in honest["notebooks"] for c in nb["cells"]
            if c["kind"] == "autograded" and c["status"] != "passed"]
    assert not lost and honest["status"] == "graded" and not honest["flags"], \
        (lost, honest["reason"])
    code = submission_code(assignment, names, cheat=True)
    cheat = job.grade(timing.sample_submission(assignment, "key", tmp_path / "cheat", code=code))
    cells = {c["grade_id"]: c for nb in cheat["notebooks"] for c in nb["cells"]}
    for function, source in code.items():
        assert cells[f"test_{function}"]["points"] == 0.0, cells[f"test_{function}"]
        first = source.split("(", 1)[0].removeprefix("def ")
        assert any(f"library: {function} calls" in flag and f"`{first}` (cell " in flag
                   for flag in cheat["flags"]), (function, cheat["flags"])


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
