"""The work moved from the coordinator to the worker is exactly nbgrader's: the grades a worker
computes are what nbgrader's ``SaveAutoGrades`` records, and the feedback page it renders is
the one rendered from the gradebook (``GetGrades``' view), which is how a page is made again
after grading by hand."""
import shutil

import nbformat
import pytest
from nbgrader.api import Comment
from nbgrader.preprocessors import SaveAutoGrades

from autograder.record import feedback
from autograder.record.gradebook import CourseGradebook
from tests.test_coordinator import course, grade, klass  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow  # grades a class: run by make test, not make test-quick


def test_the_workers_grades_are_what_nbgraders_saveautogrades_records(klass, course, tmp_path):
    out = tmp_path / "out"
    grade(klass, course, out)
    shutil.copy(course / "template.db", tmp_path / "nbgrader.db")
    url = f"sqlite:///{tmp_path / 'nbgrader.db'}"
    with CourseGradebook(course, url) as book:
        for path in sorted((out / "autograded").glob("*/*/*.ipynb")):
            student, assignment = path.parent.parent.name, path.parent.name
            book.connection.update_or_create_student(student)
            book.connection.update_or_create_submission(assignment, student)
            SaveAutoGrades().preprocess(nbformat.read(path, as_version=4), {"nbgrader": {
                "assignment": assignment, "notebook": path.stem, "student": student,
                "db_url": url}})
        book.connection.db.expire_all()
        nbgraders, nbgraders_comments = book.submissions(), auto_comments(book)
    with CourseGradebook(course, f"sqlite:///{out}.db") as book:
        ours = {key: value for key, value in book.submissions().items() if key in nbgraders}
        comments = {key: value for key, value in auto_comments(book).items()
                    if key[:2] in nbgraders}
    assert ours == nbgraders and len(ours) == 6
    assert comments == nbgraders_comments and comments["bob", "a1", "q_why"] == "No response."
    assert comments["ada", "a1", "q_why"] is None
    assert ours["cy", "a1"]["first"]["test_double"] == (0.0, False)
    assert ours["ada", "a1"]["first"] == {"test_double": (2.0, False), "q_why": (None, True)}
    assert ours["bob", "a1"]["first"]["q_why"] == (0.0, False), "no answer: 0, as nbgrader does"


def auto_comments(book):
    """``{(student, assignment, grade_id): auto_comment}`` of a gradebook."""
    return {(c.student.id, c.assignment.name, c.name): c.auto_comment
            for c in book.connection.db.query(Comment)}


def test_a_page_from_the_gradebook_is_the_page_the_worker_made(klass, course, tmp_path):
    out = tmp_path / "out"
    grade(klass, course, out)
    pages = sorted((out / "feedback").glob("*/*/*.html"))
    assert len(pages) == 6
    with CourseGradebook(course, f"sqlite:///{out}.db") as book:
        for page in pages:
            student, assignment = page.parent.parent.name, page.parent.name
            nb = nbformat.read(out / "autograded" / student / assignment
                               / f"{page.stem}.ipynb", as_version=4)
            again = feedback.html(nb, book.grades(student, assignment, page.stem),
                                  student=student, assignment=assignment, notebook=page.stem)
            assert again == page.read_text(), page
    wrong = (out / "feedback" / "cy" / "a1" / "first.html").read_text()
    assert "Score: 0.0 graded, 1 pending / 3.0" in wrong and "double(1) should be 2" in wrong
    right = (out / "feedback" / "ada" / "a1" / "first.html").read_text()
    assert "Score: 2.0 graded, 1 pending / 3.0" in right and "Score: pending / 1.0" in right


def test_a_page_made_again_after_hand_grading_shows_the_hand_grade(klass, course, tmp_path):
    out = tmp_path / "out"
    grade(klass, course, out)
    nb = nbformat.read(out / "autograded" / "ada" / "a1" / "first.ipynb", as_version=4)
    with CourseGradebook(course, f"sqlite:///{out}.db") as book:
        book.connection.find_grade("q_why", "first", "a1", "ada").manual_score = 0.5
        book.connection.db.commit()
        page = feedback.html(nb, book.grades("ada", "a1", "first"),
                             student="ada", assignment="a1", notebook="first")
    assert "Score: 2.5 / 3.0" in page and "Score: 0.5 / 1.0" in page and "pending" not in page
