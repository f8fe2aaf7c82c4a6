"""A semester through nbgrader's exchange (issue 25): nbgrader's own commands mixed with
``autograde``, as an instructor and students run them.

Two students, each with their own HOME and ``nbgrader_config.py`` (their id given as nbgrader's
``CourseDirectory.student_id``), fetch and submit through a temporary exchange root from their
Assignment List (nbgrader's handler, run in-process in their HOME, as their JupyterLab server
runs it); the instructor releases, collects and runs ``autograde``, then nbgrader's
``generate_feedback``, ``release_feedback`` and ``export`` (the commands, as docs/semester.md
gives them); the students fetch their feedback. Then bob resubmits, the instructor collects the
newer one with the formgrader's Collect button and runs ``autograde`` again: nbgrader's
``generate_feedback`` makes his page again (no "Skipping existing") and he fetches the new
score under the new submission's timestamp. ``nbgrader autograde --force`` then reports a
submission it could not grade as an error, and the formgrader's Autograde button grades a good
one. Every step and its output is in ``LOG`` (printed with ``-s``). Where the step is not about
a command line, it runs in-process (the Lab's and the formgrader's own path): a stock nbgrader
command costs about 4 s of start-up.
"""
import contextlib
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder.coursedir import ROOT, nbgrader_api
from autograder.tools.demo import submission

pytestmark = pytest.mark.slow
CHAPTER, NOTEBOOK = "01_locality", "locality"
BIN = Path(sys.executable).parent
#: Text a student may write that is nbgrader's syntax: data, never instructions to the grader.
MARKER_CODE = ("\n# BEGIN HIDDEN TESTS\n# ### BEGIN SOLUTION\n"
               "_note = 'cell-{grade_id} <b>{grade_id}</b> ### END HIDDEN TESTS'")
MARKER_TEXT = "\n\n<div><script>alert(1)</script> ### BEGIN HIDDEN TESTS <b>bold</b></div>"
LOG = []


def run(cwd, *argv, check=True):
    """Run the command ``argv`` (``nbgrader ...`` or ``autograde ...``, from the venv) in
    ``cwd`` as the instructor, with this checkout's ``autograder`` (whatever the venv's
    editable install points to); its output goes to ``LOG``."""
    paths = filter(None, (str(ROOT), os.environ.get("PYTHONPATH")))
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
               PYTHONPATH=os.pathsep.join(paths))
    started = time.perf_counter()
    done = subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=cwd, env=env,
                          capture_output=True, text=True)
    LOG.append(f"$ {' '.join(argv)}  ({Path(cwd).name}, {time.perf_counter() - started:.1f} s, "
               f"exit {done.returncode})\n{done.stdout}{done.stderr}")
    if check:
        assert done.returncode == 0, LOG[-1]
    return done


def in_lab(home, action):
    """``action`` (``fetch_assignment``, ``submit_assignment`` or ``fetch_feedback``) of the
    chapter from the student's Assignment List: nbgrader's handler in-process, in the
    student's HOME and home folder (what their JupyterLab server runs); logged in ``LOG``."""
    from nbgrader.server_extensions.assignment_list.handlers import AssignmentList
    lab = AssignmentList()
    lab.root_dir = str(home)
    started, where, before = time.perf_counter(), os.getcwd(), os.environ["HOME"]
    os.environ["HOME"] = str(home)
    os.chdir(home)
    try:
        with nbgrader_log() as said:
            result = getattr(lab, action)("cnn-basics", CHAPTER)
    finally:
        os.chdir(where)
        os.environ["HOME"] = before
    LOG.append(f"$ [{home.name}'s Assignment List] {action} {CHAPTER}  "
               f"({time.perf_counter() - started:.1f} s, success {result['success']})\n"
               f"{said.getvalue()}{result.get('value', '')}")
    assert result["success"], LOG[-1]


