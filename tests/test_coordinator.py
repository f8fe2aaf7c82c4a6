"""The coordinator proven: collect -> grade in a pool -> gradebook, feedback, CSVs, report.

(The pool's forkserver imports this module to find ``fake_grade``: keep its imports light;
``autograder.author`` imports the answer key, hence torch and d2l.)

The engine is not the point here, so most tests grade with ``fake_grade``: a stand-in that
returns the engine's record (autograded notebook included) for a tiny synthetic course, where a
test cell passes unless the solution still raises NotImplementedError or says WRONG (and times
out for a student whose id holds "loop"). The real
engine is exercised end to end in test_cli.py.
"""
import copy
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.report import sections, tables
from autograder.run.coordinator import GraderError, Interrupted, run
from autograder.coursedir import ROOT
from autograder.record.gradebook import CourseGradebook

HIDDEN = "assert double(21) == 42  # the hidden check"
SOLUTION = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"

pytestmark = pytest.mark.slow  # grades a class: run by make test, not make test-quick


def _source_notebook(stem):
    """A chapter in miniature: a solution, a test cell with a hidden part, a written answer."""
    nbgrader = {"schema_version": 3, "task": False}
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(f"# {stem}"),
        nbformat.v4.new_code_cell(SOLUTION, metadata={"nbgrader": {
            **nbgrader, "grade": False, "solution": True, "locked": False, "grade_id": "double"}}),
        nbformat.v4.new_code_cell(
            f"assert double(1) == 2\n### BEGIN HIDDEN TESTS\n{HIDDEN}\n### END HIDDEN TESTS",
            metadata={"nbgrader": {**nbgrader, "grade": True, "solution": False, "locked": True,
                                   "grade_id": "test_double", "points": 2}}),
        nbformat.v4.new_markdown_cell("Because.", metadata={"nbgrader": {
            **nbgrader, "grade": True, "solution": True, "locked": False, "grade_id": "q_why",
            "points": 1}}),
    ])
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                 "name": "python3"}
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A scratch course with two tiny assignments, released by nbgrader."""
    from autograder import author as authoring
    root = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for assignment, stem in (("a1", "first"), ("a2", "second")):
        (root / "source" / assignment).mkdir(parents=True)
        nbformat.write(_source_notebook(stem), root / "source" / assignment / f"{stem}.ipynb")
    authoring.release(["a1", "a2"], course_root=root)
    # Each test grades into its own copy of this gradebook (a new one costs nbgrader ~5 s).
    (root / "gradebook.db").rename(root / "template.db")
    return root


def submit(folder, course, student, assignment, answer):
    """Write ``student``'s submission of ``assignment`` from its release notebook: ``answer`` is
    the body of ``double`` (None leaves the stub)."""
    (release,) = (course / "release" / assignment).glob("*.ipynb")
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "double" and answer is not None:
            cell.source = f"def double(x):\n    {answer}"
        if grade_id == "q_why" and answer is not None:
            cell.source = "Doubling is adding a number to itself."
    target = folder / student / assignment / release.name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target


@pytest.fixture
def klass(tmp_path, course):
    """A class with every kind of submission: right, blank, wrong, broken, misnamed, missing."""
    folder = tmp_path / "submitted"
    for assignment in ("a1", "a2"):
        submit(folder, course, "ada", assignment, "return 2 * x")
        submit(folder, course, "bob", assignment, None)
    submit(folder, course, "cy", "a1", "return 3 * x  # WRONG")
    submit(folder, course, "cy", "a2", "return x + x")
    submit(folder, course, "dee", "a1", "return 2 * x").write_text("{ not json")
    misnamed = submit(folder, course, "eve", "a1", "return 2 * x")
    misnamed.rename(misnamed.with_name("First (1).ipynb"))   # with another one: which?
    shutil.copy(misnamed.with_name("First (1).ipynb"), misnamed.with_name("first-old.ipynb"))
    (folder / "notes.txt").write_text("stray")
    (folder / "ada" / "a9").mkdir()
    (folder / "ada" / "a1" / "timestamp.txt").write_text("2026-11-27 10:00:00.000000 UTC")
    return folder


def fake_grade(job):
    """The engine's record for a submission of the synthetic course (see the module doc)."""
    if "crash" in job.student_id:
        os._exit(3)   # the worker process dies
    if "fail" in job.student_id:
        raise ValueError("a bug in the grader")
    if "stop" in job.student_id:
        raise KeyboardInterrupt
    notebooks = []
    for release in sorted(Path(job.release).glob("*.ipynb")):
        original = {c.metadata["nbgrader"]["grade_id"]: c
                    for c in nbformat.read(release, as_version=4).cells if "nbgrader" in c.metadata}
        nb = nbformat.read(Path(job.submission) / release.name, as_version=4)
        solutions = [c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
        wrong = any("NotImplementedError" in s or "WRONG" in s for s in solutions)
        cells = []
        for index, cell in enumerate(nb.cells):
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("locked") or (meta.get("grade") and not meta.get("solution")):
                nb.cells[index] = cell = copy.deepcopy(original[meta["grade_id"]])
            if not meta.get("grade"):
                continue
            points = float(meta["points"])
            if meta.get("solution"):
                cells.append({"grade_id": meta["grade_id"], "kind": "manual", "points": None,
                              "max_points": points, "status": "manual",
                              "message": "needs manual grading"})
                continue
            stopped = "loop" in job.student_id      # the test cell ran out of time
            message = ("the test ran longer than 30 s" if stopped
                       else "double(1) should be 2" if wrong else "")
            if wrong or stopped:
                cell.outputs = [nbformat.v4.new_output(
                    "error", ename="TimeoutError" if stopped else "AssertionError",
                    evalue=message, traceback=[message])]
            cells.append({"grade_id": meta["grade_id"], "kind": "autograded",
                          "points": 0.0 if wrong or stopped else points, "max_points": points,
                          "status": "timeout" if stopped else "failed" if wrong else "passed",
                          "message": message})
        notebooks.append({"name": release.stem, "status": "graded", "reason": "",
                          "notebook": nb, "cells": cells})
    return {"student_id": job.student_id, "assignment": job.assignment, "status": "graded",
            "reason": "", "flags": [], "notebooks": notebooks, "timings": {},
            "score": sum(c["points"] or 0 for nb in notebooks for c in nb["cells"]),
            "max_score": sum(c["max_points"] for nb in notebooks for c in nb["cells"])}


def broken_warm_up():
    """A grader that cannot start here (say, no namespaces for its sandbox)."""
    raise RuntimeError("no sandbox here")


def slow_fake_grade(job):
    """``fake_grade`` that takes its time, so that a run can be killed halfway."""
    time.sleep(0.4)
    return fake_grade(job)


def grade(klass, course, out, **options):
    """Grade ``klass`` with ``fake_grade`` into ``out`` and the gradebook ``<out>.db``."""
    options.setdefault("workers", 2)
    options.setdefault("db_url", f"sqlite:///{out}.db")
    database = Path(options["db_url"].removeprefix("sqlite:///"))
    if options["db_url"].startswith("sqlite:") and not database.exists():
        shutil.copy(course / "template.db", database)
    return run(klass, out, course_root=course, grade=fake_grade, progress=False, **options)


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def grades(out):
    return {(r["student_id"], r["assignment"]): r for r in read_csv(out / "grades.csv")}


def gradebook(course, out, database=None):
    """The gradebook's submissions (see ``CourseGradebook.submissions``) of ``<out>.db``."""
    with CourseGradebook(course, f"sqlite:///{database or f'{out}.db'}") as book:
        return book.submissions()


def test_grades_csv_right_wrong_blank_and_unusable(klass, course, tmp_path):
    out = tmp_path / "out"
    summary = grade(klass, course, out)
    with open(out / "grades.csv", newline="") as handle:
        assert next(csv.reader(handle)) == tables.GRADES_COLUMNS
    rows = grades(out)
    assert (rows["ada", "a1"]["score"], rows["ada", "a1"]["max_score"]) == ("2", "3")
    assert rows["ada", "a1"]["status"] == "graded"
    assert "1 point to grade by hand" in rows["ada", "a1"]["reason"]
    assert rows["ada", "a1"]["pending_points"] == "1"      # not in the score, not a zero
    assert rows["cy", "a2"]["score"] == "2"            # another right answer
    assert rows["bob", "a1"]["score"] == "0"           # blank
    assert rows["cy", "a1"]["score"] == "0"            # wrong
    assert rows["dee", "a1"]["status"] == "error"
    assert "first.ipynb is not a valid notebook (not JSON" in rows["dee", "a1"]["reason"]
    assert rows["eve", "a1"]["status"] == "error"
    assert ("found First (1).ipynb, first-old.ipynb: keep one and name it first.ipynb"
            in rows["eve", "a1"]["reason"])
    assert rows["dee", "a2"]["reason"] == "not submitted: no folder dee/a2/"
    assert (rows["dee", "a2"]["score"], rows["dee", "a2"]["max_score"]) == ("0", "3")
    assert len(rows) == 10                               # 5 students x 2 assignments
    ignored = summary.ignored.lines()
    assert any(line.startswith("stray files at the top level (1): notes.txt: expected <student")
               for line in ignored)
    assert any(line.startswith("files that are not a notebook of a1 (2): eve/a1/First (1).ipynb: "
                               "expected first.ipynb") for line in ignored)
    assert "folders that are not a released assignment (1): ada/a9/" in ignored


def test_cells_csv_has_one_row_per_graded_cell_and_manual_is_not_zero(klass, course, tmp_path):
    out = tmp_path / "out"
    grade(klass, course, out)
    with open(out / "cells.csv", newline="") as handle:
        assert next(csv.reader(handle)) == tables.CELLS_COLUMNS
    rows = {(r["student_id"], r["assignment"], r["grade_id"]): r
            for r in read_csv(out / "cells.csv")}
    assert rows["ada", "a1", "test_double"]["points"] == "2"
    assert rows["ada", "a1", "test_double"]["status"] == "passed"
    assert rows["cy", "a1", "test_double"]["points"] == "0"
    assert rows["cy", "a1", "test_double"]["message"] == "double(1) should be 2"
    manual = rows["ada", "a1", "q_why"]
    assert (manual["points"], manual["max_points"], manual["status"]) == ("", "1", "manual")
    assert rows["dee", "a1", "test_double"]["status"] == "missing"       # not valid JSON
    assert rows["dee", "a2", "q_why"]["status"] == "missing"             # not submitted
    assert rows["dee", "a2", "q_why"]["max_points"] == "1"
    assert len(rows) == 20      # 2 graded cells x 5 students x 2 assignments


def test_gradebook_holds_each_submission_once_with_nbgraders_scores(klass, course, tmp_path):
    out = tmp_path / "out"
    grade(klass, course, out)
    book = gradebook(course, out)
    assert set(book) == {("ada", "a1"), ("ada", "a2"), ("bob", "a1"), ("bob", "a2"),
                         ("cy", "a1"), ("cy", "a2"), ("dee", "a1"), ("eve", "a1")}
    assert book["ada", "a1"] == {"first": {"test_double": (2.0, False), "q_why": (None, True)}}
    assert book["bob", "a1"] == {"first": {"test_double": (0.0, False), "q_why": (0.0, False)}}
    assert book["cy", "a1"]["first"]["test_double"] == (0.0, False)
    # unusable: 0, for a human to grade (the formgrader: "needs manual grading", flagged)
    assert book["dee", "a1"] == {"first": {"test_double": (0.0, True), "q_why": (0.0, True)}}
    from nbgrader.api import Gradebook, Grade
    with Gradebook(f"sqlite:///{out}.db", "cnn-basics") as gb:
        assert gb.db.query(Grade).count() == 2 * len(book)     # no lost or duplicated rows
        submission = gb.find_submission("a1", "ada")
        assert submission.timestamp.year == 2026                # timestamp.txt was read


def test_feedback_and_autograded_notebooks(klass, course, tmp_path):
    out = tmp_path / "out"
    grade(klass, course, out)
    feedback = sorted(p.relative_to(out / "feedback") for p in (out / "feedback").rglob("*.html"))
    assert [str(p) for p in feedback] == [
        "ada/a1/first.html", "ada/a2/second.html", "bob/a1/first.html", "bob/a2/second.html",
        "cy/a1/first.html", "cy/a2/second.html"]
    page = (out / "feedback" / "cy" / "a1" / "first.html").read_text()
    assert "Score: 0.0 graded, 1 pending / 3.0" in page and "double(1) should be 2" in page
    assert "Score: 2.0 graded, 1 pending / 3.0" in \
        (out / "feedback" / "ada" / "a1" / "first.html").read_text()
    for path in (out / "feedback").rglob("*.html"):
        assert "the hidden check" not in path.read_text()
    assert (out / "autograded" / "ada" / "a1" / "first.ipynb").exists()
    assert not (course / "autograded").exists()        # nothing written into the course


def test_report_has_plots_pass_rates_and_misconceptions(klass, course, tmp_path):
    out = tmp_path / "out"
    grade(klass, course, out)
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2
    assert "double(1) should be 2" in page
    assert "not submitted: no folder dee/a2/" in page
    records = [json.loads(p.read_text())["record"] for p in (out / "records").rglob("*.json")]
    outcomes = sections.outcome_counts(records)[("a1", "test_double")]
    assert (outcomes["passed"], outcomes["wrong"], outcomes["not attempted"]) == (1, 2, 2)
    assert 'href="feedback/cy/a1/first.html"' in page            # cy's wrong answer, linked
    assert "3 points in 3 submissions" in page     # a1's written answers, pending, not zeros


def test_zip_input_grades_like_the_folder(klass, course, tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in klass.rglob("*"):
            handle.write(path, Path("submitted") / path.relative_to(klass))
    grade(klass, course, tmp_path / "from_folder")
    grade(archive, course, tmp_path / "from_zip")
    assert grades(tmp_path / "from_zip") == grades(tmp_path / "from_folder")


def test_unsafe_or_broken_zip_is_refused(course, tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("../escape/a1/first.ipynb", "{}")
    with pytest.raises(GraderError, match="unsafe path"):
        grade(archive, course, tmp_path / "out")
    not_zip = tmp_path / "class.txt"
    not_zip.write_text("hello")
    with pytest.raises(GraderError, match="neither a folder nor a .zip"):
        grade(not_zip, course, tmp_path / "out")


def test_rerun_is_idempotent_and_regrades_only_what_changed(klass, course, tmp_path):
    out = tmp_path / "out"
    first = grade(klass, course, out)
    csvs = [(out / name).read_text() for name in ("grades.csv", "cells.csv")]
    book = gradebook(course, out)
    again = grade(klass, course, out)
    assert (first.graded, again.graded, again.skipped) == (6, 0, 6)
    assert [(out / name).read_text() for name in ("grades.csv", "cells.csv")] == csvs
    assert gradebook(course, out) == book
    submit(klass, course, "bob", "a1", "return 2 * x")     # bob fixes his answer
    third = grade(klass, course, out)
    assert (third.graded, third.skipped) == (1, 5)
    assert grades(out)["bob", "a1"]["score"] == "2"
    assert gradebook(course, out)["bob", "a1"]["first"]["test_double"] == (2.0, False)


def test_a_new_gradebook_is_filled_from_the_journal_without_regrading(klass, course, tmp_path):
    out = tmp_path / "out"
    grade(klass, course, out)
    moved = grade(klass, course, out, db_url=f"sqlite:///{tmp_path}/other.db")
    assert moved.graded == 0
    assert gradebook(course, out, tmp_path / "other.db") == gradebook(course, out)


def test_parallel_equals_serial(klass, course, tmp_path):
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    grade(klass, course, serial, workers=1)
    grade(klass, course, parallel, workers=2)
    for name in ("grades.csv", "cells.csv"):
        assert (serial / name).read_text() == (parallel / name).read_text()
    assert gradebook(course, serial) == gradebook(course, parallel)


def test_a_dead_worker_or_a_grader_bug_costs_only_that_submission(klass, course, tmp_path):
    submit(klass, course, "crash", "a1", "return 2 * x")
    submit(klass, course, "fail", "a1", "return 2 * x")
    out = tmp_path / "out"
    grade(klass, course, out)
    rows = grades(out)
    assert rows["crash", "a1"]["status"] == "error"
    assert "the grading process died" in rows["crash", "a1"]["reason"]
    assert rows["fail", "a1"]["status"] == "error"
    assert "ValueError: a bug in the grader" in rows["fail", "a1"]["reason"]
    assert rows["ada", "a1"]["score"] == rows["ada", "a2"]["score"] == "2"
    assert rows["cy", "a1"]["score"] == "0"
    # 0 and for a human in the gradebook, flagged; not a grade to keep: the next run tries again
    assert gradebook(course, out)["fail", "a1"]["first"]["test_double"] == (0.0, True)
    with CourseGradebook(course, f"sqlite:///{out}.db") as book:
        assert book.connection.find_submission_notebook("first", "a1", "fail").flagged
    again = grade(klass, course, out)
    assert again.graded == 2                               # crash and fail, nothing else


def test_a_grader_that_cannot_start_is_fatal_not_a_class_of_errors(klass, course, tmp_path):
    with pytest.raises(GraderError, match="the grading workers could not start"):
        grade(klass, course, tmp_path / "out", warm_up=broken_warm_up)


def test_ctrl_c_keeps_finished_grades_and_the_next_run_completes(klass, course, tmp_path):
    submit(klass, course, "stop", "a1", "return 2 * x")    # sorts after every other student
    out = tmp_path / "out"
    with pytest.raises(Interrupted, match="run the same command again"):
        grade(klass, course, out, workers=1)
    recorded = {("ada", "a1"), ("ada", "a2"), ("bob", "a1"), ("bob", "a2"), ("cy", "a1"),
                ("cy", "a2"), ("dee", "a1"), ("eve", "a1")}
    assert set(gradebook(course, out)) == recorded
    assert (out / "grades.csv").exists()
    shutil.rmtree(klass / "stop")
    resumed = grade(klass, course, out, workers=1)
    assert resumed.graded == 0 and resumed.skipped == 6


def test_killed_run_resumes_where_it_stopped(klass, course, tmp_path):
    """SIGKILL the coordinator halfway: finished grades stay; the next run grades the rest."""
    out = tmp_path / "out"
    script = ("import sys; from tests.test_coordinator import slow_fake_grade; "
              "from autograder.run.coordinator import run; "
              "run(sys.argv[1], sys.argv[2], course_root=sys.argv[3], workers=1, "
              "db_url=sys.argv[4], grade=slow_fake_grade, progress=False)")
    shutil.copy(course / "template.db", f"{out}.db")
    process = subprocess.Popen([sys.executable, "-c", script, klass, out, course,
                                f"sqlite:///{out}.db"], cwd=ROOT, start_new_session=True)
    def graded():   # journaled gradings (dee's and eve's unusable submissions need none)
        return [p for p in out.glob("records/*/*.json") if p.parent.name in ("ada", "bob", "cy")]

    deadline = time.monotonic() + 120
    while len(graded()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done = len(graded())
    assert 2 <= done < 6
    resumed = grade(klass, course, out)
    assert (resumed.skipped, resumed.graded) == (done, 6 - done)
    clean = tmp_path / "clean"
    grade(klass, course, clean)
    assert (out / "grades.csv").read_text() == (clean / "grades.csv").read_text()
    assert gradebook(course, out) == gradebook(course, clean)


@pytest.fixture
def postgresql():
    """The URL of a throwaway PostgreSQL server (its own cluster, a unix socket, no TCP)."""
    pytest.importorskip("psycopg")
    root = os.geteuid() == 0
    if not (shutil.which("initdb") and shutil.which("pg_ctl")
            and (shutil.which("runuser") or not root)):
        pytest.skip("PostgreSQL is not installed")
    folder = Path(tempfile.mkdtemp(prefix="gradebook-pg-"))
    as_postgres = []   # PostgreSQL refuses root: root runs it as postgres, a user as themselves
    if root:
        shutil.chown(folder, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data = str(folder / "data")
    subprocess.run([*as_postgres, "initdb", "-D", data, "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)
    subprocess.run([*as_postgres, "pg_ctl", "-D", data, "-l", str(folder / "log"), "-w", "-o",
                    f"-k {folder} -c listen_addresses=''", "start"], check=True, capture_output=True)
    yield f"postgresql+psycopg://postgres@/postgres?host={folder}"
    subprocess.run([*as_postgres, "pg_ctl", "-D", data, "-m", "immediate", "stop"],
                   capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)


def test_the_gradebook_can_be_postgresql(klass, course, tmp_path, postgresql):
    grade(klass, course, tmp_path / "sqlite")
    grade(klass, course, tmp_path / "postgres", db_url=postgresql)
    with CourseGradebook(course, postgresql) as book:
        assert book.submissions() == gradebook(course, tmp_path / "sqlite")
    assert grades(tmp_path / "postgres") == grades(tmp_path / "sqlite")


def _hand_grade(out, student, assignment, grade_id, points):
    """Grade a written answer as the formgrader does (a manual score, no longer needing one)."""
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{out}.db", "cnn-basics") as gb:
        grade = gb.find_grade(grade_id, "first", assignment, student)
        grade.manual_score, grade.needs_manual_grade = points, False
        gb.db.commit()


def test_regrade_of_one_student_keeps_the_others(klass, course, tmp_path):
    out = tmp_path / "out"
    grade(klass, course, out)
    rows, book = grades(out), gradebook(course, out)
    submit(klass, course, "bob", "a1", "return 2 * x")      # bob fixes his answer,
    submit(klass, course, "cy", "a1", "return 2 * x")       # and so does cy
    only_bob = grade(klass, course, out, students=["bob"])
    assert (only_bob.graded, only_bob.skipped) == (1, 1)    # bob/a1 changed, bob/a2 did not
    after = grades(out)
    assert after["bob", "a1"]["score"] == "2"
    assert after["cy", "a1"] == rows["cy", "a1"]            # cy's change waits for its run
    assert {k: v for k, v in after.items() if k[0] != "bob"} == \
        {k: v for k, v in rows.items() if k[0] != "bob"}    # the others stay in grades.csv
    now = gradebook(course, out)
    assert {k: v for k, v in now.items() if k[0] != "bob"} == \
        {k: v for k, v in book.items() if k[0] != "bob"}
    assert grade(klass, course, out, students=["bob"], force=True).graded == 2
    with pytest.raises(GraderError, match="no submissions of zed in SUBMISSIONS"):
        grade(klass, course, out, students=["zed"])


def _outputs(out):
    """The lines of ``grades.csv`` and ``cells.csv`` in ``out``."""
    return {name: (out / name).read_text().splitlines() for name in ("grades.csv", "cells.csv")}


def test_a_regrade_of_one_submission_leaves_every_other_row_byte_for_byte(klass, course,
                                                                        tmp_path):
    out = tmp_path / "out"
    grade(klass, course, out)
    before = _outputs(out)
    submit(klass, course, "ada", "a1", "return 3 * x  # WRONG")   # ada's a1 changes
    summary = grade(klass, course, out, students=["ada"], assignments=["a1"], force=True)
    assert summary.graded == 1
    after = _outputs(out)
    for name, lines in before.items():
        regraded = [line for line in after[name] if line.startswith("ada,a1,")]
        assert regraded and regraded != [l for l in lines if l.startswith("ada,a1,")], name
        assert [line for line in after[name] if not line.startswith("ada,a1,")] == \
            [line for line in lines if not line.startswith("ada,a1,")], name
    # one assignment for everyone: the other assignment's rows (missing ones too) stay
    assert grade(klass, course, out, assignments=["a2"], force=True).graded == 3
    assert _outputs(out) == after
    # and it is what grading the whole class again writes
    fresh = tmp_path / "fresh"
    grade(klass, course, fresh)
    assert _outputs(fresh) == after
    report = (out / "report.html").read_text()
    assert report.replace(str(out), "") == (fresh / "report.html").read_text().replace(
        str(fresh), "")


def test_a_hand_grade_survives_a_regrade_unless_the_answer_changed(klass, course, tmp_path):
    out = tmp_path / "out"
    grade(klass, course, out)
    _hand_grade(out, "ada", "a1", "q_why", 0.5)
    _hand_grade(out, "cy", "a1", "q_why", 1.0)
    assert grade(klass, course, out, force=True).graded == 6
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{out}.db", "cnn-basics") as gb:
        kept = gb.find_grade("q_why", "first", "a1", "ada")
        assert (kept.manual_score, kept.needs_manual_grade) == (0.5, False)
        assert gb.find_submission("a1", "ada").score == 2.5
    _answer(submit(klass, course, "cy", "a1", "return 3 * x  # WRONG"), "I changed my mind.")
    grade(klass, course, out, students=["cy"])
    with Gradebook(f"sqlite:///{out}.db", "cnn-basics") as gb:
        changed = gb.find_grade("q_why", "first", "a1", "cy")
        assert (changed.manual_score, changed.needs_manual_grade) == (1.0, True)   # to review


def test_late_submissions_lose_the_course_policys_share(klass, course, tmp_path):
    import datetime
    from nbgrader.api import Gradebook
    late_course = tmp_path / "course"
    shutil.copytree(course, late_course, ignore=shutil.ignore_patterns("gradebook.db"))
    with open(late_course / "nbgrader_config.py", "a") as config:
        config.write("\nc.LatePolicy.per = 'hour'\nc.LatePolicy.percent = 10\n")
    (late_course / "extensions.csv").write_text("student_id,assignment,hours\nbob,a1,24\n")
    shutil.copy(course / "template.db", f"{tmp_path / 'out'}.db")
    with Gradebook(f"sqlite:///{tmp_path / 'out'}.db", "cnn-basics") as gb:
        gb.update_or_create_assignment("a1", duedate=datetime.datetime(2026, 11, 27, 8, 30))
    for student in ("bob", "cy"):     # ada's timestamp.txt says 10:00, 1.5 h late
        (klass / student / "a1" / "timestamp.txt").write_text("2026-11-27 10:00:00.000000 UTC")
    (klass / "cy" / "a1" / "timestamp.txt").write_text("2026-11-27 08:00:00.000000 UTC")
    grade(klass, late_course, tmp_path / "out")
    with Gradebook(f"sqlite:///{tmp_path / 'out'}.db", "cnn-basics") as gb:
        penalty = {s: gb.find_submission("a1", s).notebooks[0].late_submission_penalty
                   for s in ("ada", "bob", "cy")}
    assert penalty == {"ada": 0.6, "bob": None, "cy": None}    # 2 started hours x 10 % of 3
    page = (tmp_path / "out" / "feedback" / "ada" / "a1" / "first.html").read_text()
    assert "Score: 1.4 graded, 1 pending / 3.0" in page and "Score: -0.6" in page


def _answer(path, text):
    """Write ``text`` as the written answer q_why of the submitted notebook at ``path``."""
    nb = nbformat.read(path, as_version=4)
    (answer,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q_why"]
    answer.source = text
    nbformat.write(nb, path)


def test_feedback_shows_an_unmarked_written_answer_as_pending(klass, course, tmp_path):
    out = tmp_path / "out"
    _answer(submit(klass, course, "ada", "a1", "return 2 * x"), "A kernel slides.")
    grade(klass, course, out)
    page = (out / "feedback" / "ada" / "a1" / "first.html").read_text()
    assert "Score: 2.0 graded, 1 pending / 3.0" in page
    assert "Score: pending / 1.0" in page and "Score: 0.0 / 1.0" not in page
    _hand_grade(out, "ada", "a1", "q_why", 0.5)
    grade(klass, course, out, students=["ada"], force=True)
    page = (out / "feedback" / "ada" / "a1" / "first.html").read_text()
    assert "Score: 2.5 / 3.0" in page and "Score: 0.5 / 1.0" in page and "pending" not in page


def test_autograded_notebooks_go_where_the_formgrader_looks_only_for_the_courses_own_class(
        course, tmp_path):
    from autograder.record.gradebook import CourseGradebook
    out = tmp_path / "out"
    gradebook = CourseGradebook(course, f"sqlite:///{tmp_path / 'gradebook.db'}")
    assert gradebook.autograded_folder(out, course / "submitted") == course / "autograded"
    assert gradebook.autograded_folder(out, tmp_path / "submitted") == out / "autograded"
    assert gradebook.autograded_folder(out, tmp_path / "class.zip") == out / "autograded"
    named = tmp_path / "named"
    named.mkdir()
    (named / "nbgrader_config.py").write_text(
        (course / "nbgrader_config.py").read_text()
        + '\nc.CourseDirectory.autograded_directory = "graded"\n')
    assert CourseGradebook(named).autograded_folder(out, tmp_path / "submitted") \
        == named / "graded"


def test_new_gradebook_is_stamped_as_nbgrader_stamps_it(tmp_path, monkeypatch):
    """A gradebook the coordinator creates carries the migration head nbgrader's own
    ``get_alembic_version`` (its ``alembic heads`` subprocess) gives, so ``nbgrader db upgrade``
    and the formgrader treat it as theirs; nbgrader's function is left as it was."""
    import nbgrader.api
    from sqlalchemy import create_engine, text
    asked = nbgrader.api.get_alembic_version
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with CourseGradebook(ROOT, url) as book:
        book.connection
    assert nbgrader.api.get_alembic_version is asked
    with create_engine(url).connect() as connection:
        stamped = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    assert stamped == asked() and len(stamped) == 12


def _cell_rows(url):
    """Every cell row of the gradebook at ``url``: ``{(table, notebook, name): fields}`` (no
    row ids: they are random)."""
    from nbgrader.api import GradeCell, SolutionCell, SourceCell, TaskCell
    rows = {}
    with CourseGradebook(ROOT, url) as book:
        for table in (GradeCell, SolutionCell, TaskCell, SourceCell):
            for cell in book.connection.db.query(table):
                fields = cell.to_dict()
                del fields["id"]
                rows[table.__name__, fields.pop("notebook"), fields.pop("name")] = fields
    return rows


def test_gradebook_cells_are_written_as_generate_assignment_writes_them_and_only_when_changed(
        course, tmp_path, monkeypatch):
    """``prepare`` gives a new gradebook the rows of nbgrader's own ``SaveCells`` (the course's
    gradebook, made by ``generate_assignment``), runs it again only for a notebook whose cells
    changed, and then writes what changed."""
    from nbgrader.preprocessors import SaveCells
    saved = []
    original = SaveCells.preprocess
    monkeypatch.setattr(SaveCells, "preprocess",
                        lambda self, nb, resources: saved.append(resources["nbgrader"]["notebook"])
                        or original(self, nb, resources))
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with CourseGradebook(course, url) as book:
        book.prepare("a1", course / "source" / "a1")
    assert saved == ["first"]
    reference = {key: fields for key, fields in _cell_rows(
        f"sqlite:///{course / 'template.db'}").items() if key[1] == "first"}
    assert _cell_rows(url) == reference

    with CourseGradebook(course, url) as book:
        book.prepare("a1", course / "source" / "a1")
    assert saved == ["first"], "SaveCells ran again for unchanged cells"
    assert _cell_rows(url) == reference

    changed = tmp_path / "source"
    shutil.copytree(course / "source" / "a1", changed)
    nb = nbformat.read(changed / "first.ipynb", as_version=4)
    nb.cells[2].metadata.nbgrader["points"] = 5
    nbformat.write(nb, changed / "first.ipynb")
    with CourseGradebook(course, url) as book:
        book.prepare("a1", changed)
    assert saved == ["first", "first"]
    assert _cell_rows(url)["GradeCell", "first", "test_double"]["max_score"] == 5
