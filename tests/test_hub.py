"""The course as a shared JupyterHub runs it (issue 24): the students' wheel carries no answer,
an environment built from it runs a release notebook and cannot import the grader, nbgrader
without the environment on PATH, and the hub itself (deploy/) on loopback with system users.

The environments are built as `make hub` builds them (deploy/setup_course.py): a venv on the
system Python, the repository's .venv's packages hard-linked (minus this project's own), then
the wheel installed with --no-deps. Run alone: ``pytest tests/test_hub.py``.
"""
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.coursedir import ROOT

sys.path.insert(0, str(ROOT / "deploy"))
import setup_course  # noqa: E402

pytestmark = pytest.mark.slow
SEED = Path(sys.prefix)


@pytest.fixture(scope="module")
def course_root():
    """A folder every user can enter (the environments live there), removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="cnn-hub-test-", dir="/tmp"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def wheels(course_root):
    """Both wheels, built from this checkout as `make dist` builds them."""
    out = course_root / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", out, ".", "./student"],
                   cwd=ROOT, check=True)
    for leftover in ("build", "student/build", "course_cnn_basics.egg-info",
                     "cnn_basics_grader.egg-info"):
        shutil.rmtree(ROOT / leftover, ignore_errors=True)
    return {"student": setup_course.wheel(out, "course_cnn_basics"),
            "instructor": setup_course.wheel(out, "cnn_basics_grader")}


@pytest.fixture(scope="module")
def student_env(course_root, wheels):
    env = course_root / "envs" / "student"
    env.parent.mkdir(exist_ok=True)
    setup_course.environment(env, wheels["student"], seed=SEED)
    return env


def wheel_text(path):
    """{member name: text} of a wheel."""
    with zipfile.ZipFile(path) as wheel:
        return {name: wheel.read(name).decode("utf-8", "replace") for name in wheel.namelist()}


def squeeze(text):
    return re.sub(r"\s+", " ", text).strip()


def answer_bodies():
    """{function name: its body's text, whitespace squeezed} of the answer key."""
    tree = ast.parse((ROOT / "autograder" / "answer_key.py").read_text())
    source = (ROOT / "autograder" / "answer_key.py").read_text()
    bodies = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            body = [statement for statement in node.body
                    if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))]
            if body:
                bodies[node.name] = squeeze("\n".join(ast.get_source_segment(source, statement)
                                                      for statement in body))
    return bodies


def hidden_test_lines():
    """The lines between BEGIN HIDDEN TESTS and END HIDDEN TESTS in source/'s notebooks that
    are the tests' own: an assert, or a message or hint (a string of 15 characters or more).
    (A line that only calls PyTorch, e.g. ``Y = F.conv2d(X[None, None], K[None, None])[0, 0]``,
    may also be in course/'s explorers and checks: it tells nothing of a test.)"""
    lines = set()
    for path in (ROOT / "source").glob("*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            for block in re.findall(r"BEGIN HIDDEN TESTS(.*?)END HIDDEN TESTS", cell.source, re.S):
                lines.update(squeeze(line) for line in block.splitlines()
                             if line.strip().startswith("assert")
                             or re.search(r"""(['"]).{15,}\1""", line))
    return lines


def leaks(files):
    """What of the answer key, the hidden tests and nbgrader's markers ``files`` ({name: text})
    hold."""
    text = "\n".join(squeeze(content) for content in files.values())
    found = [f"answer_key.{name}" for name, body in answer_bodies().items() if body in text]
    found += [f"hidden test line {line!r}" for line in hidden_test_lines() if line in text]
    found += [marker for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS") if marker in text]
    found += [name for name in files if name.startswith(("autograder/", "source/"))]
    return found


def test_the_students_wheel_holds_no_answer_and_the_instructors_does(wheels):
    assert wheels["student"].name.startswith("course_")
    student = wheel_text(wheels["student"])
    assert "course/checks.py" in student and "course/explorers/locality.py" in student
    assert leaks(student) == []
    assert len(answer_bodies()) >= 5 and len(hidden_test_lines()) >= 10
    # the control: the same search finds the answer key in the instructors' wheel
    instructor = leaks(wheel_text(wheels["instructor"]))
    assert {f"answer_key.{name}" for name in answer_bodies()} <= set(instructor), instructor


def test_course_never_imports_the_grader():
    for path in (ROOT / "course").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(name.split(".")[0] == "autograder" for name in names), path


RUN_ALL = """
import json, sys
import nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False).execute()
print(json.dumps([[cell.source, cell.outputs] for cell in nb.cells if cell.cell_type == "code"]))
"""


def test_a_students_environment_runs_a_release_notebook_and_cannot_import_the_grader(
        student_env, tmp_path):
    """Run All (raises-exception cells may fail, no other) of a copy of a release notebook,
    by the students' environment's own Python and kernel, away from this checkout."""
    python = student_env / "bin" / "python"
    env = {"PATH": f"{student_env / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path),
           "MPLBACKEND": "Agg"}
    probe = subprocess.run([python, "-c", "import course, autograder"], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
    assert probe.returncode == 1 and "No module named 'autograder'" in probe.stderr, probe.stderr
    where = subprocess.run([python, "-c", "import course; print(course.__file__)"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(student_env))
    notebook = shutil.copy(ROOT / "release" / "01_locality" / "locality.ipynb", tmp_path)
    run = subprocess.run([python, "-c", RUN_ALL, notebook], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    cells = json.loads(run.stdout)
    explorers = [outputs for source, outputs in cells if "_explorer(" in source]
    assert explorers and all(any("application/vnd.jupyter.widget-view+json" in out.get("data", {})
                                 for out in outputs) for outputs in explorers)


def test_the_first_nbgrader_command_without_the_environment_on_path(tmp_path):
    """nbgrader shells out to alembic: run as ``.venv/bin/nbgrader`` from a shell whose PATH
    lacks the venv, the course's config puts the venv's bin/ on PATH, so the gradebook is
    whole and the next command works; a Python with no alembic beside it says what to do."""
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    nbgrader = Path(sys.executable).parent / "nbgrader"
    subprocess.run([nbgrader, "db", "student", "add", "ada"], cwd=tmp_path, env=env, check=True,
                   capture_output=True)
    listed = subprocess.run([nbgrader, "db", "student", "list"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=True)
    assert "ada" in listed.stdout
    lone = subprocess.run(["/usr/bin/python3", "-c", "exec(open('nbgrader_config.py').read(), "
                           "{'get_config': dict})"], cwd=tmp_path, env=env, capture_output=True,
                          text=True)
    assert lone.returncode == 1
    assert "needs the `alembic` command" in lone.stderr and "activate" in lone.stderr