@contextlib.contextmanager
def nbgrader_log():
    """What nbgrader's exchange logs meanwhile (in-process it logs to traitlets' logger)."""
    import logging
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    logger = logging.getLogger("traitlets")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def in_formgrader(course, action, *args, **options):
    """The formgrader's ``action`` (an ``NbGraderAPI`` method, in-process, what its buttons
    run) on the chapter; its result, logged in ``LOG``."""
    started = time.perf_counter()
    result = getattr(nbgrader_api(course), action)(CHAPTER, *args, **options)
    shown = ", ".join([*map(str, args), *(f"{k}={v}" for k, v in options.items())])
    LOG.append(f"$ [formgrader] {action}({CHAPTER}{', ' if shown else ''}{shown})  "
               f"({time.perf_counter() - started:.1f} s, success {result['success']})\n"
               f"{result.get('log', '')}{result.get('error', '')}")
    assert result["success"], LOG[-1]
    return result


def hand_in(home, kind, course):
    """Fill the student's fetched notebook as a student of ``kind`` (see ``demo.submission``)."""
    release = json.loads((course / "release" / CHAPTER / f"{NOTEBOOK}.ipynb").read_text())
    source = json.loads((course / "source" / CHAPTER / f"{NOTEBOOK}.ipynb").read_text())
    (home / CHAPTER / f"{NOTEBOOK}.ipynb").write_text(submission(kind, release, source))


def with_markers(text):
    """A notebook's text with nbgrader's markers, cell-id-like strings and HTML written into
    every solution cell, as a student may write them."""
    nb = json.loads(text)
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            cell["source"] += (MARKER_CODE.format(grade_id=meta["grade_id"])
                               if cell["cell_type"] == "code" else MARKER_TEXT)
    return json.dumps(nb, indent=1)


def timestamp(folder):
    return (folder / "timestamp.txt").read_text().strip()


def feedback_pages(home):
    """``{timestamp: page text}`` the student fetched with ``nbgrader fetch_feedback``."""
    return {folder.name: (folder / f"{NOTEBOOK}.html").read_text()
            for folder in sorted((home / CHAPTER / "feedback").iterdir())}


def page_score(page):
    """The notebook's score at the top of a feedback page ("Score: 12.0 / 20.0")."""
    return re.search(rf"{NOTEBOOK} \(Score: ([^)]*)\)", page).group(1)


def gradebook(course):
    from nbgrader.api import Gradebook
    return Gradebook(f"sqlite:///{course / 'gradebook.db'}", "cnn-basics")


