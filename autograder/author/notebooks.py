"""Author -> release: build the chapters' source notebooks from their text sources.

A chapter is written as a text file ``source/<assignment>/<notebook>.py`` in a percent
format that a reviewer reads in a diff. Each cell starts with a header line::

    # %% [markdown]                              a markdown cell (its lines start with "# ")
    # %%                                         an ungraded code cell
    # %% solution corr2d [conv2d_true ...]       solution cell: the answer key's code for these
    # %% tests test_corr2d points=3              an autograded test cell (locked)
    # %% [markdown] answer q_edges points=2      a manually graded written answer
    # %% widget                                  a code cell that shows an explorer widget
                                                 (its output is interactive: nbval ignores it)
    # %% raises-exception                        an ungraded code cell that fails on a stub
                                                 (it calls a graded function)

Test cells and ``raises-exception`` cells carry Jupyter's ``raises-exception`` tag, so that
Run All (JupyterLab's, nbclient's, nbval's) goes on past them on a fresh release notebook.

A solution cell's code is never written in the text source: the builder copies it from
``autograder.answer_key`` (the one home of every solution), keeping each signature and
docstring visible and wrapping each body in nbgrader's ``### BEGIN/END SOLUTION`` markers.

``python -m autograder.author`` builds every ``.ipynb``, executes it to store its outputs,
and regenerates ``release/`` with ``nbgrader generate_assignment``.
"""
import argparse
import ast
import inspect
import re
import sys
import textwrap
from pathlib import Path

import nbformat

from autograder import answer_key
from autograder.coursedir import ROOT, CourseDir, nbgrader_api

HEADER = re.compile(r"^# %%(?: \[(?P<type>markdown)\])?(?: (?P<kind>solution|tests|answer)"
                    r"(?P<args>(?: \S+)+)| (?P<widget>widget)| (?P<raises>raises-exception))?\s*$")
#: The tag with which Run All goes on past a cell that raises (a test or example on a stub).
RAISES = "raises-exception"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


class AuthoringError(ValueError):
    """A text source that cannot be built, with the file and line at fault."""


def solution_source(name):
    """The answer key's code for ``name`` with each body between solution markers."""
    obj = getattr(answer_key, name)
    code = textwrap.dedent(inspect.getsource(obj))
    lines = code.splitlines()
    tree = ast.parse(code).body[0]
    if isinstance(tree, ast.ClassDef):
        methods = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    else:
        methods = [tree]
    # Wrap bodies from the last one up, so that earlier line numbers stay valid.
    for node in reversed(methods):
        body = node.body
        first = body[1] if _has_docstring(node) else body[0]
        start, end = first.lineno - 1, node.end_lineno
        indent = re.match(r"\s*", lines[start]).group()
        lines[start:end] = ([indent + "### BEGIN SOLUTION"] + lines[start:end]
                            + [indent + "### END SOLUTION"])
    return "\n".join(lines)


def _has_docstring(node):
    first = node.body[0]
    return (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str) and len(node.body) > 1)


