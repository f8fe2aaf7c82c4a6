"""Honest work however it was saved and handed in (issue 27): one class of complete, correct
answers to the first chapter, each saved the way a real tool saves it (``submissions.saved``:
Colab, VS Code, JupyterLab 3 and 4, Notebook 7, nbformat 4.0-4.5, Windows line endings, outputs of
every kind, pasted pictures, cells added, moved and re-typed, answers below their stubs) and a
renamed download, graded in one batch by the ``autograde`` command beside an untouched control.
Every one gets the control's score, unflagged except the renamed file."""
import base64
import copy
import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.intake import collect
from autograder.coursedir import ROOT, chapters
from autograder.engine import tamper
from autograder.engine.cells import is_manual, is_test, nbgrader, source
from autograder.intake import reader
from autograder.tools import submissions

ANSWERS = {"q_invariance": "The same kernel looks for the same pattern everywhere.",
           "q_locality": "Only nearby pixels matter for one output."}


@pytest.fixture(scope="module")
def chapter(tmp_path_factory):
    """A course with the first chapter: ``(root, assignment, stem)``."""
    assignment = chapters()[0]
    root = tmp_path_factory.mktemp("course")
    for part in ("source", "release"):
        shutil.copytree(ROOT / part / assignment, root / part / assignment)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    (release,) = (root / "release" / assignment).glob("*.ipynb")
    return root, assignment, release.stem


def honest_class(folder, chapter):
    """Write the class into ``folder``: ``{student: file name}``."""
    root, assignment, stem = chapter
    release = json.loads((root / "release" / assignment / f"{stem}.ipynb").read_text())
    source = json.loads((root / "source" / assignment / f"{stem}.ipynb").read_text())
    texts = submissions.saved(release, source, ANSWERS)
    texts["renamed"] = texts["control"]
    files = {student: f"{stem} (1).ipynb" if student == "renamed" else f"{stem}.ipynb"
             for student in texts}
    for student, text in texts.items():
        (folder / student / assignment).mkdir(parents=True)
        (folder / student / assignment / files[student]).write_bytes(text.encode())
    return files


def code(merged):
    return [source(c) for c in merged.cells if c["cell_type"] == "code"]


@pytest.fixture(scope="module")
def tool_saves(chapter):
    """``{name: notebook dict}``: the class's notebooks as the grader reads them."""
    root, assignment, stem = chapter
    release = json.loads((root / "release" / assignment / f"{stem}.ipynb").read_text())
    source = json.loads((root / "source" / assignment / f"{stem}.ipynb").read_text())
    return release, {name: reader.as_v4(reader.parse_json(text, name), name)
                     for name, text in submissions.saved(release, source, ANSWERS).items()}


def test_tool_saves_are_not_tampering_and_keep_their_pictures(tool_saves):
    release, saves = tool_saves
    control = tamper.merge(release, saves["control"])
    for name, nb in saves.items():
        merged = tamper.merge(release, nb)
        assert (name, merged.problems) == (name, [])
        answers = [c for c in merged.cells if nbgrader(c).get("solution")]
        if name == "pictures_pasted":
            assert all(c["attachments"] == {"image.png": {"image/png": submissions.PIXEL}}
                       for c in answers if c["cell_type"] == "markdown")
        if name not in ("answer_below_stub", "rearranged"):
            assert code(merged) == code(control)


def test_a_changed_test_cell_is_still_tampering_with_windows_line_endings(tool_saves):
    release, saves = tool_saves
    nb = copy.deepcopy(saves["windows_crlf"])
    test = next(c for c in nb["cells"] if is_test(c))
    test["source"] = source(test) + "\r\npass  # mine"
    assert tamper.merge(release, nb).problems == [
        f"test cell {nbgrader(test)['grade_id']} was changed: source changed"]


def test_a_picture_missing_from_the_file_is_a_placeholder_naming_it(tool_saves):
    release, saves = tool_saves
    nb = copy.deepcopy(saves["control"])
    answer = next(c for c in nb["cells"] if is_manual(c))
    answer["source"] = "See ![](attachment:gone.png) and <img src=\"attachment:also gone.png\">"
    (merged,) = [c for c in tamper.merge(release, nb).cells if is_manual(c) and c.get("attachments")]
    assert set(merged["attachments"]) == {"gone.png", "also"}
    shown = base64.b64decode(merged["attachments"]["gone.png"]["image/svg+xml"]).decode()
    assert "picture gone.png is not in the submitted file" in shown


