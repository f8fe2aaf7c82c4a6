"""Record: nbgrader's gradebook, its rows written with nbgrader's own API and rules.

- ``prepare`` makes sure the gradebook knows an assignment, its notebooks and their cells, by
  running ``nbgrader generate_assignment``'s preprocessors up to ``SaveCells`` on the source
  notebooks (so the rows are exactly the ones generate_assignment writes; ``SaveCells`` itself
  only where the rows differ).
- ``save`` writes one results record: the student, the submission and every notebook's grades
  and comments as nbgrader's ``add_submission`` and ``SaveAutoGrades`` set them (``autograde``
  is that rule), from the ``grades`` the worker computed with nbgrader's ``determine_grade``
  (``autograder.record.feedback.autograded_grades``): written answers "need manual grading";
  a notebook that could not be graded (unusable, a grader fault) scores 0, as ``nbgrader
  autograde`` gives a missing one, and needs manual grading; a flagged record, and one that
  could not be graded, flags its notebooks (the formgrader's flag). A new submission's rows
  go in as a few bulk inserts; one graded again goes through nbgrader's ORM
  (``update_or_create_submission``), where a hand grade of a written answer whose text is the
  one graded before (the journal's previous record keeps each notebook's ``answers``) stays
  graded: nbgrader's own rule marks every hand-graded cell as needing grading again.
- ``transaction``: many records in one transaction (one commit, not one per cell).
- ``grades``: a submitted notebook's grades as ``GetGrades`` reads them, for its feedback page
  (``autograder.record.feedback.html``) after grading by hand.
"""
import contextlib
import json
import warnings
from collections import namedtuple
from pathlib import Path

import nbformat
from nbconvert.exporters import Exporter
from nbgrader import utils
from nbgrader.api import (Assignment, Comment, Grade, Gradebook, MissingEntry, Student,
                          SubmittedAssignment, SubmittedNotebook, new_uuid)
from nbgrader.converters import GenerateAssignment
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import SaveCells
from nbgrader.utils import parse_utc
from sqlalchemy import insert
from sqlalchemy.exc import SAWarning

from autograder.coursedir import nbgrader_config
from autograder.record import results


def _open(db_url, course_id):
    """nbgrader's ``Gradebook``; a new database is stamped with the head of nbgrader's
    migrations read in-process (nbgrader asks a subprocess, ``alembic heads``: 2.9 s, against
    0.1 s here), so a course's first run does not wait for it."""
    import nbgrader.api
    asked = nbgrader.api.get_alembic_version
    nbgrader.api.get_alembic_version = _alembic_head
    try:
        return Gradebook(db_url, course_id)
    finally:
        nbgrader.api.get_alembic_version = asked


def _alembic_head():
    """The head revision of nbgrader's gradebook migrations (what ``alembic heads`` prints)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR
    config = Config()
    config.set_main_option("script_location", ALEMBIC_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


def unchanged_answers(answers, before):
    """Grade ids of the written ``answers`` (``{grade_id: text}``, see
    ``autograder.record.feedback.written_answers``) that are the same in ``before``'s."""
    before = before or {}
    return frozenset(g for g, text in (answers or {}).items() if before.get(g) == text)


def _saved_cells(nb):
    """The cells of ``nb`` as ``SaveCells`` records them: ``{"grade", "solution", "task",
    "source": {grade_id: the row's fields}}``."""
    saved = {"grade": {}, "solution": {}, "task": {}, "source": {}}
    for cell in nb.cells:
        if not (utils.is_grade(cell) or utils.is_solution(cell) or utils.is_task(cell)
                or utils.is_locked(cell)):
            continue
        meta = cell.metadata.nbgrader
        if utils.is_grade(cell):
            saved["grade"][meta["grade_id"]] = (float(meta["points"]), cell.cell_type)
        if utils.is_solution(cell):
            saved["solution"][meta["grade_id"]] = ()
        if utils.is_task(cell):
            saved["task"][meta["grade_id"]] = (float(meta["points"]), cell.cell_type)
        saved["source"][meta["grade_id"]] = (cell.cell_type, utils.is_locked(cell),
                                             cell.source, meta.get("checksum"))
    return saved


