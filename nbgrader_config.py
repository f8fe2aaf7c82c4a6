"""nbgrader's configuration for this course: the repository root is the course directory."""
import os
import shutil
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

# nbgrader makes the gradebook by running the `alembic` command: run without it on PATH (the
# course's environment not activated), its first command would leave a half-made gradebook.db
# that later fails with "duplicate column name". Use the alembic beside this Python, or stop.
if shutil.which("alembic") is None:
    if not (Path(sys.executable).parent / "alembic").is_file():
        sys.exit(f"nbgrader needs the `alembic` command on PATH, and {sys.executable} has none "
                 "beside it: activate the course's environment first (source .venv/bin/activate)")
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

c.CourseDirectory.course_id = "cnn-basics"
# The chapters' text sources (source/<assignment>/*.py) are for authors, not for students.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*", "*.py"]
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.Execute.timeout = 120
c.ExecutePreprocessor.timeout = 120

# Every nbgrader entry point is safe for untrusted submissions (autograder/nbgrader_safe.py):
# feedback pages never show hidden-test code, and `nbgrader autograde` / the formgrader's
# Autograde button grade with the sandboxed `autograde`, never in a stock kernel.
# Unmarked written answers read "pending", not 0, in nbgrader's feedback as in autograde's.
c.GenerateFeedback.preprocessors = ["autograder.nbgrader_safe.ClearHiddenTestCode",
                                    "autograder.record.feedback.GetPendingGrades",
                                    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]
c.GenerateFeedback.exporter_class = "autograder.record.feedback.FeedbackExporter"
c.Autograde.sanitize_preprocessors = ["nbgrader.preprocessors.ClearOutput",
                                      "nbgrader.preprocessors.DeduplicateIds",
                                      "nbgrader.preprocessors.OverwriteKernelspec"]
c.Autograde.autograde_preprocessors = ["autograder.nbgrader_safe.SandboxedAutograde"]
# Feedback and formgrader pages load MathJax from the Jupyter server that serves them
# (jupyter-server-mathjax, under that server's base URL: offline, through a hub, on a laptop),
# never from a CDN or a path of the grading machine: the course's mathjax macro comes first.
from importlib.util import find_spec  # noqa: E402

c.HTMLExporter.extra_template_basedirs = [
    str(Path(find_spec("autograder.record").origin).parent / "templates"),
    str(Path(find_spec("nbgrader").origin).parent / "server_extensions" / "formgrader" / "templates")]
