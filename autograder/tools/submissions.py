"""Sample submissions: a release notebook filled in the way a student hands it in.

The one helper behind the demo's class, the timing runs, the benchmark and the tests' fixtures.
"""
import copy

from autograder.engine.cells import nbgrader, source

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def key_code(source_nb):
    """``{grade_id: code}`` of the source notebook's (nbformat dict) solution code cells: the
    answer key's code as a student would write it, without nbgrader's solution markers."""
    return {nbgrader(cell)["grade_id"]: "\n".join(
                line for line in source(cell).splitlines() if line.strip() not in MARKERS)
            for cell in source_nb["cells"]
            if cell.get("cell_type") == "code" and nbgrader(cell).get("solution")}


def fill(release_nb, answers):
    """A copy of the release notebook (nbformat dict) whose solution cells (code or written
    answers) named in ``answers`` (``{grade_id: text}``; None: left as released) hold that text."""
    nb = copy.deepcopy(release_nb)
    for cell in nb["cells"]:
        meta = nbgrader(cell)
        if meta.get("solution") and answers.get(meta.get("grade_id")) is not None:
            cell["source"] = answers[meta["grade_id"]]
    return nb
