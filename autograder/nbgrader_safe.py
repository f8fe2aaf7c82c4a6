"""nbgrader's own entry points made safe for untrusted submissions (set in ``nbgrader_config.py``).

- ``ClearHiddenTestCode``: every feedback page nbgrader writes (``nbgrader generate_feedback``,
  the formgrader's feedback buttons, ``autograde``'s own) drops the hidden-test regions of the
  test cells and the traceback lines of their errors, which quote test code (the error's type
  and message stay).
- ``SandboxedAutograde``: ``nbgrader autograde`` and the formgrader's per-student "Autograde"
  button (``NbGraderAPI.autograde`` runs nbgrader's ``Autograde`` converter with the course's
  config) grade with this project's sandboxed grader instead of running the student's code in
  a stock kernel: the converter's autograde step is this one preprocessor, which runs
  ``autograde <course>/submitted --student S --assignment A --force`` (gradebook, ``autograded/``
  with nbgrader's ``timestamp.txt`` and ``submission_secret.txt``, feedback, ``OUT/`` as usual)
  and hands nbgrader the notebook that grader wrote. A notebook it could not grade is an error
  (``nbgrader autograde`` exits 1, the button shows the reason, the gradebook flags it), never
  the sanitized copy. Without ``--force`` nbgrader itself skips a submission whose
  ``timestamp.txt`` is not newer than the graded one ("Skipping existing assignment"), and
  grades a resubmission. When `autograde serve` runs for the course, the button grades
  through its warm workers (``autograder.serve.client.grade_via_service``, about a second)
  instead of a cold run. Its sanitize step no longer copies the source's test cells (hidden
  tests) into ``autograded/``.
"""
import csv
import subprocess
import sys
from pathlib import Path

import nbformat
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from traitlets import Float, Unicode

from autograder.engine import cells
from autograder.serve.client import grade_via_service


class ClearHiddenTestCode(ClearHiddenTests):
    """nbgrader's ``ClearHiddenTests`` on the test cells only, and the tracebacks of those cells
    cut to their last line (``AssertionError: message``): a traceback quotes the test code it
    ran. What a student wrote is data: nbgrader's markers in their cells (``# BEGIN HIDDEN
    TESTS`` in a solution) stay as written, where nbgrader's own step fails the whole page."""

    def preprocess_cell(self, cell, resources, cell_index):
        if not cells.is_test(cell):
            return cell, resources
        hidden = self.begin_test_delimeter in cell.source
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if hidden:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', '')}: {output.get('evalue', '')}"]
        return cell, resources

    def _remove_hidden_test_region(self, cell):
        """nbgrader's, where an unclosed or nested region hides all from its first marker
        (nbgrader's raises)."""
        try:
            return super()._remove_hidden_test_region(cell)
        except RuntimeError:
            lines = cell.source.split("\n")
            first = next(i for i, line in enumerate(lines) if self.begin_test_delimeter in line)
            cell.source = "\n".join(lines[:first])
            return True


class SandboxedAutograde(NbGraderPreprocessor):
    """nbgrader's autograde step replaced by this project's sandboxed grader (see module).

    Says exactly what happened: the notebook this grader wrote is the result; one it could not
    grade raises, naming the reason (nbgrader then removes its copy, counts the submission
    as an error and exits non-zero), and is flagged in the gradebook. The sanitized copy
    nbgrader's first step wrote is no grade: it is removed before grading."""
    out = Unicode("out", help="autograde's OUT folder, relative to the course "
                              "directory").tag(config=True)
    timeout = Float(30.0, help="seconds per cell (autograde --timeout)").tag(config=True)

    def preprocess(self, nb, resources):
        from autograder.record.gradebook import CourseGradebook
        info = resources["nbgrader"]
        student, assignment, notebook = info["student"], info["assignment"], info["notebook"]
        root = Path(CourseDirectory(config=self.config).root)
        out = root / self.out
        with CourseGradebook(root, info["db_url"]) as book:
            folder = book.autograded_folder(out, root / "submitted")
        graded = folder / student / assignment / f"{notebook}.ipynb"
        graded.unlink(missing_ok=True)
        if grade_via_service(root, student, assignment):
            self.log.info("graded %s/%s by the running `autograde serve`", student, assignment)
        else:
            self._autograde(root, out, info["db_url"], student, assignment)
        if not graded.exists():
            _flag(info["db_url"], self.config, notebook, assignment, student)
            raise RuntimeError(f"{student}/{assignment}/{notebook}.ipynb could not be graded "
                               f"(flagged in the gradebook): {_reason(out, student, assignment)}")
        return nbformat.read(str(graded), as_version=nbformat.NO_CONVERT), resources

    def _autograde(self, root, out, db_url, student, assignment):
        """Grade with a cold ``autograde`` run (no grading service runs for the course)."""
        command = [sys.executable, "-m", "autograder.cli", str(root / "submitted"),
                   "--out", str(out), "--course", str(root), "--db", db_url,
                   "--student", student, "--assignment", assignment, "--force",
                   "--timeout", str(self.timeout)]
        self.log.info("grading %s/%s in the sandbox: %s", student, assignment, " ".join(command))
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"autograde failed on {student}/{assignment} "
                               f"(exit {done.returncode}): {done.stderr.strip()[-2000:]}")
        self.log.info(done.stdout)


def _reason(out, student, assignment):
    """Why ``autograde`` could not grade ``student``'s ``assignment``: its row of
    ``OUT/grades.csv``."""
    with open(Path(out, "grades.csv"), newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if (row["student_id"], row["assignment"]) == (student, assignment):
                return row["reason"]
    return "no row in grades.csv"


def _flag(db_url, config, notebook, assignment, student):
    """Flag ``student``'s ``notebook`` in the gradebook for a human (the formgrader's flag)."""
    from nbgrader.api import Gradebook
    with Gradebook(db_url, CourseDirectory(config=config).course_id) as gb:
        gb.find_submission_notebook(notebook, assignment, student).flagged = True
        gb.db.commit()


def stock_config(course_config):
    """The text of ``course_config`` (a course's ``nbgrader_config.py``) with nbgrader's stock
    autograde restored: for proofs and benchmarks that run nbgrader itself on trusted code
    (the answer key, known variants), never on submissions."""
    return (Path(course_config).read_text()
            + "\n# Stock nbgrader autograde, for trusted code only (see autograder.nbgrader_safe).\n"
            + "c.Autograde.pop('sanitize_preprocessors', None)\n"
            + "c.Autograde.pop('autograde_preprocessors', None)\n")
