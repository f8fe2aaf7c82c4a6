"""nbgrader's own entry points in this course's config: feedback never shows hidden-test code,
and nbgrader's Autograde (CLI and formgrader button) is routed to the sandboxed grader."""
import nbformat
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.utils.importstring import import_item

from autograder.coursedir import ROOT, nbgrader_config
from autograder.nbgrader_safe import ClearHiddenTestCode, SandboxedAutograde, stock_config
from tests.chapters import nbgrader

HIDDEN = "### BEGIN HIDDEN TESTS"


def _hidden_lines(cell):
    """The code lines of a test cell's hidden region that its visible part does not have."""
    lines = cell.source.split("\n")
    start = next(i for i, line in enumerate(lines) if HIDDEN in line)
    end = next(i for i, line in enumerate(lines) if "### END HIDDEN TESTS" in line)
    visible = {line.strip() for line in lines[:start] + lines[end + 1:]}
    return [line for line in lines[start + 1:end] if line.strip() not in visible | {""}]


def test_hidden_test_code_and_its_tracebacks_are_cleared():
    nb = nbformat.read(str(ROOT / "source" / "02_cross_correlation" / "cross_correlation.ipynb"),
                       as_version=4)
    cells = [c for c in nb.cells if HIDDEN in c.source]
    hidden = {id(c): _hidden_lines(c) for c in cells}
    assert cells and all(hidden.values())
    for cell in cells:   # as stock nbgrader leaves them: a failed hidden assert's traceback
        cell.outputs = [nbformat.v4.new_output(
            "error", ename="AssertionError", evalue="wrong size",
            traceback=["Traceback", *hidden[id(cell)], "AssertionError: wrong size"])]
    visible = [c for c in nb.cells if nbgrader(c).get("grade") and HIDDEN not in c.source]
    before = [c.source for c in visible]
    nb, _ = ClearHiddenTestCode().preprocess(nb, {})
    for cell in cells:
        shown = {line.strip() for line in cell.source.split("\n") + cell.outputs[0]["traceback"]}
        assert not shown & {line.strip() for line in hidden[id(cell)]}
        assert cell.outputs[0]["traceback"] == ["AssertionError: wrong size"]
    assert [c.source for c in visible] == before


def test_course_config_routes_nbgrader_to_the_safe_steps():
    config = nbgrader_config()
    coursedir = CourseDirectory(config=config)
    feedback = [import_item(p) if isinstance(p, str) else p
                for p in GenerateFeedback(coursedir=coursedir, config=config).preprocessors]
    assert ClearHiddenTestCode in feedback
    autograde = Autograde(coursedir=coursedir, config=config)
    steps = [import_item(p) for p in autograde.autograde_preprocessors]
    assert steps == [SandboxedAutograde]
    assert not any("OverwriteCells" in p for p in autograde.sanitize_preprocessors)


def test_stock_config_is_stock_autograde(tmp_path):
    """The proofs' and the benchmark's config: nbgrader's own steps (for trusted code only)."""
    (tmp_path / "nbgrader_config.py").write_text(stock_config(ROOT / "nbgrader_config.py"))
    from traitlets.config.loader import PyFileConfigLoader
    config = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
    merged = Config()
    merged.merge(config)
    autograde = Autograde(coursedir=CourseDirectory(config=merged), config=merged)
    assert [p.__name__ for p in autograde.autograde_preprocessors][0] == "Execute"
    assert "OverwriteCells" in [p.__name__ for p in autograde.sanitize_preprocessors]


def test_nbgraders_markers_in_a_students_cell_are_data():
    """A solution that writes ``# BEGIN HIDDEN TESTS`` (never closed) keeps it; the test cells
    still lose their hidden regions (nbgrader's own step fails the whole page)."""
    nb = nbformat.read(str(ROOT / "source" / "02_cross_correlation" / "cross_correlation.ipynb"),
                       as_version=4)
    tests = [c for c in nb.cells if HIDDEN in c.source]
    hidden = {id(c): {line.strip() for line in _hidden_lines(c)} for c in tests}
    solution = next(c for c in nb.cells if nbgrader(c).get("solution")
                    and c.cell_type == "code")
    solution.source += "\n# BEGIN HIDDEN TESTS\n# ### BEGIN SOLUTION"
    written = solution.source
    nb, _ = ClearHiddenTestCode().preprocess(nb, {})
    assert solution.source == written
    assert tests and all(hidden.values())
    for cell in tests:
        assert not hidden[id(cell)] & {line.strip() for line in cell.source.split("\n")}
    forged = nbformat.v4.new_code_cell("x = 1\n### BEGIN HIDDEN TESTS\nassert secret()",
                                       metadata={"nbgrader": {"grade": True, "solution": False,
                                                              "grade_id": "t", "points": 1}})
    ClearHiddenTestCode().preprocess_cell(forged, {}, 0)   # unclosed: hidden to the end
    assert forged.source == "x = 1"