def _grading(grade_id, *, grade, solution, locked, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked,
            "schema_version": 3, "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _options(args, path, lineno):
    names, options = [], {}
    for token in args.split():
        if "=" in token:
            key, value = token.split("=", 1)
            options[key] = value
        else:
            names.append(token)
    if not names:
        raise AuthoringError(f"{path}:{lineno}: the cell header names no grade id")
    return names, options


def _points(options, path, lineno):
    try:
        return float(options["points"]) if "." in options["points"] else int(options["points"])
    except (KeyError, ValueError):
        raise AuthoringError(f"{path}:{lineno}: a graded cell needs points=N") from None


def parse(path):
    """The notebook (nbformat v4, no outputs) that the text source at ``path`` describes."""
    path = Path(path)
    cells, header, body = [], None, []

    def close():
        if header is not None:
            cells.append(_cell(header, body, path))

    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        match = HEADER.match(line)
        if match:
            close()
            header, body = (match, lineno), []
        elif line.startswith("# %%"):
            raise AuthoringError(f"{path}:{lineno}: cannot read the cell header {line!r}")
        elif header is None:
            if line.strip():
                raise AuthoringError(f"{path}:{lineno}: text before the first cell header")
        else:
            body.append(line)
    close()
    grade_ids = [c.metadata["nbgrader"]["grade_id"] for c in cells if "nbgrader" in c.metadata]
    duplicated = sorted({g for g in grade_ids if grade_ids.count(g) > 1})
    if duplicated:
        raise AuthoringError(f"{path}: grade ids used twice: {', '.join(duplicated)}")
    # a label outside the solution markers stays in the release above "YOUR ANSWER HERE", so
    # that a student (and Validate's list of unanswered cells) sees which question it answers
    answers = [c for c in cells if c.cell_type == "markdown" and "nbgrader" in c.metadata]
    for number, cell in enumerate(answers, 1):
        cell.source = f"**Your answer to Question {number}:**\n\n{cell.source}"
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(nb.cells):
        cell.id = f"{path.stem}-{index:03d}"
    return nb


def _cell(header, body, path):
    match, lineno = header
    while body and not body[-1].strip():
        body.pop()
    markdown = match["type"] == "markdown"
    if markdown:
        text = "\n".join(re.sub(r"^# ?", "", line) for line in body).strip("\n")
    else:
        text = "\n".join(body).strip("\n")
    kind = match["kind"]
    if match["widget"]:
        if markdown:
            raise AuthoringError(f"{path}:{lineno}: a widget cell is a code cell")
        return nbformat.v4.new_code_cell(text, metadata={"tags": ["nbval-ignore-output"]})
    if match["raises"]:
        if markdown:
            raise AuthoringError(f"{path}:{lineno}: a raises-exception cell is a code cell")
        return nbformat.v4.new_code_cell(text, metadata={"tags": [RAISES]})
    if kind is None:
        return nbformat.v4.new_markdown_cell(text) if markdown else nbformat.v4.new_code_cell(text)
    names, options = _options(match["args"], path, lineno)
    if kind == "solution":
        if markdown or text:
            raise AuthoringError(f"{path}:{lineno}: a solution cell is a code cell and its "
                                 "code comes from the answer key: leave its body empty")
        missing = [name for name in names if not hasattr(answer_key, name)]
        if missing:
            raise AuthoringError(f"{path}:{lineno}: not in the answer key: {', '.join(missing)}")
        code = "\n\n\n".join(solution_source(name) for name in names)
        return nbformat.v4.new_code_cell(
            code, metadata=_grading(names[0], grade=False, solution=True, locked=False))
    points = _points(options, path, lineno)
    if kind == "tests":
        if markdown:
            raise AuthoringError(f"{path}:{lineno}: a tests cell is a code cell")
        metadata = _grading(names[0], grade=True, solution=False, locked=True, points=points)
        return nbformat.v4.new_code_cell(text, metadata=dict(metadata, tags=[RAISES]))
    if not markdown:
        raise AuthoringError(f"{path}:{lineno}: a written answer is a markdown cell")
    return nbformat.v4.new_markdown_cell(
        f"### BEGIN SOLUTION\n{text}\n### END SOLUTION",
        metadata=_grading(names[0], grade=True, solution=True, locked=False, points=points))


def execute(nb, cwd):
    """Run ``nb`` top to bottom in a fresh python3 kernel, storing its outputs."""
    from nbclient import NotebookClient
    NotebookClient(nb, timeout=600, kernel_name="python3", store_widget_state=False,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def build(text_source, run=True):
    """Write ``<notebook>.ipynb`` next to its text source; execute it unless ``run`` is False."""
    text_source = Path(text_source)
    nb = parse(text_source)
    if run:
        execute(nb, text_source.parent)
    target = text_source.with_suffix(".ipynb")
    nbformat.write(nb, target)
    return target


def release(assignments, course_root=ROOT):
    """Regenerate ``release/<assignment>/`` from ``source/`` with nbgrader's own converter."""
    api = nbgrader_api(course_root)
    for assignment in assignments:
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader could not release {assignment}:\n{result['log']}"
                               f"{result.get('error', '')}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="assignment names (default: all)")
    parser.add_argument("--no-run", action="store_true", help="do not execute the notebooks")
    args = parser.parse_args(argv)
    course = CourseDir()
    sources = [p for p in course.text_sources()
               if not args.chapters or p.parent.name in args.chapters]
    if not sources:
        sys.exit(f"no text source under {course.root / 'source'} matches {args.chapters}")
    for text_source in sources:
        print(f"building {text_source.relative_to(ROOT)}", flush=True)
        build(text_source, run=not args.no_run)
    release([p.parent.name for p in sources])
    print("released:", ", ".join(p.parent.name for p in sources))

