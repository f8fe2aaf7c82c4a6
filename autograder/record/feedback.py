"""Feedback: a student's page for one autograded notebook, as ``nbgrader generate_feedback``
renders it (the ``feedback`` HTML template), from grades given as data.

``html(nb, grades)`` is the one renderer. The grades come from where they are known:

- ``autograded_grades(nb)``: from the autograded notebook alone, exactly what nbgrader's
  ``SaveAutoGrades`` stores for it (``determine_grade``, "No response." comments). On a first
  grading that is what the gradebook holds, so the worker renders the page (``finish``);
- ``CourseGradebook.grades``: from the gradebook (hand grades and comments included), for a
  page made again after grading by hand.

``grades`` is ``{"cells": {grade_id: {"auto_score", "manual_score", "score", "points",
"comment"}}, "score", "max_score", "late_penalty"}``: what nbgrader's ``GetGrades`` puts into
the notebook and its resources (``auto_score`` is what ``SaveAutoGrades`` stores: None while a
human must grade). A written answer with neither score reads "pending", not 0, and so does its
share of the notebook's score ("2.0 graded, 1 pending").
"""
import functools
import threading
import time
from pathlib import Path

import nbformat
from jinja2 import FileSystemLoader, PrefixLoader
from jinja2 import filters as jinja_filters
from nbformat.v4.rwbase import rejoin_lines
from nbconvert.exporters import HTMLExporter
from nbconvert.exporters import html as nbconvert_html
from nbconvert.filters import Highlight2HTML
from nbconvert.preprocessors import Preprocessor
import nbgrader
from nbgrader import utils
from nbgrader.preprocessors import GetGrades
from traitlets import default
from traitlets.utils.importstring import import_item

from autograder.engine import cells as engine_cells
from autograder.record.cell_names import graded_cell_names
from autograder.report import similarity

_exporter = None
_rendering = threading.Lock()   # one page at a time per process (see FeedbackExporter)


class _PageAsIs(str):
    """What ``HTMLExporter``'s last pass gets instead of BeautifulSoup: the page, unparsed,
    with nothing to select. That pass adds alt text to images and tab stops to JupyterLab
    cells (the classic-based feedback template has none) by re-parsing the whole page: 3/4 of
    the time of a feedback page."""

    def __new__(cls, html, features=None):
        return super().__new__(cls, html)

    def select(self, css):
        return []


class Pending(str):
    """A score still to be given by hand: the feedback template shows the text where it
    expects a number (its ``float`` and ``round`` filters pass it through)."""


def _passing(number_filter):
    """A jinja number filter that leaves a ``Pending`` as it is."""
    return lambda value, *args, **kw: (
        value if isinstance(value, Pending) else number_filter(value, *args, **kw))


def mark_pending(cell, auto_score, manual_score):
    """Mark a grade cell's score ``Pending`` when neither the grader nor a human has scored it
    (its points are in the notebook's metadata); returns the points left pending (0.0 if not)."""
    if auto_score is None and manual_score is None:
        cell.metadata.nbgrader["score"] = Pending("pending")
        return float(cell.metadata.nbgrader["points"])
    return 0.0


