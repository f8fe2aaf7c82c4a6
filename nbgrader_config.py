"""nbgrader's configuration for this course: the repository root is the course directory."""
c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

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
# MathJax from a local copy (the jupyter-server-mathjax package), not a CDN, so that feedback
# pages read offline; the formgrader gets the same copy from that package's server extension.
# (the package ships the TeX-AMS-MML_HTMLorMML-full configuration, not TeX-AMS_CHTML-full)
import jupyter_server_mathjax  # noqa: E402
from pathlib import Path  # noqa: E402

c.HTMLExporter.mathjax_url = ((Path(jupyter_server_mathjax.__file__).parent / "static" / "MathJax.js")
                              .as_uri() + "?config=TeX-AMS-MML_HTMLorMML-full,Safe")