@pytest.fixture(scope="module")
def semester(tmp_path_factory):
    """The semester up to bob's regraded resubmission; ``{name: path or value}``."""
    top = tmp_path_factory.mktemp("semester")
    course, exchange = top / "course", top / "exchange"
    exchange.mkdir(mode=0o777)
    course.mkdir()
    (course / "nbgrader_config.py").write_text(
        (ROOT / "nbgrader_config.py").read_text() + f"\nc.Exchange.root = {str(exchange)!r}\n")
    for part in ("source", "release"):
        shutil.copytree(ROOT / part / CHAPTER, course / part / CHAPTER)
    homes = {}
    for student in ("ann", "bob"):
        homes[student] = home = top / student
        home.mkdir()
        (home / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\n"
            f"c.CourseDirectory.course_id = 'cnn-basics'\n"
            f"c.CourseDirectory.student_id = {student!r}\n")
    run(course, "nbgrader", "release_assignment", CHAPTER)
    for student, kind in (("ann", "complete"), ("bob", "blank")):
        in_lab(homes[student], "fetch_assignment")
        hand_in(homes[student], kind, course)
        in_lab(homes[student], "submit_assignment")
    run(course, "nbgrader", "collect", CHAPTER)
    # carl hands in the answer key with nbgrader's markers and HTML in every solution cell
    key = (course / "submitted" / "ann" / CHAPTER / f"{NOTEBOOK}.ipynb").read_text()
    (course / "submitted" / "carl" / CHAPTER).mkdir(parents=True)
    (course / "submitted" / "carl" / CHAPTER / f"{NOTEBOOK}.ipynb").write_text(
        with_markers(key))
    shutil.copy(course / "submitted" / "ann" / CHAPTER / "timestamp.txt",    # as if collected
                course / "submitted" / "carl" / CHAPTER)
    (course / "submitted" / "carl" / CHAPTER / "submission_secret.txt").write_text(
        os.urandom(16).hex())
    run(course, "autograde", "submitted", "--out", "out", "--workers", "1")
    first = {"autograded": {s: (course / "autograded" / s / CHAPTER).exists()
                            and sorted(p.name for p in (course / "autograded" / s / CHAPTER)
                                       .iterdir()) for s in ("ann", "bob", "carl")},
             "cells": (course / "out" / "cells.csv").read_text()}
    run(course, "nbgrader", "generate_feedback", CHAPTER)
    run(course, "nbgrader", "release_feedback", CHAPTER)
    run(course, "nbgrader", "export")
    first["export"] = (course / "grades.csv").read_text()
    for student in ("ann", "bob"):
        in_lab(homes[student], "fetch_feedback")
        first[student] = feedback_pages(homes[student])
    with gradebook(course) as gb:
        first["scores"] = {s: gb.find_submission(CHAPTER, s).score for s in ("ann", "bob")}
    first["stamps"] = {s: timestamp(course / "submitted" / s / CHAPTER) for s in ("ann", "bob")}
    old = first["stamps"]["bob"]
    # bob resubmits the answer key; the instructor collects the newer one and grades again
    hand_in(homes["bob"], "complete", course)
    in_lab(homes["bob"], "submit_assignment")
    in_formgrader(course, "collect", update=True)
    new = timestamp(course / "submitted" / "bob" / CHAPTER)
    run(course, "autograde", "submitted", "--out", "out", "--workers", "1")
    regenerated = in_formgrader(course, "generate_feedback", force=False)  # the command's default
    in_formgrader(course, "release_feedback")
    in_lab(homes["bob"], "fetch_feedback")
    with gradebook(course) as gb:
        scores = {s: gb.find_submission(CHAPTER, s).score for s in ("ann", "bob")}
    return {"course": course, "homes": homes, "first": first, "old": old, "new": new,
            "regenerated": regenerated["log"], "scores": scores,
            "bob": feedback_pages(homes["bob"])}


def test_autograded_holds_what_nbgraders_commands_look_for(semester):
    course = semester["course"]
    assert semester["first"]["autograded"]["ann"] == [
        f"{NOTEBOOK}.ipynb", "submission_secret.txt", "timestamp.txt"]
    for student in ("ann", "bob"):
        submitted, graded = (course / folder / student / CHAPTER
                             for folder in ("submitted", "autograded"))
        for name in ("timestamp.txt", "submission_secret.txt"):
            assert (graded / name).read_text() == (submitted / name).read_text(), name
    # nbgrader export reads the same grades as the gradebook
    rows = {row["student_id"]: row for row in csv.DictReader(
        semester["first"]["export"].splitlines())}
    assert {s: float(rows[s]["raw_score"]) for s in ("ann", "bob")} == semester["first"]["scores"]


def test_each_student_fetches_the_feedback_of_their_submission(semester):
    first = semester["first"]
    for student in ("ann", "bob"):
        (stamp, page), = first[student].items()
        assert stamp == first["stamps"][student]
        shown = page_score(page)
        assert shown.startswith(f"{first['scores'][student]:g}" if student == "bob" else
                                f"{round(first['scores'][student], 2)} graded"), shown
    assert first["scores"]["ann"] > 0 and first["scores"]["bob"] == 0