def notebook_score(score, pending):
    """The notebook's score as the page shows it: ``score`` (graded points), and the points
    ``pending`` if any ("2.0 graded, 1 pending")."""
    return Pending(f"{round(score, 2)} graded, {pending:g} pending") if pending else score


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter, without the page-wide re-parsing pass (see ``_PageAsIs``;
    it swaps a module global, hence ``_rendering``), showing ``Pending`` scores as text,
    rendering each markdown text and highlighting each code text once per process: the release's cells, the same on every student's page, are most of
    a page's work (both are pure functions of the text). ``nbgrader generate_feedback`` uses
    it too (``GenerateFeedback.exporter_class`` in ``nbgrader_config.py``)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self._highlighters = {}   # pygments lexer name -> _Highlight
        self._markdown = functools.lru_cache(maxsize=4096)(self._uncached_markdown)

    @default("extra_loaders")
    def _nbgraders_templates(self):
        """nbgrader's templates as ``nbgrader/...``: the course's ``feedback`` template
        (autograder/record/templates) extends ``nbgrader/feedback/index.html.j2``."""
        return [PrefixLoader({"nbgrader": FileSystemLoader(str(
            Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"))})]

    @default("optimistic_validation")
    def _validate_once(self):
        """Validate the page's notebook once, after every preprocessor, not after each: they
        only set scores, comments and metadata."""
        return True

    def default_filters(self):
        yield from super().default_filters()
        yield "float", _passing(jinja_filters.do_float)
        yield "round", _passing(jinja_filters.do_round)

    @nbconvert_html.contextfilter
    def markdown2html(self, context, source):
        """nbconvert's ``markdown2html``, cached unless the cell has attachments."""
        if context.get("cell", {}).get("attachments"):
            return super().markdown2html(context, source)
        return self._markdown(source, context.get("resources", {}).get("metadata", {})
                              .get("path", ""))

    def _uncached_markdown(self, source, path):
        return super().markdown2html({"resources": {"metadata": {"path": path}}}, source)

    def register_filter(self, name, jinja_filter):
        """The highlighter ``HTMLExporter`` makes for each page, as a cached one."""
        if name == "highlight_code" and type(jinja_filter) is Highlight2HTML:
            lexer = jinja_filter.pygments_lexer
            if lexer not in self._highlighters:
                self._highlighters[lexer] = _Highlight(pygments_lexer=lexer, parent=self)
            jinja_filter = self._highlighters[lexer]
        return super().register_filter(name, jinja_filter)

    def from_notebook_node(self, nb, resources=None, **kw):
        resources = {} if resources is None else resources
        resources.setdefault("nbgrader", {})["cell_names"] = graded_cell_names(nb)
        with _rendering:
            parser, nbconvert_html.BeautifulSoup = nbconvert_html.BeautifulSoup, _PageAsIs
            try:
                page, resources = super().from_notebook_node(nb, resources, **kw)
            finally:
                nbconvert_html.BeautifulSoup = parser
        page = page.replace("<html>", '<html lang="en">', 1)
        return page.replace("</head>", _WRAP_OUTPUTS + _READABLE + "</head>", 1), resources


#: A test's verdict is one long line: wrap output text at the page's width, as JupyterLab does,
#: rather than hide its end behind a horizontal scroll bar.
_WRAP_OUTPUTS = ("<style>.output_text pre { white-space: pre-wrap; overflow-wrap: anywhere; }"
                 "</style>\n")


#: WCAG 2.1 AA on the feedback template (nbgrader's, on nbconvert's classic one): links
#: underlined (not told by colour alone) and every text at least 4.5:1 on its background.
_READABLE = ("<style>a, a:hover, a:focus {text-decoration: underline;}"
             "a {color: #0b4f9c;} div.nbgrader_cell .panel-heading a {color: inherit;}"
             "li.late-penalty {color: #a8322d;}"
             "div.nbgrader_cell .panel-heading {height: auto; overflow: hidden;}"
             "</style>\n")


class _Highlight(Highlight2HTML):
    """nbconvert's code highlighting, once per (text, language, cell magic language)."""

    def __call__(self, source, language=None, metadata=None):
        return self._highlight(source, language, (metadata or {}).get("magics_language"))

    @functools.lru_cache(maxsize=4096)
    def _highlight(self, source, language, magics_language):
        metadata = {"magics_language": magics_language} if magics_language else None
        return super().__call__(source, language, metadata)


class GetPendingGrades(GetGrades):
    """nbgrader's ``GetGrades``, an answer that no one has scored yet shown as pending."""

    def preprocess(self, nb, resources):
        self.pending = 0.0
        nb, resources = super().preprocess(nb, resources)
        resources["nbgrader"]["score"] = notebook_score(resources["nbgrader"]["score"],
                                                        self.pending)
        return nb, resources

    def _get_score(self, cell, resources):
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)
        cell.metadata.nbgrader["score"] = grade.score
        cell.metadata.nbgrader["points"] = grade.max_score
        self.pending += mark_pending(cell, grade.auto_score, grade.manual_score)


class _SetGrades(Preprocessor):
    """nbgrader's ``GetGrades`` with the grades given: each graded cell's score (``Pending``
    while a human must grade it) and points, each answer's comment, the notebook's score into
    the resources."""

    def preprocess(self, nb, resources):
        self.grades, self.pending = resources["nbgrader"]["grades"], 0.0
        nb, resources = super().preprocess(nb, resources)
        score = notebook_score(self.grades["score"], self.pending)   # less the late penalty
        resources["nbgrader"].update(score=score, max_score=self.grades["max_score"],
                                     late_penalty=self.grades["late_penalty"])
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if utils.is_grade(cell) or utils.is_solution(cell) or utils.is_task(cell):
            given = self.grades["cells"].get(cell.metadata.nbgrader["grade_id"], {})
            if utils.is_solution(cell) or utils.is_task(cell):
                cell.metadata.nbgrader["comment"] = given.get("comment")
            if utils.is_grade(cell) or utils.is_task(cell):
                cell.metadata.nbgrader["score"] = given.get("score", 0.0)
                cell.metadata.nbgrader["points"] = given.get("points", 0.0)
                if "points" in given:
                    self.pending += mark_pending(cell, given.get("auto_score"),
                                                 given.get("manual_score"))
        return cell, resources


def autograded_grades(nb):
    """The grades of an autograded notebook (NotebookNode) as ``SaveAutoGrades`` records them
    and ``GetGrades`` reads them back: no hand grade yet, so a grade's score is its automatic
    score (0 while a written answer waits for a human)."""
    cells = {}
    for cell in nb.cells:
        if not (utils.is_grade(cell) or utils.is_solution(cell) or utils.is_task(cell)):
            continue
        meta, entry = cell.metadata.nbgrader, {}
        if utils.is_solution(cell) or utils.is_task(cell):
            unchanged = meta.get("checksum") == utils.compute_checksum(cell)
            entry["comment"] = "No response." if unchanged and not utils.is_task(cell) else None
        if utils.is_grade(cell):
            score, points = utils.determine_grade(cell)
            entry.update(auto_score=None if score is None else float(score),
                         score=float(score or 0.0), points=points)
        cells[meta["grade_id"]] = entry
    graded = [entry for entry in cells.values() if "points" in entry]
    return {"cells": cells, "score": sum(entry["score"] for entry in graded),
            "max_score": sum(entry["points"] for entry in graded), "late_penalty": 0}


def written_answers(nb):
    """``{grade_id: text}`` of the hand-graded written answers of a notebook (NotebookNode):
    kept in the record (and so the journal) to tell next time whether an answer changed."""
    return {engine_cells.grade_id(cell): engine_cells.source(cell)
            for cell in nb.cells if engine_cells.is_manual(cell)}


def changed_code(nb):
    """``{grade_id: code}`` of the solution code cells of a notebook (NotebookNode) that the
    student changed from the release (nbgrader's checksum differs): kept in the record for the
    report's similar answers (``autograder.report.similarity``)."""
    return {engine_cells.grade_id(cell): cell.source for cell in nb.cells
            if cell.cell_type == "code" and utils.is_solution(cell)
            and cell.metadata.nbgrader.get("checksum") != utils.compute_checksum(cell)}


def notebook_node(nb):
    """An nbformat v4 dict (sources possibly lists of lines, as in a file) as a NotebookNode."""
    return rejoin_lines(nbformat.from_dict(nb))


def finish(record, release=None):
    """On the worker, after grading: each autograded notebook of ``record`` (the engine's
    ``notebook``) becomes what the coordinator records and writes, all pure functions of it:
    ``grades`` (see the module doc), ``feedback_html`` (the page), ``autograded_ipynb``
    (the file's text), ``answers`` and ``solutions`` (what the student wrote) and, given the
    assignment's ``release`` folder, the solutions' ``fingerprints`` for the report's similar
    answers (``autograder.report.similarity.fingerprint``). Returns ``record``, its
    ``timings`` with ``finish`` (seconds)."""
    started = time.perf_counter()
    for notebook in record["notebooks"]:
        nb = notebook.pop("notebook", None)
        if not nb:
            continue
        node = notebook_node(nb)
        notebook["autograded_ipynb"] = nbformat.writes(node)
        notebook["grades"] = autograded_grades(node)
        notebook["answers"] = written_answers(node)
        notebook["solutions"] = changed_code(node)
        if release is not None and notebook["solutions"]:
            given = similarity.release_hashes(release)
            notebook["fingerprints"] = {grade_id: similarity.fingerprint(code, given)
                                        for grade_id, code in notebook["solutions"].items()}
        notebook["feedback_html"] = html(node, notebook["grades"], student=record["student_id"],
                                         assignment=record["assignment"],
                                         notebook=notebook["name"])
    record.setdefault("timings", {})["finish"] = round(time.perf_counter() - started, 4)
    return record


def grade_and_finish(grade, job):
    """What a worker runs: ``grade(job)`` (the engine's), then ``finish`` on its record."""
    return finish(grade(job), job.release)


def warm():
    """Make what a worker's pages and fingerprints need, once per process: the exporter and
    the course book's fingerprints (``similarity.book_hashes``)."""
    _the_exporter()
    similarity.book_hashes()


def html(nb, grades, *, student, assignment, notebook):
    """The feedback page (HTML text) of ``nb`` (an autograded NotebookNode; its grade cells
    get the scores) with ``grades`` (see the module doc)."""
    resources = {"unique_key": notebook,
                 "nbgrader": {"student": student, "assignment": assignment,
                              "notebook": notebook, "grades": grades}}
    # saved widget state would make the page load the widgets' JavaScript from a CDN; without
    # it nbconvert shows each explorer's PNG of its first state (course.explorers._base)
    nb.metadata.pop("widgets", None)
    return _the_exporter().from_notebook_node(nb, resources)[0]


def _the_exporter():
    global _exporter
    if _exporter is None:
        _exporter = _make_exporter()
    return _exporter


def _make_exporter():
    """The exporter ``nbgrader generate_feedback`` configures (the feedback template, its CSS),
    its ``GetGrades`` (the course's pending-aware one) replaced by ``_SetGrades``."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from autograder.coursedir import nbgrader_config
    config = nbgrader_config()
    converter = GenerateFeedback(coursedir=CourseDirectory(config=config), config=config)
    exporter = FeedbackExporter(config=converter.config)
    for preprocessor in converter.preprocessors:   # classes, or their names in a config
        if isinstance(preprocessor, str):
            preprocessor = import_item(preprocessor)
        exporter.register_preprocessor(
            (_SetGrades if preprocessor in (GetGrades, GetPendingGrades) else preprocessor)(
                config=converter.config),
            enabled=True)
    return exporter
