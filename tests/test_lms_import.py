"""``autograde import``: a Canvas and a Moodle download, built after each LMS's own naming
(Canvas's ``lib/content_zipper.rb``, Moodle's ``mod/assign/locallib.php``; docs/lms.md), with a
late file, a student missing from the roster and a stray PDF: imported, graded, exported back
to the same LMS's CSV with the LMS's ids. The grading is ``fake_grade`` on the tiny course of
test_coordinator (the engine is not the point here; test_honest_saves grades with it)."""
import csv
import datetime
import shutil
import zipfile

import pytest
from nbgrader.api import Gradebook

from autograder import cli
from autograder.intake import lms
from tests.test_coordinator import course, grade, grades, submit  # noqa: F401 (fixture)

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
DUE = datetime.datetime(2030, 3, 1, 17, 0)
RIGHT = "return 2 * x"


@pytest.fixture(scope="module")
def late_course(course, tmp_path_factory):
    """The tiny course with a late policy (10 % a day) and a1 due on ``DUE``."""
    root = tmp_path_factory.mktemp("lms") / "course"
    shutil.copytree(course, root)
    with open(root / "nbgrader_config.py", "a") as config:
        config.write('\nc.LatePolicy.per = "day"\nc.LatePolicy.percent = 10\n')
    with Gradebook(f"sqlite:///{root / 'template.db'}") as gb:
        gb.update_or_create_assignment("a1", duedate=DUE)
    return root


def notebook_text(course, answer):
    """A submission of a1 (``first.ipynb``) whose ``double`` body is ``answer``."""
    return submit(course / "scratch", course, "any", "a1", answer).read_bytes()


def write_csv(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def run(argv, capsys):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_canvas_download_to_grades_to_canvas_csv(late_course, tmp_path, capsys):
    right, wrong = notebook_text(late_course, RIGHT), notebook_text(late_course, "return 3 * x  # WRONG")
    download = tmp_path / "submissions.zip"
    with zipfile.ZipFile(download, "w") as archive:
        archive.writestr("leeann_12345_900001_first.ipynb", right)
        archive.writestr("leeann_12345_900002_sketch.pdf", b"%PDF-1.4")
        archive.writestr("doejane_LATE_23456_900003_first.ipynb", right)      # today's Canvas
        archive.writestr("kimcy_late_34567_900004_first.ipynb", wrong)        # older Canvas
        archive.writestr("smithbob_45678_900005_first.ipynb", right)          # not in roster
    roster = write_csv(tmp_path / "roster.csv", [
        {"student_id": "ann", "Student": "Lee, Ann", "ID": "12345", "SIS User ID": "S001",
         "SIS Login ID": "alee", "Section": "A"},
        {"student_id": "jane", "Student": "Doe, Jane", "ID": "23456", "SIS User ID": "S002",
         "SIS Login ID": "jdoe", "Section": "A"},
        {"student_id": "cy", "Student": "Kim, Cy", "ID": "34567", "SIS User ID": "S003",
         "SIS Login ID": "ckim", "Section": "B"}])
    submitted = tmp_path / "submitted"
    status, out, err = run(["import", "--lms", "canvas", download, "--assignment", "a1",
                            "--roster", roster, "--into", submitted,
                            "--due", "2030-03-01 17:00 UTC"], capsys)
    assert status == 1                                   # imported, with files to look at
    assert "3 notebooks imported" in out and "(2 marked late)" in out
    assert "files that are not notebooks (1): leeann_12345_900002_sketch.pdf" in err
    assert ("files of no roster student (1): smithbob_45678_900005_first.ipynb: no roster row "
            "with ID 45678") in err
    assert sorted(p.relative_to(submitted).as_posix() for p in submitted.rglob("*")
                  if p.is_file()) == ["ann/a1/first.ipynb", "cy/a1/first.ipynb",
                                      "cy/a1/timestamp.txt", "jane/a1/first.ipynb",
                                      "jane/a1/timestamp.txt"]
    assert (submitted / "jane/a1/timestamp.txt").read_text() == "2030-03-01 17:00:01.000000 UTC"

    out_folder = tmp_path / "out"
    grade(submitted, late_course, out_folder, assignments=["a1"])
    rows = grades(out_folder)
    assert {s: rows[s, "a1"]["score"] for s in ("ann", "jane", "cy")} == {
        "ann": "2", "jane": "2", "cy": "0"}
    export = tmp_path / "canvas.csv"
    status, _, err = run(["export", "--format", "canvas", "--out", export, "--roster", roster,
                          "--db", f"sqlite:///{out_folder}.db", "--course", late_course,
                          "--assignment", "a1"],
                         capsys)
    table = read_csv(export)
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "a1"]
    # jane: 2 of 3 points, less 10 % of 3 for a day late
    assert sorted(table[2:]) == [["Doe, Jane", "23456", "S002", "jdoe", "A", "1.7"],
                                 ["Kim, Cy", "34567", "S003", "ckim", "B", "0"],
                                 ["Lee, Ann", "12345", "S001", "alee", "A", "2"]]


