"""nbgrader's Validate button for students, each failing cell's error shown before its source.

nbgrader's dialog shows a failing test's whole source (20 lines or more) and its error below,
out of view: the hint (the error's first line, ``course.checks``) is what the student needs.
This Jupyter server extension is nbgrader's ``validate_assignment`` with its answer reordered
for the dialog, which shows each cell's ``source`` (as text) first and its ``error`` (as HTML)
second. The students' configuration (student/share/student_nbgrader.json) enables it in place
of nbgrader's.
"""
import html
import textwrap

from nbconvert.filters import strip_ansi


#: The dialog's text does not wrap: longer lines of an error are wrapped here.
WIDTH = 90


def error_first(result):
    """nbgrader's ``Validator.validate`` answer with each failed cell's error (its lines wrapped
    at ``WIDTH``) where the dialog shows the source, and the source (escaped HTML) where it
    shows the error."""
    for cell in result.get("failed", []) if isinstance(result, dict) else []:
        error = "\n".join(textwrap.fill(line, WIDTH, subsequent_indent="    ") or line
                          for line in strip_ansi(cell["raw_error"]).strip().splitlines())
        cell["source"], cell["error"] = error, html.escape(cell["source"])
    return result


def _handlers():
    """nbgrader's validate_assignment handlers, its Validate handler reordering the answer."""
    from nbgrader.server_extensions.validate_assignment import handlers

    class ErrorFirstValidateHandler(handlers.ValidateAssignmentHandler):
        def validate_notebook(self, path):
            answer = super().validate_notebook(path)
            if answer.get("success"):
                answer["value"] = error_first(answer["value"])
            return answer

    return [(pattern, ErrorFirstValidateHandler
             if handler is handlers.ValidateAssignmentHandler else handler)
            for pattern, handler in handlers.default_handlers]


def _jupyter_server_extension_points():
    return [{"module": "course.validate"}]


def _load_jupyter_server_extension(server):
    """Register the handlers as nbgrader's ``load_jupyter_server_extension`` does."""
    from jupyter_server.utils import url_path_join

    webapp = server.web_app
    webapp.settings["root_dir"] = server.root_dir
    webapp.add_handlers(".*$", [(url_path_join(webapp.settings["base_url"], pattern), handler)
                                for pattern, handler in _handlers()])
