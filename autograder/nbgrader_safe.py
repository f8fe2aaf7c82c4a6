"""nbgrader's own entry points made safe for untrusted submissions (set in ``nbgrader_config.py``).

- ``ClearHiddenTestCode``: every feedback page nbgrader writes (``nbgrader generate_feedback``,
  the formgrader's feedback buttons, ``autograde``'s own) drops the hidden-test regions of the
  test cells and the traceback lines of their errors, which quote test code (the error's type
  and message stay).
- ``SandboxedAutograde``: ``nbgrader autograde`` and the formgrader's per-student "Autograde"
  button (``NbGraderAPI.autograde`` runs nbgrader's ``Autograde`` converter with the course's
  config) grade with this project's sandboxed grader instead of running the student's code in
  a stock kernel: the converter's autograde step is this one preprocessor, which runs
  ``autograde <course>/submitted --student S --assignment A --force`` (gradebook, ``autograded/``,
  feedback, ``OUT/`` as usual) and hands nbgrader the notebook that grader wrote. Its sanitize
  step no longer copies the source's test cells (hidden tests) into ``autograded/``.
"""
import subprocess
import sys
from pathlib import Path

import nbformat
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from traitlets import Float, Unicode


class ClearHiddenTestCode(ClearHiddenTests):
    """nbgrader's ``ClearHiddenTests``, and the tracebacks of those cells cut to their last line
    (``AssertionError: message``): a traceback quotes the test code it ran."""

    def preprocess_cell(self, cell, resources, cell_index):
        hidden = self.begin_test_delimeter in cell.source
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if hidden:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', '')}: {output.get('evalue', '')}"]
        return cell, resources


class SandboxedAutograde(NbGraderPreprocessor):
    """nbgrader's autograde step replaced by this project's sandboxed grader (see module)."""
    out = Unicode("out", help="autograde's OUT folder, relative to the course "
                              "directory").tag(config=True)
    timeout = Float(30.0, help="seconds per cell (autograde --timeout)").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        student, assignment, notebook = info["student"], info["assignment"], info["notebook"]
        root = Path(CourseDirectory(config=self.config).root)
        command = [sys.executable, "-m", "autograder.cli", str(root / "submitted"),
                   "--out", str(root / self.out), "--course", str(root), "--db", info["db_url"],
                   "--student", student, "--assignment", assignment, "--force",
                   "--timeout", str(self.timeout)]
        self.log.info("grading %s/%s in the sandbox: %s", student, assignment, " ".join(command))
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"autograde failed on {student}/{assignment} "
                               f"(exit {done.returncode}): {done.stderr.strip()[-2000:]}")
        self.log.info(done.stdout)
        from autograder.record.gradebook import CourseGradebook
        folder = CourseGradebook(root, info["db_url"]).autograded_folder(root / self.out,
                                                                         root / "submitted")
        graded = folder / student / assignment / f"{notebook}.ipynb"
        if not graded.exists():
            raise RuntimeError(f"autograde wrote no {graded}: {done.stdout.strip()[-2000:]}")
        return nbformat.read(str(graded), as_version=nbformat.NO_CONVERT), resources


def stock_config(course_config):
    """The text of ``course_config`` (a course's ``nbgrader_config.py``) with nbgrader's stock
    autograde restored: for proofs and benchmarks that run nbgrader itself on trusted code
    (the answer key, known variants), never on submissions."""
    return (Path(course_config).read_text()
            + "\n# Stock nbgrader autograde, for trusted code only (see autograder.nbgrader_safe).\n"
            + "c.Autograde.pop('sanitize_preprocessors', None)\n"
            + "c.Autograde.pop('autograde_preprocessors', None)\n")
