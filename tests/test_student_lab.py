"""``make student`` as root and as an ordinary user: JupyterLab starts on a copy of the chapters
with the student's configuration (nbgrader's instructor tools off), never overwrites a
student's work, and writes nothing into the repository."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from autograder.coursedir import ROOT, CourseDir
from tests import as_user
from tests.test_browser import free_port

pytestmark = pytest.mark.slow

TOKEN = "student-lab-test"


def repository_state():
    """What git sees in the repository, ignored files included (caches aside)."""
    done = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    return {line for line in done.stdout.splitlines()
            if "__pycache__" not in line and ".pytest_cache" not in line
            and ".hypothesis" not in line and "artifacts/" not in line}


def lab_page(url, lab):
    """JupyterLab's page (holding its page configuration) once the server answers; None when
    ``lab`` (the make process) ended first."""
    deadline = time.monotonic() + 120
    while lab.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/lab?token={TOKEN}", timeout=5) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    return None


@pytest.fixture
def scratch():
    """A folder the ordinary user can reach too (pytest's tmp_path is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="student-lab-"))
    os.chmod(folder, 0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("who", ["root", "ordinary user"])
def test_make_student_serves_a_copy_and_writes_nothing_into_the_repository(scratch, who):
    if who == "root" and os.geteuid() != 0:
        pytest.skip("needs root")
    student_dir = scratch / "work"
    (student_dir / "01_locality").mkdir(parents=True)   # a chapter the student works on
    (student_dir / "01_locality" / "mine.txt").write_text("my work")
    for folder in (student_dir, student_dir / "01_locality"):
        os.chmod(folder, 0o777)
    port = free_port()
    argv = ["make", "-s", "student", f"STUDENT_DIR={student_dir}",
            f"LAB_ARGS=--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 "
            f"--IdentityProvider.token={TOKEN}"]
    if who == "ordinary user":
        argv = as_user.command(argv)
    before = repository_state()
    env = dict(os.environ, TMPDIR=str(scratch))
    lab = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        page = lab_page(f"http://127.0.0.1:{port}", lab)
    finally:
        os.killpg(lab.pid, signal.SIGINT)
        try:
            output = lab.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            output = lab.communicate()[0]
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">'
                                  r'(.*?)</script>', page, re.S).group(1))
    assert page is not None, output
    assert "@jupyter/nbgrader:formgrader" in config["disabledExtensions"], output
    assert sorted(p.name for p in student_dir.iterdir()) == sorted(CourseDir().released())
    assert (student_dir / "01_locality" / "mine.txt").read_text() == "my work"
    assert not list((student_dir / "01_locality").glob("*.ipynb"))   # not copied over it
    assert repository_state() == before
    assert not list(scratch.glob("cnn-course-jupyter.*")), "the configuration's copy is removed"
