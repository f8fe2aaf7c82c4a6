"""Record: nbgrader's gradebook and the students' feedback, written with nbgrader's own machinery.

- ``prepare`` makes sure the gradebook knows an assignment, its notebooks and their cells, by
  running ``nbgrader generate_assignment``'s preprocessors up to ``SaveCells`` on the source
  notebooks (so the rows are exactly the ones generate_assignment writes).
- ``save`` writes one results record: the student, the submission, and every notebook's grades
  through ``SaveAutoGrades`` on the autograded notebook (manually graded answers stay "needs
  manual grading"; a notebook that could not be graded scores 0, as ``nbgrader autograde``
  does for a missing notebook; a flagged record flags its notebooks for a human, as the
  formgrader's flag button does).
- ``feedback_html`` renders a student's feedback as ``nbgrader generate_feedback`` does
  (``GetGrades`` + the ``feedback`` HTML template), from the autograded notebook.

Cost: nbgrader's preprocessors open a new database engine per notebook (table checks, a cold
statement cache); here ``SaveAutoGrades`` and ``GetGrades`` share one open connection. The
feedback page skips one page-wide pass of nbconvert's (``_PageAsIs``), most of its cost.
"""
import warnings
from pathlib import Path

import nbformat
from nbformat.v4.rwbase import rejoin_lines
from nbconvert.exporters import HTMLExporter, NotebookExporter
from nbconvert.exporters import html as nbconvert_html
from nbconvert.preprocessors import Preprocessor
from nbgrader.api import Gradebook
from nbgrader.converters import GenerateAssignment, GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import GetGrades, SaveAutoGrades, SaveCells
from sqlalchemy.exc import SAWarning

from autograder.coursedir import nbgrader_config
from autograder.record import results


class _SaveAutoGrades(SaveAutoGrades):
    """nbgrader's ``SaveAutoGrades`` (its per-cell ``_add_score``/``_add_comment``) writing
    through ``connection``, an open ``Gradebook``."""
    connection = None

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        self.notebook_id, self.assignment_id = info["notebook"], info["assignment"]
        self.student_id, self.gradebook = info["student"], self.connection
        return Preprocessor.preprocess(self, nb, resources)


class _GetGrades(GetGrades):
    """nbgrader's ``GetGrades`` (scores and comments into the notebook, the notebook's score
    into the resources) reading through ``connection``, an open ``Gradebook``."""
    connection = None

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        self.notebook_id, self.assignment_id = info["notebook"], info["assignment"]
        self.student_id, self.gradebook = info["student"], self.connection
        nb, resources = Preprocessor.preprocess(self, nb, resources)
        notebook = self.gradebook.find_submission_notebook(
            self.notebook_id, self.assignment_id, self.student_id)
        penalty = notebook.late_submission_penalty or 0
        info.update(score=notebook.score - penalty, max_score=notebook.max_score,
                    late_penalty=penalty)
        return nb, resources


class _PageAsIs(str):
    """What ``HTMLExporter``'s last pass gets instead of BeautifulSoup: the page, unparsed,
    with nothing to select. That pass adds alt text to images and tab stops to JupyterLab
    cells (the classic-based feedback template has none) by re-parsing the whole page: 3/4 of
    the time of a feedback page."""

    def __new__(cls, html, features=None):
        return super().__new__(cls, html)

    def select(self, css):
        return []


class _FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter, without the page-wide re-parsing pass (see ``_PageAsIs``)."""

    def from_notebook_node(self, nb, resources=None, **kw):
        parser, nbconvert_html.BeautifulSoup = nbconvert_html.BeautifulSoup, _PageAsIs
        try:
            return super().from_notebook_node(nb, resources, **kw)
        finally:
            nbconvert_html.BeautifulSoup = parser


def notebook_node(nb):
    """An nbformat v4 dict (sources possibly lists of lines, as in a file) as a NotebookNode."""
    return rejoin_lines(nbformat.from_dict(nb))


class CourseGradebook:
    """nbgrader's gradebook of the course at ``course_root`` (``db_url``: any SQLAlchemy URL;
    default ``sqlite:///<course_root>/gradebook.db``). Use as a context manager, or ``close``."""

    def __init__(self, course_root, db_url=None):
        self.config = nbgrader_config(course_root, db_url)
        self.coursedir = CourseDirectory(config=self.config)
        self.db_url = self.coursedir.db_url
        self.course_id = self.coursedir.course_id
        self._connection = None
        self._feedback = None

    @property
    def connection(self):
        """The open ``Gradebook`` (opened on first use; raises if the URL is bad)."""
        if self._connection is None:
            self._connection = Gradebook(self.db_url, self.course_id)
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
        """Create or update ``assignment`` with the notebooks and cells of ``source_folder``."""
        self.connection.update_or_create_assignment(assignment)
        chain = GenerateAssignment(coursedir=self.coursedir, config=self.config).preprocessors
        exporter = NotebookExporter(config=self.config)
        for preprocessor in chain[:chain.index(SaveCells) + 1]:
            exporter.register_preprocessor(preprocessor(config=self.config), enabled=True)
        for path in sorted(Path(source_folder).glob("*.ipynb")):
            nb = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
            exporter.from_notebook_node(nb, self._resources(assignment, path.stem))
        self.connection.db.expire_all()   # SaveCells wrote through its own connection

    def save(self, record, timestamp=None):
        """Write one results record (the engine's contract) into the gradebook."""
        gb, student, assignment = self.connection, record["student_id"], record["assignment"]
        gb.update_or_create_student(student)
        with warnings.catch_warnings():   # nbgrader's own autoflush notice, harmless
            warnings.filterwarnings("ignore", "Object of type .* not in session", SAWarning)
            gb.update_or_create_submission(assignment, student,
                                           **({"timestamp": timestamp} if timestamp else {}))
        for notebook in record["notebooks"]:
            if notebook.get("notebook"):
                preprocessor = _SaveAutoGrades(config=self.config)
                preprocessor.connection = gb
                preprocessor.preprocess(notebook_node(notebook["notebook"]),
                                        self._resources(assignment, notebook["name"], student))
            submitted = gb.find_submission_notebook(notebook["name"], assignment, student)
            if not notebook.get("notebook"):   # could not be graded: 0, as nbgrader does
                for grade in submitted.grades:
                    grade.auto_score, grade.needs_manual_grade = 0, False
            if record["status"] == results.FLAGGED:   # never unflag: a grader may have flagged it
                submitted.flagged = True
        gb.db.commit()

    def feedback_html(self, student, assignment, notebook, nb):
        """The student's feedback page for one autograded notebook (nbformat dict)."""
        if self._feedback is None:
            converter = GenerateFeedback(coursedir=self.coursedir, config=self.config)
            self._feedback = _FeedbackExporter(config=converter.config)
            for preprocessor in converter.preprocessors:
                if preprocessor is GetGrades:
                    preprocessor = _GetGrades
                instance = preprocessor(config=converter.config)
                instance.connection = self.connection
                self._feedback.register_preprocessor(instance, enabled=True)
        node = notebook_node(nb)
        # saved widget state would make the page load the widgets' JavaScript from a CDN; without
        # it nbconvert shows each explorer's PNG of its first state (course.explorers._base)
        node.metadata.pop("widgets", None)
        html, _ = self._feedback.from_notebook_node(
            node, self._resources(assignment, notebook, student))
        return html

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