Shape = namedtuple("Shape", "assignment_id duedate notebooks")
NotebookShape = namedtuple("NotebookShape", "name id grades comments")   # (cell id, name) pairs


def autograde(name, cells, manual_score, unchanged):
    """``(auto_score, needs_manual_grade)`` of the grade cell ``name`` as ``SaveAutoGrades``
    sets them from the worker's ``cells`` (None: not graded: 0, for a human to grade), given
    its hand grade and the ``unchanged_answers``; None: left as is."""
    if cells is None:
        return 0, True
    if name not in cells:
        return None
    auto = cells[name]["auto_score"]
    if name in unchanged and auto is None and manual_score is not None:
        return auto, False   # the answer graded by hand, unchanged
    return auto, manual_score is not None or auto is None


def _to_look_at(record):
    """Whether a results record's notebooks are flagged for a human in the gradebook (the
    formgrader's flag): it is flagged, or could not be graded (its 0 is no verdict)."""
    return bool(record["flags"]) or record["status"] == results.ERROR


def _answers(record, name):
    """The written answers of notebook ``name`` of a results ``record`` (None if unknown)."""
    return next((nb.get("answers") for nb in (record or {}).get("notebooks", [])
                 if nb["name"] == name), None)


class CourseGradebook:
    """nbgrader's gradebook of the course at ``course_root`` (``db_url``: any SQLAlchemy URL;
    default ``sqlite:///<course_root>/gradebook.db``). Use as a context manager, or ``close``."""

    def __init__(self, course_root, db_url=None):
        self.config = nbgrader_config(course_root, db_url)
        self.coursedir = CourseDirectory(config=self.config)
        self.db_url = self.coursedir.db_url
        self.course_id = self.coursedir.course_id
        self._connection = None
        self._known, self._students, self._shapes = None, set(), {}

    def autograded_folder(self, out, submissions):
        """Where the autograded notebooks go: the course's ``autograded/`` (nbgrader's
        ``CourseDirectory.autograded_directory``, where the formgrader looks) when the course's
        configuration names it or ``submissions`` is the course's own ``submitted/``; else
        ``OUT/autograded`` (submissions from elsewhere write nothing into the course)."""
        own = Path(self.coursedir.root, self.coursedir.submitted_directory)
        if "autograded_directory" in self.config.CourseDirectory or (
                Path(submissions).resolve() == own.resolve()):
            return Path(self.coursedir.root, self.coursedir.autograded_directory)
        return Path(out) / "autograded"

    @property
    def connection(self):
        """The open ``Gradebook`` (opened on first use; raises if the URL is bad)."""
        if self._connection is None:
            self._connection = _open(self.db_url, self.course_id)
        return self._connection

    def close(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _resources(self, assignment, notebook, student=None):
        return {"unique_key": notebook,
                "nbgrader": {"assignment": assignment, "notebook": notebook, "student": student,
                             "db_url": self.db_url, "course_id": self.course_id}}

    def prepare(self, assignment, source_folder):
        """Create or update ``assignment`` with the notebooks and cells of ``source_folder``.
        ``SaveCells`` (two queries and a commit a cell: about 0.5 s a notebook) runs only for
        a notebook whose rows are not already the ones it would write (``_holds``)."""
        self.connection.update_or_create_assignment(assignment)
        chain = GenerateAssignment(coursedir=self.coursedir, config=self.config).preprocessors
        exporter = Exporter(config=self.config)   # the preprocessors, no output format
        for preprocessor in chain[:chain.index(SaveCells)]:
            exporter.register_preprocessor(preprocessor(config=self.config), enabled=True)
        for path in sorted(Path(source_folder).glob("*.ipynb")):
            nb = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
            resources = self._resources(assignment, path.stem)
            nb, resources = exporter.from_notebook_node(nb, resources)
            if not self._holds(assignment, path.stem, nb):
                SaveCells(config=self.config).preprocess(nb, resources)
                self.connection.db.expire_all()   # SaveCells wrote through its own connection
        self._shapes.pop(assignment, None)

    def _holds(self, assignment, notebook, nb):
        """Whether the gradebook's rows of ``notebook`` are what ``SaveCells`` would write for
        ``nb`` (a source notebook after the preprocessors before it)."""
        try:
            found = self.connection.find_notebook(notebook, assignment)
        except MissingEntry:
            return False
        return found.kernelspec == json.dumps(nb.metadata.get("kernelspec", {})) and \
            _saved_cells(nb) == {
                "grade": {c.name: (c.max_score, c.cell_type) for c in found.grade_cells},
                "solution": {c.name: () for c in found.solution_cells},
                "task": {c.name: (c.max_score, c.cell_type) for c in found.task_cells},
                "source": {c.name: (c.cell_type, c.locked, c.source, c.checksum)
                           for c in found.source_cells}}

    def save(self, record, timestamp=None, before=None):
        """Write one results record (the engine's contract, ``finish``ed) into the gradebook;
        ``before`` is the record this submission had (None: first grading). Returns
        ``(by_hand, created)``: the names of its notebooks holding hand grades or comments
        (their feedback pages are to be made from the gradebook, ``grades``), and whether the
        submission is new to the gradebook."""
        key = record["student_id"], record["assignment"]
        if key not in self.submitted():
            self._insert(record, timestamp)
            return set(), True
        return self._update(record, timestamp, before), False

    def _insert(self, record, timestamp):
        """A new submission's rows, as ``add_submission`` then the loop of ``_update`` would
        write them, in a few bulk inserts (nbgrader's ORM cost about 10 ms a submission)."""
        session, student = self.connection.db, record["student_id"]
        shape = self._shape(record["assignment"])
        if student not in self._students:
            session.execute(insert(Student.__table__), [{"id": student}])
            self._students.add(student)
        submission = new_uuid()
        session.execute(insert(SubmittedAssignment.__table__), [{
            "id": submission, "assignment_id": shape.assignment_id, "student_id": student,
            "timestamp": parse_utc(timestamp) if timestamp else None}])
        graded = {nb["name"]: nb for nb in record["notebooks"]}
        notebooks, grades, comments = [], [], []
        for notebook in shape.notebooks:
            row = {"id": new_uuid(), "assignment_id": submission, "notebook_id": notebook.id,
                   "flagged": _to_look_at(record) and notebook.name in graded}
            notebooks.append(row)
            result = graded.get(notebook.name)
            cells = result["grades"]["cells"] if result and result.get("grades") else None
            for cell_id, name in notebook.grades:
                score = autograde(name, cells, None, frozenset()) if result else None
                auto, needs = score if score else (None, True)
                grades.append({"id": new_uuid(), "notebook_id": row["id"], "cell_id": cell_id,
                               "auto_score": auto, "needs_manual_grade": needs})
            for cell_id, name in notebook.comments:
                comments.append({"id": new_uuid(), "notebook_id": row["id"], "cell_id": cell_id,
                                 "auto_comment": cells[name].get("comment")
                                 if cells and name in cells else None})
        for table, rows in ((SubmittedNotebook, notebooks), (Grade, grades), (Comment, comments)):
            if rows:
                session.execute(insert(table.__table__), rows)
        self.submitted().add((student, record["assignment"]))
        session.commit()

    def _update(self, record, timestamp, before):
        """Write ``record`` over the submission it grades again, with nbgrader's ORM."""
        gb, student, assignment = self.connection, record["student_id"], record["assignment"]
        with warnings.catch_warnings():   # nbgrader's own autoflush notice, harmless
            warnings.filterwarnings("ignore", "Object of type .* not in session", SAWarning)
            gb.update_or_create_submission(assignment, student,
                                           **({"timestamp": timestamp} if timestamp else {}))
        by_hand = set()
        for notebook in record["notebooks"]:
            submitted = gb.find_submission_notebook(notebook["name"], assignment, student)
            cells = notebook["grades"]["cells"] if notebook.get("grades") else None
            unchanged = unchanged_answers(notebook.get("answers"),
                                          _answers(before, notebook["name"]))
            for grade in submitted.grades:
                score = autograde(grade.name, cells, grade.manual_score, unchanged)
                if score:
                    grade.auto_score, grade.needs_manual_grade = score
                if grade.manual_score is not None:
                    by_hand.add(notebook["name"])
            for comment in submitted.comments if cells else ():   # SaveAutoGrades._add_comment
                if comment.name in cells:
                    comment.auto_comment = cells[comment.name].get("comment")
                if comment.manual_comment:
                    by_hand.add(notebook["name"])
            if _to_look_at(record):   # never unflag: a grader may have flagged it
                submitted.flagged = True
        gb.db.commit()
        return by_hand

    def submitted(self):
        """``{(student, assignment)}`` of the gradebook's submissions (read once, then kept
        as this object saves; with the students, ``_students``)."""
        if self._known is None:
            session = self.connection.db
            self._students = {row[0] for row in session.query(Student.id)}
            self._known = set(session.query(SubmittedAssignment.student_id, Assignment.name)
                              .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id))
        return self._known

    def _shape(self, assignment):
        """The gradebook's rows of ``assignment`` that a submission mirrors (``Shape``)."""
        if assignment not in self._shapes:
            found = self.connection.find_assignment(assignment)
            self._shapes[assignment] = Shape(found.id, found.duedate, [NotebookShape(
                nb.name, nb.id,
                [(c.id, c.name) for c in list(nb.grade_cells) + list(nb.task_cells)],
                [(c.id, c.name) for c in list(nb.solution_cells) + list(nb.task_cells)])
                for nb in found.notebooks])
        return self._shapes[assignment]

    def duedate(self, assignment):
        """``assignment``'s due date in the gradebook (None: none)."""
        return self._shape(assignment).duedate

    @contextlib.contextmanager
    def transaction(self):
        """Everything saved inside is one transaction, committed at the end (rolled back on an
        error): nbgrader's API commits after every change, inside only a flush."""
        session = self.connection.db
        session.commit = session.flush
        try:
            yield
        except BaseException:
            del session.commit
            session.rollback()
            self._known = None   # what this object saved is gone: read the gradebook again
            raise
        del session.commit
        session.commit()

    def grades(self, student, assignment, notebook):
        """A submitted notebook's grades as nbgrader's ``GetGrades`` reads them (hand grades
        and comments first), in ``autograder.record.feedback``'s form."""
        session = self.connection.db
        session.flush()   # the scores are computed by the database: write, then read them again
        session.expire_all()
        submitted = self.connection.find_submission_notebook(notebook, assignment, student)
        cells = {}
        for grade in submitted.grades:
            cells.setdefault(grade.name, {}).update(
                auto_score=grade.auto_score, manual_score=grade.manual_score, score=grade.score,
                points=grade.max_score)
        for comment in submitted.comments:
            cells.setdefault(comment.name, {})["comment"] = comment.comment
        penalty = submitted.late_submission_penalty or 0
        return {"cells": cells, "score": submitted.score - penalty,
                "max_score": submitted.max_score, "late_penalty": penalty}

    def formgrader_averages(self):
        """``{assignment: (average score, max score, submissions)}`` as the formgrader's
        Gradebook page shows them (nbgrader's ``average_assignment_score``: every grade, hand
        grades included, over every submission; ungraded written answers count 0)."""
        gb = self.connection
        return {a.name: (gb.average_assignment_score(a.name), a.max_score, a.num_submissions)
                for a in gb.assignments}

    def submissions(self):
        """``{(student, assignment): {notebook: {grade_id: (auto_score, needs_manual_grade)}}}``
        of every submission in the gradebook (what the tests and the benchmark compare)."""
        rows = {}
        for assignment in self.connection.assignments:
            for submission in assignment.submissions:
                rows[submission.student_id, assignment.name] = {
                    nb.name: {g.name: (g.auto_score, g.needs_manual_grade) for g in nb.grades}
                    for nb in submission.notebooks}
        return rows