@pytest.fixture(scope="module")
def graded(chapter, tmp_path_factory):
    """``{student: grades.csv row}`` of the class graded in one ``autograde`` run."""
    root, _, _ = chapter
    scratch = tmp_path_factory.mktemp("honest")
    files = honest_class(scratch / "submitted", chapter)
    done = subprocess.run([Path(sys.executable).parent / "autograde", scratch / "submitted",
                           "--out", scratch / "out", "--course", root],
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr
    with open(scratch / "out" / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(files)
    return rows, scratch / "out"


@pytest.mark.slow
def test_every_honest_save_gets_the_controls_score(graded):
    rows, _ = graded
    control = rows["control"]
    assert control["status"] == "graded" and float(control["score"]) > 0
    for student, row in rows.items():
        assert (student, row["score"]) == (student, control["score"]), row["reason"]
        if student != "renamed":
            assert (student, row["status"], row["reason"]) == (
                student, "graded", control["reason"])


@pytest.mark.slow
def test_a_renamed_download_is_graded_and_flagged(graded, chapter):
    rows, _ = graded
    _, _, stem = chapter
    row = rows["renamed"]
    assert row["status"] == "flagged"
    assert row["reason"].startswith(f"renamed: {stem} (1).ipynb graded as {stem}.ipynb")


@pytest.mark.slow
def test_pasted_pictures_reach_the_feedback_page(graded):
    _, out = graded
    (page,) = (out / "feedback" / "pictures_pasted").rglob("*.html")
    assert page.read_text().count(f"data:image/png;base64,{submissions.PIXEL}") >= 3


def test_renamed_notebooks_in_collect(tmp_path):
    """One notebook under another name (a browser's ``(1)``, ``.ipynb.json``): graded from a
    copy and flagged, the submission untouched; several candidates: the reason lists them."""
    released = {"a1": ["first"]}
    text = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []})
    for student, files in (("one", ["first (1).ipynb", "data.csv"]),
                           ("safari", ["first.ipynb.json"]),
                           ("two", ["First.ipynb", "first-old.ipynb"]), ("link", [])):
        (tmp_path / "submitted" / student / "a1").mkdir(parents=True)
        for name in files:
            (tmp_path / "submitted" / student / "a1" / name).write_text(text)
    (tmp_path / "submitted" / "link" / "a1" / "first (1).ipynb").symlink_to(
        tmp_path / "submitted" / "one" / "a1" / "first (1).ipynb")
    (tmp_path / "scratch").mkdir()
    batch = collect.collect(tmp_path / "submitted", released, scratch=tmp_path / "scratch")
    graded = {found.student_id: found for found in batch.gradable}
    assert sorted(graded) == ["one", "safari"]
    assert graded["one"].flag == ("renamed: first (1).ipynb graded as first.ipynb (the only "
                                  "notebook in one/a1/)")
    assert sorted(p.name for p in graded["one"].folder.iterdir()) == ["data.csv", "first.ipynb"]
    assert graded["one"].folder.is_relative_to(tmp_path / "scratch")
    assert (tmp_path / "submitted" / "one" / "a1" / "first (1).ipynb").exists()
    assert graded["safari"].flag.startswith("renamed: first.ipynb.json graded as first.ipynb")
    link, two = batch.unusable
    assert link.reason == "first.ipynb is missing; found first (1).ipynb: rename it to first.ipynb"
    assert two.reason == ("first.ipynb is missing; found First.ipynb, first-old.ipynb: keep one "
                          "and name it first.ipynb")


def test_a_damaged_file_names_the_cell_and_what_to_do(tmp_path):
    cells = [{"cell_type": "markdown", "metadata": {}, "source": f"cell {n}"} for n in range(3)]
    text = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells},
                      indent=1)
    damaged = tmp_path / "first.ipynb"
    damaged.write_text(text.replace('"cell 2"', '"cell 2', 1))   # an unterminated string
    with pytest.raises(reader.Unreadable) as refused:
        reader.read_notebook(damaged)
    assert ", in cell 3); it was damaged after Jupyter saved it: ask the student for the file " \
           "again or mend it there in a text editor" in str(refused.value)
    assert "run again" not in str(refused.value)
