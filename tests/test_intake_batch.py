"""One batch, the real engine, through the ``autograde`` command: honest students beside each
hostile input a submission folder can hold (issue 15). Honest grades are what they always
are; each hostile input is one row with a one-line reason (or a flag); the exit status is 0;
nothing is written outside OUT and the gradebook."""
import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.coursedir import ROOT
from tests.test_coordinator import course, submit  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow
RIGHT, WRONG = "return 2 * x", "return 3 * x"


def snapshot(*roots):
    """``{path: (size, mtime)}`` of everything under ``roots`` (symlinks not followed)."""
    found = {}
    for root in roots:
        for folder, folders, files in os.walk(root):
            for name in folders + files:
                path = os.path.join(folder, name)
                info = os.lstat(path)
                found[path] = (info.st_size, info.st_mtime_ns)
    return found


def rewrite(path, transform):
    path.write_bytes(transform(path.read_bytes()))


@pytest.fixture
def hostile_class(tmp_path, course):
    folder = tmp_path / "submitted"
    submit(folder, course, "ada", "a1", RIGHT)
    submit(folder, course, "bob", "a1", None)
    submit(folder, course, "cy", "a1", WRONG)
    (submit(folder, course, "deep", "a1", RIGHT)).write_text("[" * 186_000 + "]" * 186_000)
    fifo = submit(folder, course, "fifo", "a1", RIGHT)
    fifo.unlink()
    os.mkfifo(fifo)
    zero = submit(folder, course, "zero", "a1", RIGHT)
    zero.unlink()
    zero.symlink_to("/dev/zero")
    with open(submit(folder, course, "huge", "a1", RIGHT), "r+b") as handle:
        handle.truncate(5 << 30)
    latin = os.fsdecode(b"caf\xe9")
    submit(folder, course, latin, "a1", RIGHT)
    submit(folder, course, "x" * 129, "a1", RIGHT)
    submit(folder, course, "=1+2", "a1", RIGHT)
    rewrite(submit(folder, course, "bom", "a1", RIGHT), lambda data: b"\xef\xbb\xbf" + data)
    rewrite(submit(folder, course, "utf16", "a1", RIGHT),
            lambda data: data.decode().encode("utf-16"))
    old = submit(folder, course, "v3", "a1", RIGHT)
    old.write_text(nbformat.writes(nbformat.convert(nbformat.read(old, as_version=4), 3)))
    submit(folder, course, "bigcode", "a1", RIGHT + "  # " + "x" * (5 << 20))
    strays = submit(folder, course, "strays", "a1", RIGHT).parent
    for index in range(3000):
        (strays / f"data{index}.txt").write_text("x")
    (folder / "into_source").symlink_to(course / "source")
    (folder / "copycat").symlink_to(folder / "ada")
    (folder / "mallory").mkdir()
    (folder / "mallory" / "a1").symlink_to(folder / "ada" / "a1")
    (folder / "hardlink" / "a1").mkdir(parents=True)
    (source,) = (course / "source" / "a1").glob("*.ipynb")
    os.link(source, folder / "hardlink" / "a1" / source.name)
    downloaded = submit(folder.parent / "lms-download", course, "linked", "a1", RIGHT)
    (folder / "linked" / "a1").mkdir(parents=True)      # collected with cp -l: honest
    os.link(downloaded, folder / "linked" / "a1" / downloaded.name)
    return folder


def test_hostile_inputs_cost_only_themselves(hostile_class, course, tmp_path):
    out, database = tmp_path / "out", tmp_path / "gradebook.db"
    watched = [course, hostile_class]
    before = snapshot(*watched)
    command = [Path(sys.executable).parent / "autograde", hostile_class, "--out", out,
               "--course", course, "--assignment", "a1", "--db", f"sqlite:///{database}",
               "--timeout", "10"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert snapshot(*watched) == before
    assert set(os.listdir(tmp_path)) == {"submitted", "lms-download", "out", "gradebook.db"}
    assert len(done.stdout.splitlines()) < 20, done.stdout      # ignored files: summarised
    assert "3000 " in done.stdout

    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    for row in rows.values():
        assert "\n" not in row["reason"] and len(row["reason"]) < 400, row
    full = rows["ada"]["score"]
    assert (full, rows["bob"]["score"], rows["cy"]["score"]) == ("2", "0", "0")
    for honest in ("caf\\xe9", "'=1+2", "bom", "utf16", "v3", "linked"):
        assert (rows[honest]["status"], rows[honest]["score"]) == ("graded", full), honest
    assert (rows["strays"]["status"], rows["strays"]["score"]) == ("flagged", full)
    assert "files were copied into the sandbox" in rows["strays"]["reason"]
    expected = {
        "deep": "nests 186000 levels deep", "fifo": "is a named pipe (FIFO)",
        "zero": "is a symbolic link (to /dev/zero)", "huge": "is 5 GB, larger than the 32 MB",
        "x" * 129: "129 characters long; nbgrader's gradebook allows 128",
        "bigcode": "MB of code", "into_source": f"is a symbolic link to {course / 'source'}",
        "copycat": f"is a symbolic link to {hostile_class / 'ada'}",
        "mallory": f"is a symbolic link to {hostile_class / 'ada' / 'a1'}",
        "hardlink": "first.ipynb is a hard link to source/a1/first.ipynb, an instructor's file"}
    for student, words in expected.items():
        assert rows[student]["status"] == "error" and rows[student]["score"] == "0", student
        assert words in rows[student]["reason"], rows[student]
    assert len(rows) == 3 + 6 + 1 + len(expected)

    from autograder.record.gradebook import CourseGradebook
    with CourseGradebook(course, f"sqlite:///{database}") as book:
        recorded = book.submissions()
        flagged = {student for student, _ in recorded if any(
            nb.flagged for nb in book.connection.find_submission("a1", student).notebooks)}
    assert ("=1+2", "a1") in recorded and ("caf\\xe9", "a1") in recorded   # raw ids
    assert ("x" * 129, "a1") not in recorded
    assert {"into_source", "copycat", "mallory", "hardlink", "strays"} <= flagged
    assert not {"ada", "bob", "cy", "bom", "linked"} & flagged
    for refused in ("into_source", "copycat", "mallory", "hardlink"):   # nothing graded as theirs
        assert not (out / "feedback" / refused).exists()
    assert not (ROOT / "autograded" / "=1+2").exists()
