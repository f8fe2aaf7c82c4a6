"""A small course directory for the engine's tests: one chapter, its release, submissions.

The chapter (``fixture_chapter.py``) is built with ``autograder.author`` and released with
nbgrader's own preprocessors (in process, no CLI), so its notebooks carry exactly the
metadata and checksums that ``nbgrader generate_assignment`` writes.
"""
import copy
import json
from pathlib import Path

import nbformat
from nbgrader import preprocessors
from traitlets.config import Config

from autograder import author as authoring
from autograder.engine.cells import is_manual, nbgrader
from autograder.tools.submissions import fill, key_code

HERE = Path(__file__).resolve().parent
ASSIGNMENT = "fixture"
STEM = "fixture"


def _release(source_nb):
    config = Config()
    config.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    config.ClearSolutions.text_stub = "YOUR ANSWER HERE"
    nb = copy.deepcopy(source_nb)
    resources = {}
    for step in (preprocessors.LockCells, preprocessors.ClearSolutions,
                 preprocessors.ClearOutput, preprocessors.ComputeChecksums,
                 preprocessors.ClearHiddenTests, preprocessors.ComputeChecksums):
        nb, resources = step(config=config).preprocess(nb, resources)
    return nb


def build(root):
    """Write ``source/fixture/fixture.ipynb`` and ``release/fixture/fixture.ipynb`` under root."""
    root = Path(root)
    source_nb = authoring.parse(HERE / "fixture_chapter.py")
    for kind, nb in (("source", source_nb), ("release", _release(source_nb))):
        folder = root / kind / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(folder / f"{STEM}.ipynb"))
    return root


def answer_key_code(root):
    """``{function name: the answer key's code}`` from the fixture's source notebook."""
    return key_code(json.loads((Path(root) / "source" / ASSIGNMENT / f"{STEM}.ipynb").read_text()))


ANSWER = "Weight sharing: the same pattern means the same thing anywhere in the image."


def submission(root, student, code=None, extra=(), edit=None, answer=ANSWER):
    """A student's submission folder; returns its path.

    Starts from the release; solution cells get ``code[name]`` (default: the answer key's
    code, ``None``: left blank), written answers get ``answer`` (None: left blank);
    ``extra`` is a list of ``(after_grade_id, source)`` code cells inserted after the cell
    with that grade id (None: at the end); ``edit(nb)`` may change the notebook dict last.
    """
    root = Path(root)
    release = json.loads((root / "release" / ASSIGNMENT / f"{STEM}.ipynb").read_text())
    answers = answer_key_code(root)
    answers.update(code or {})
    answers.update({nbgrader(c)["grade_id"]: answer for c in release["cells"] if is_manual(c)})
    nb = fill(release, answers)
    for number, (after, text) in enumerate(extra):
        cell = nbformat.v4.new_code_cell(text)
        cell["id"] = f"extra-{number}"
        ids = [nbgrader(c).get("grade_id") for c in nb["cells"]]
        at = ids.index(after) + 1 if after in ids else len(nb["cells"])
        nb["cells"].insert(at, dict(cell))
    if edit is not None:
        edit(nb)
    folder = root / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{STEM}.ipynb").write_text(json.dumps(nb))
    return folder
