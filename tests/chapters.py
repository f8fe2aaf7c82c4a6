"""What the tests need to know about the chapters: their notebooks and graded cells."""
import importlib

import nbformat

from autograder.coursedir import ROOT, chapters
from autograder.engine.cells import nbgrader

#: Chapters whose source notebook exists (all five once the course is complete).
BUILT = chapters()


def source_notebook(assignment):
    """Path of the chapter's source notebook, ``source/<assignment>/<notebook>.ipynb``."""
    (path,) = (ROOT / "source" / assignment).glob("*.ipynb")
    return path


def read(path):
    return nbformat.read(str(path), as_version=4)


def solution_names(nb):
    """Grade ids of the solution code cells: the graded names the student defines."""
    return [nbgrader(c)["grade_id"] for c in nb.cells
            if c.cell_type == "code" and nbgrader(c).get("solution")]


def graded_tests(nb):
    """``{grade_id: source}`` of the autograded test cells, hidden tests included."""
    return {nbgrader(c)["grade_id"]: c.source for c in nb.cells
            if c.cell_type == "code" and nbgrader(c).get("grade") and not nbgrader(c).get("solution")}


def variants(assignment):
    """The chapter's catalogue of honest and wrong implementations, ``tests/variants/<a>.py``."""
    return importlib.import_module(f"tests.variants.{assignment}")
