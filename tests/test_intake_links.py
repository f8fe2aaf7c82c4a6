"""Hard links in the submissions (``autograder.intake.links`` through ``collect``): a file that
is the same file as an instructor's is refused and flagged for that student, saying what it is
linked to; honest files with other links (elsewhere, or to each other: no direction) are
graded."""
import os
import subprocess

import nbformat
import pytest

from autograder.intake import collect

RELEASED = {"a1": ["first"], "a2": ["second"]}


@pytest.fixture
def course(tmp_path):
    """An instructor's side (source/ and an answer key) and a submissions folder."""
    for folder, name in (("source/a1", "first.ipynb"), ("autograder", "answer_key.py")):
        (tmp_path / "course" / folder).mkdir(parents=True)
        nbformat.write(nbformat.v4.new_notebook(), tmp_path / "course" / folder / name)
    return tmp_path / "course"


def notebook(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(), path)
    return path


def link(target, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    os.link(target, path)
    return path


def batch(folder, course):
    found = collect.collect(folder, RELEASED, instructor=[course / "source",
                                                          course / "autograder"])
    return ({(s.student_id, s.assignment) for s in found.gradable},
            {(s.student_id, s.assignment): s for s in found.unusable})


def test_a_hard_link_to_an_instructors_file_is_refused_and_flagged(tmp_path, course):
    folder = tmp_path / "submitted"
    notebook(folder / "ada" / "a1" / "first.ipynb")
    link(course / "source" / "a1" / "first.ipynb", folder / "mallory" / "a1" / "first.ipynb")
    notebook(folder / "key" / "a1" / "first.ipynb")
    link(course / "autograder" / "answer_key.py", folder / "key" / "a1" / "notes" / "key.py")
    gradable, unusable = batch(folder, course)
    assert gradable == {("ada", "a1")}
    assert set(unusable) == {("mallory", "a1"), ("key", "a1")}
    mallory, key = unusable["mallory", "a1"], unusable["key", "a1"]
    assert mallory.reason == mallory.flag == (
        "mallory/a1/first.ipynb is a hard link to source/a1/first.ipynb, an instructor's file "
        "(the same file): not graded as mallory's work")
    assert key.flag.startswith("key/a1/notes/key.py is a hard link to autograder/answer_key.py")


def test_two_students_linked_to_each_other_are_graded_not_accused(tmp_path, course):
    """Either could be the author (a link has no direction; a deduplicating copy links identical
    files): both are graded as the identical copies they are, neither refused."""
    folder = tmp_path / "submitted"
    original = notebook(folder / "ada" / "a1" / "first.ipynb")
    link(original, folder / "bob" / "a1" / "first.ipynb")
    notebook(folder / "cy" / "a1" / "first.ipynb")
    gradable, unusable = batch(folder, course)
    assert gradable == {("ada", "a1"), ("bob", "a1"), ("cy", "a1")} and unusable == {}


def test_honest_files_with_other_links_are_graded(tmp_path, course):
    """A collection made with ``cp -l`` from a download folder outside the course; a
    student's own file linked between their assignments; a copy of an instructor's file."""
    downloads, folder = tmp_path / "lms-download", tmp_path / "submitted"
    for student in ("ada", "bob"):
        notebook(downloads / student / "a1" / "first.ipynb")
    subprocess.run(["cp", "-rl", downloads, folder], check=True)
    assert os.stat(folder / "ada" / "a1" / "first.ipynb").st_nlink == 2
    notebook(folder / "cy" / "a1" / "first.ipynb")
    link(folder / "cy" / "a1" / "first.ipynb", folder / "cy" / "a2" / "second.ipynb")
    (folder / "dee" / "a1").mkdir(parents=True)
    (folder / "dee" / "a1" / "first.ipynb").write_bytes(
        (course / "source" / "a1" / "first.ipynb").read_bytes())    # a copy, not a link
    gradable, unusable = batch(folder, course)
    assert unusable == {}
    assert gradable == {("ada", "a1"), ("bob", "a1"), ("cy", "a1"), ("cy", "a2"), ("dee", "a1")}