def test_a_resubmission_is_regraded_and_its_feedback_filed_under_its_timestamp(semester):
    old, new, pages = semester["old"], semester["new"], semester["bob"]
    assert new > old and set(pages) == {old, new}
    skipped = [line for line in semester["regenerated"].splitlines()
               if "Skipping existing assignment" in line]
    assert not [line for line in skipped if "/bob/" in line]           # made again
    assert [line for line in skipped if "/ann/" in line]                # ann's is current
    assert semester["scores"]["bob"] == semester["scores"]["ann"] > 0
    assert page_score(pages[old]).startswith("0")                          # the old page stays
    assert page_score(pages[new]).startswith(f"{round(semester['scores']['bob'], 2)} graded")
    assert semester["scores"]["ann"] == semester["first"]["scores"]["ann"]  # ann untouched


def test_nbgraders_markers_and_html_in_solutions_are_graded_as_data(semester):
    """carl's notebook is the answer key with markers and HTML added: graded like ann's."""
    rows = list(csv.DictReader(semester["first"]["cells"].splitlines()))
    verdicts = {s: {r["grade_id"]: (r["points"], r["status"]) for r in rows
                    if r["student_id"] == s} for s in ("ann", "carl")}
    assert verdicts["carl"] == verdicts["ann"] and any(
        status == "passed" for _, status in verdicts["ann"].values())
    course = semester["course"]
    result = nbgrader_api(course).generate_feedback(CHAPTER, "carl")
    assert result["success"], result.get("error") or result.get("log")
    pages = {s: (course / "feedback" / s / CHAPTER / f"{NOTEBOOK}.html").read_text()
             for s in ("ann", "carl")}
    assert page_score(pages["carl"]) == page_score(pages["ann"])
    assert "BEGIN HIDDEN TESTS" in pages["carl"] and "BEGIN HIDDEN TESTS" not in pages["ann"]


def test_nbgrader_autograde_reports_a_submission_it_could_not_grade(semester):
    """The formgrader's route, ``nbgrader autograde A --force``: a submission the grader
    refuses (a hard link to the instructor's source notebook) is an error; the gradebook
    flags it as needing grading by hand, as a plain ``autograde`` run does."""
    course = semester["course"]
    folder = course / "submitted" / "mallory" / CHAPTER
    folder.mkdir(parents=True)
    os.link(course / "source" / CHAPTER / f"{NOTEBOOK}.ipynb", folder / f"{NOTEBOOK}.ipynb")
    done = run(course, "nbgrader", "autograde", CHAPTER, "--force", "--student", "mallory",
               check=False)
    assert done.returncode != 0
    said = done.stdout + done.stderr
    assert "could not be graded" in said and "hard link" in said
    assert not (course / "autograded" / "mallory" / CHAPTER / f"{NOTEBOOK}.ipynb").exists()
    with gradebook(course) as gb:
        notebook = gb.find_submission_notebook(NOTEBOOK, CHAPTER, "mallory")
        assert notebook.flagged and notebook.score == 0 and notebook.needs_manual_grade


def test_the_autograde_button_grades_a_good_submission_and_says_when_it_is_done(semester):
    course = semester["course"]
    graded = course / "autograded" / "ann" / CHAPTER / f"{NOTEBOOK}.ipynb"
    started = time.perf_counter()
    result = nbgrader_api(course).autograde(CHAPTER, "ann")       # the formgrader's button
    seconds = time.perf_counter() - started
    print(f"\nthe formgrader's Autograde button on one notebook: {seconds:.1f} s")
    assert result["success"], result.get("error") or result.get("log")
    outputs = [cell for cell in nbformat.read(str(graded), 4).cells if cell.get("outputs")]
    assert outputs                                                # graded, not the sanitized copy
    assert timestamp(graded.parent) == timestamp(course / "submitted" / "ann" / CHAPTER)
    with gradebook(course) as gb:
        assert gb.find_submission(CHAPTER, "ann").score == semester["scores"]["ann"]
    skipped = in_formgrader(course, "autograde", "ann", force=False)   # nbgrader's default
    assert "Skipping existing assignment" in skipped["log"]                 # said so
    print("\n\n".join(LOG))