def test_moodle_download_to_grades_to_moodle_csv(late_course, tmp_path, capsys):
    right = notebook_text(late_course, RIGHT)
    download = tmp_path / "download"        # the zip, unpacked by the instructor: a folder
    for where, data in (
            ("Ann Lee_1001_assignsubmission_file_/first.ipynb", right),
            ("Jane Doe_1002_assignsubmission_file_/first.ipynb", right),
            ("Jane Doe_1002_assignsubmission_file_/report.pdf", b"%PDF-1.4"),
            ("Jane Doe_1002_assignsubmission_onlinetext_/onlinetext.html", b"<p>hi</p>"),
            ("Bob Smith_1003_assignsubmission_file_/first.ipynb", right),
            ("Cy Kim_1004_assignsubmission_file_/first.ipynb", right),
            ("Cy Kim_1004_assignsubmission_file_/first (1).ipynb", right)):
        (download / where).parent.mkdir(parents=True, exist_ok=True)
        (download / where).write_bytes(data)
    roster = write_csv(tmp_path / "roster.csv", [
        {"student_id": "ann", "Identifier": "Participant 1001", "Full name": "Ann Lee",
         "Email address": "ann@uni.example", "username": "alee",
         "email": "ann@uni.example", lms.MOODLE_SUBMITTED: "Friday, 1 March 2030, 4:00 PM"},
        {"student_id": "jane", "Identifier": "Participant 1002", "Full name": "Jane Doe",
         "Email address": "jane@uni.example", "username": "jdoe",
         "email": "jane@uni.example", lms.MOODLE_SUBMITTED: "Saturday, 2 March 2030, 9:30 AM"},
        {"student_id": "cy", "Identifier": "Participant 1004", "Full name": "Cy Kim",
         "Email address": "cy@uni.example", "username": "ckim", "email": "cy@uni.example",
         lms.MOODLE_SUBMITTED: "-"}])
    submitted = tmp_path / "submitted"
    status, out, err = run(["import", "--lms", "moodle", download, "--assignment", "a1",
                            "--roster", roster, "--into", submitted], capsys)
    assert status == 1 and "2 notebooks imported" in out
    assert "files that are not notebooks (1): Jane Doe_1002_assignsubmission_file_/report.pdf" \
        in err
    assert "submissions that are not files (1): Jane Doe_1002_assignsubmission_onlinetext_/" \
        "onlinetext.html" in err
    assert ("files of no roster student (1): Bob Smith_1003_assignsubmission_file_/first.ipynb: "
            "no roster row with Identifier 1003 or Full name Bob Smith") in err
    assert "students with several notebooks (2): Cy Kim_1004_assignsubmission_file_/first " \
           "(1).ipynb: 2 notebooks from cy: keep one" in err
    assert (submitted / "ann/a1/timestamp.txt").read_text() == "2030-03-01 16:00:00.000000 UTC"
    assert (submitted / "jane/a1/timestamp.txt").read_text() == "2030-03-02 09:30:00.000000 UTC"

    out_folder = tmp_path / "out"
    grade(submitted, late_course, out_folder, assignments=["a1"])
    export = tmp_path / "moodle.csv"
    run(["export", "--format", "moodle", "--out", export, "--roster", roster,
         "--db", f"sqlite:///{out_folder}.db", "--course", late_course, "--assignment", "a1"],
        capsys)
    table = read_csv(export)
    assert table[0] == ["username", "email", "a1"]
    assert sorted(table[1:]) == [["alee", "ann@uni.example", "2"],     # on time
                                 ["ckim", "cy@uni.example", "0"],      # not placed: no grade
                                 ["jdoe", "jane@uni.example", "1.7"]]  # a day late: -10 %


def test_a_hostile_zip_is_refused_whole(tmp_path):
    download = tmp_path / "evil.zip"
    with zipfile.ZipFile(download, "w") as archive:
        archive.writestr("../escape_1_2_first.ipynb", "{}")
    with pytest.raises(lms.DownloadError, match="unsafe path"):
        lms.import_download(download, "canvas", "a1", {}, tmp_path / "submitted")
