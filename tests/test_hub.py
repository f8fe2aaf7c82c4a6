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
    # each wheel carries every file of its packages that the repository keeps (templates...)
    for wheel, package in ((wheels["student"], "course"), (wheels["instructor"], "autograder")):
        kept = subprocess.run(["git", "ls-files", package], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.split()
        assert set(kept) - set(wheel_text(wheel)) == set(), wheel.name


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


# --- A semester through a real JupyterHub on loopback, driven in Chromium -------------------

#: The system users and groups of one run, named after its process: two runs on one machine
#: (two worktrees, or this file and tests/test_hub_serve.py) neither share nor remove each
#: other's users.
GROUPS = f"cnbt{os.getpid()}"
INSTRUCTOR, RIGHT, WRONG = (f"{GROUPS}-{name}" for name in ("teacher", "ada", "bob"))
CHAPTERS = ["01_locality", "02_cross_correlation"]
ANSWERED, NOTEBOOK = "01_locality", "locality"
PROXY = ROOT / ".venv" / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"
TIMEOUT = 180_000   # milliseconds: a torch kernel on a busy 2-core machine


@pytest.fixture(scope="module")
def serve():
    """The grading service's options in the hub (setup_course.grading_service), or None: none
    here; tests/test_hub_serve.py overrides it."""
    return None


@pytest.fixture(scope="module")
def hub(course_root, wheels, student_env, serve):
    """The course set up by deploy/setup_course.py with an instructor and two students
    (system users, homes under ``course_root``) and JupyterHub started with
    deploy/jupyterhub_config.py on free loopback ports (with the grading service if
    ``serve``); everything removed afterwards."""
    import secrets
    from tests.test_browser import free_port, require_browser
    require_browser()
    if os.geteuid() != 0:
        pytest.skip("the hub test creates system users: run as root (as CI does)")
    assert PROXY.exists(), "configurable-http-proxy is missing: make test installs it from npm"
    import tryout
    users = [INSTRUCTOR, RIGHT, WRONG]
    passwords = {name: secrets.token_urlsafe(9) for name in users}
    url = f"http://127.0.0.1:{free_port()}"
    try:
        settings = setup_course.setup(
            course_root, wheels["student"].parent, INSTRUCTOR, [RIGHT, WRONG], passwords,
            seed=SEED, homes=course_root / "home", groups_prefix=GROUPS, proxy=str(PROXY),
            bind_url=url, ports={"hub_port": free_port(), "proxy_api_port": free_port()},
            serve=serve)
        with open(course_root / "hub" / "jupyterhub.log", "w") as log:
            process = tryout.start_hub(course_root / "course.json", log, url)
            try:
                yield {"url": url, "passwords": passwords, **settings}
            finally:
                tryout.stop_hub(process)
                shutil.copy(course_root / "hub" / "jupyterhub.log", ARTIFACTS / "hub.log")
    finally:
        setup_course.teardown(course_root, users, GROUPS)


ARTIFACTS = ROOT / "artifacts"


def as_user(hub, name, *argv):
    """Run ``argv`` as the system user ``name`` with their role's environment first on PATH,
    in the course directory for the instructor (home for a student); returns its stdout."""
    role = "instructor" if name == INSTRUCTOR else "student"
    home = Path(hub["root"]) / "home" / name
    cwd = hub["course_directory"] if role == "instructor" else home
    done = subprocess.run(["runuser", "-u", name, "--", "env", "-i",
                           f"PATH={hub['envs'][role]}/bin:/usr/bin:/bin", f"HOME={home}",
                           f"USER={name}", "MPLBACKEND=Agg", *map(str, argv)],
                          cwd=cwd, capture_output=True, text=True)
    with open(ARTIFACTS / "hub_commands.log", "a") as log:
        log.write(f"$ {' '.join(map(str, argv))}   # as {name}\n{done.stdout}{done.stderr}\n")
    assert done.returncode == 0, f"{argv} as {name}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def log_in(browser, hub, name):
    """A browser page of ``name`` (a context of their own: their cookies) logged in through
    the hub's log-in form, on their JupyterLab."""
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{hub['url']}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", hub["passwords"][name])
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{name}/lab**", timeout=TIMEOUT)
    page.locator(".jp-LauncherCard, .jp-DirListing").first.wait_for()
    return page


def open_assignment_list(page, shot):
    """Open the Assignment List from the Nbgrader menu; returns the menu's items."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    items = page.locator(".lm-Menu-itemLabel", has_text="Assignment List")
    items.wait_for()
    labels = [label.strip() for label in page.locator(".lm-Menu .lm-Menu-itemLabel").all_inner_texts()
              if label.strip()]   # a disabled plugin's command leaves a hidden, empty item
    page.screenshot(path=str(ARTIFACTS / f"hub_{shot}_menu.png"))
    items.click()
    page.locator("#released_assignments_list, #fetched_assignments_list").first.wait_for()
    return labels


def answers(kind):
    """``{grade_id: text}`` of the chapter: the answer key's code (``right``) or the key with
    every return value 0 (``wrong``), and a written answer."""
    from autograder.tools.submissions import key_code
    source = json.loads((ROOT / "source" / ANSWERED / f"{NOTEBOOK}.ipynb").read_text())
    code = key_code(source)
    if kind == "wrong":
        code = {grade_id: re.sub(r"return .*", "return 0", text) for grade_id, text in code.items()}
    release = nbformat.read(ROOT / "release" / ANSWERED / f"{NOTEBOOK}.ipynb", as_version=4)
    written = {cell.metadata.nbgrader["grade_id"]: "The same weights at every position."
               for cell in release.cells
               if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution")}
    return {**code, **written}


def save_answers(page, name, kind):
    """Save the fetched notebook with ``kind`` answers through the student's own server (its
    contents API, as JupyterLab's Save does)."""
    from autograder.tools.submissions import fill
    path = f"{ANSWERED}/{NOTEBOOK}.ipynb"
    fetched = page.evaluate("""async path => {
        const xsrf = document.cookie.match(/_xsrf=([^;]*)/)[1];
        const r = await fetch(`api/contents/${path}`, {headers: {"X-XSRFToken": xsrf}});
        return await r.json(); }""".replace("api/contents", f"/user/{name}/api/contents"), path)
    put(page, f"/user/{name}/api/contents/{path}", fill(fetched["content"], answers(kind)))


def put(page, url, nb):
    """Save notebook ``nb`` at ``url`` (a contents API path) from the page, as Save does."""
    status = page.evaluate("""async ([url, nb]) => {
        const xsrf = document.cookie.match(/_xsrf=([^;]*)/)[1];
        const r = await fetch(url, {method: "PUT", headers: {"X-XSRFToken": xsrf,
            "Content-Type": "application/json"}, body: JSON.stringify({type: "notebook",
            format: "json", content: nb})});
        return r.status; }""", [url, nb])
    assert status in (200, 201), status


def validate_and_submit(page, name, shot):
    """Validate the fetched chapter's notebook and submit it, from the Assignment List;
    returns the Validate dialog's text."""
    fetched = page.locator("#fetched_assignments_list")
    row = fetched.locator(".list_item", has_text=ANSWERED).first
    row.locator("a.assignment-notebooks-link").click()   # show its notebooks
    row.get_by_role("button", name="Validate").first.click()
    dialog = page.locator(".jp-Dialog-content")
    dialog.locator(".validation-success, .validation-failed").first.wait_for()
    verdict = dialog.inner_text()
    dialog.screenshot(path=str(ARTIFACTS / f"hub_{shot}_validate.png"))
    dialog.locator(".jp-Dialog-button").last.click()
    row.get_by_role("button", name="Submit").click()
    page.locator("#submitted_assignments_list .list_item", has_text=ANSWERED).first.wait_for()
    page.screenshot(path=str(ARTIFACTS / f"hub_{shot}_submitted.png"))
    return verdict


ATTEMPTS = """
import os, glob
tries = {"import the grader": lambda: __import__("autograder.answer_key"),
         "open source/": lambda: open(glob.glob("COURSE/source/*/*.ipynb")[0] if os.access("COURSE", os.X_OK) else "COURSE/source/01_locality/locality.ipynb").read(),
         "read the instructor's home": lambda: os.listdir("HOME")}
for what, attempt in tries.items():
    try:
        attempt()
        print(what, "ALLOWED")
    except Exception as error:
        print(what, "REFUSED", type(error).__name__)
"""


def attack(page, hub, name):
    """From the student's own kernel (a notebook of theirs, Run All): the grader, the course's
    source/, the instructor's home. Returns the kernel's output."""
    code = (ATTEMPTS.replace("COURSE", hub["course_directory"])
            .replace("HOME", str(Path(hub["root"]) / "home" / INSTRUCTOR)))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code.strip())], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                       "language": "python"}})
    put(page, f"/user/{name}/api/contents/attacks.ipynb", nb)
    page.goto(f"{hub['url']}/user/{name}/lab/tree/attacks.ipynb")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Run All Cells$")).click()
    output = page.locator(".jp-OutputArea-output", has_text="read the instructor's home")
    output.wait_for()
    text = output.inner_text()
    page.screenshot(path=str(ARTIFACTS / "hub_student_attacks.png"))
    return text


#: On every page of the formgrader (its navigation), never on a refusal.
FORMGRADER = "Manage Assignments"
#: The written answer the instructor grades by hand in the formgrader (the right student's).
WRITTEN, HAND = "q_invariance", 1.5
COMMENT = "Right: one kernel at every position. Say what that saves in parameters."


def formgrader_urls(student):
    """The formgrader's addresses a student might try: the instructor's (its first page and the
    JSON of every submission with the students' names), a hub service's, their own server's."""
    return [f"/user/{INSTRUCTOR}/formgrader", f"/user/{INSTRUCTOR}/formgrader/api/submissions/{ANSWERED}",
            "/services/formgrader/", f"/user/{student}/formgrader",
            f"/user/{student}/formgrader/gradebook"]


def get(page, hub, path):
    """``(status, path, text)`` of where a GET of ``path`` ends, its redirects followed, with
    the cookies of ``page``'s user."""
    from urllib.parse import urlsplit
    answer = page.request.get(f"{hub['url']}{path}")
    return answer.status, urlsplit(answer.url).path, answer.text()


def refused(status, path, text):
    """A refusal: the hub or the server said no (403, 404) or sent the user to the hub's log-in
    page, and nothing of the formgrader or its gradebook is in what came back."""
    return ((status in (403, 404) or path.endswith("/hub/login"))
            and FORMGRADER not in text and RIGHT not in text)


def open_feedback(page, shot):
    """From the Assignment List: Fetch Feedback, "(view feedback)" (the file browser goes to
    the fetched folder), then the page's "Open in New Browser Tab" (the student's server
    serves it); returns that tab, the maths typeset."""
    open_assignment_list(page, f"{shot}_feedback")
    submitted = page.locator("#submitted_assignments_list")
    submitted.locator(".list_item", has_text=ANSWERED).first.get_by_role(
        "button", name="Fetch Feedback").click()
    submitted.locator("a", has_text="view feedback").first.click()
    page.screenshot(path=str(ARTIFACTS / f"hub_{shot}_feedback_fetched.png"))
    listed = page.locator(".jp-DirListing-item", has_text=f"{NOTEBOOK}.html")
    listed.click(button="right")
    with page.context.expect_page() as tab:
        page.locator(".lm-Menu-itemLabel", has_text="Open in New Browser Tab").click()
    feedback = tab.value
    feedback.set_default_timeout(TIMEOUT)
    feedback.wait_for_load_state()
    feedback.wait_for_function("window.MathJax && MathJax.Hub")
    feedback.evaluate("new Promise(done => MathJax.Hub.Queue(done))")   # after its Typeset
    feedback.screenshot(path=str(ARTIFACTS / f"hub_{shot}_feedback.png"), full_page=False)
    return feedback


def read_feedback(feedback):
    """What the student's feedback page shows: its notebook score, the hand-graded answer's
    score, the number of typeset formulas, whether raw TeX is left in its text, and every URL
    it loaded."""
    text = feedback.inner_text("body")
    total = re.search(rf"{NOTEBOOK} \(Score: ([\d.]+)", text)
    written = feedback.locator(f'#toc li:has(a[href="#{WRITTEN}"])').inner_text()
    return {"url": feedback.url, "score": float(total[1]),
            "hand": re.search(r"Score: (\S+) /", written)[1], "comment": COMMENT in text,
            "typeset": feedback.locator(".MathJax, .MathJax_CHTML, mjx-container").count(),
            "raw tex": re.findall(r"\$[^$\n]{1,60}\$|\\\(|\\mathbf|\\times", text),
            "loaded": feedback.evaluate(
                "performance.getEntriesByType('resource').map(e => e.name)")}


def fetch(page, chapter):
    released = page.locator("#released_assignments_list .list_item", has_text=chapter)
    released.get_by_role("button", name="Fetch").click()
    page.locator("#fetched_assignments_list .list_item", has_text=chapter).first.wait_for()


def test_a_semester_through_the_hub(hub):
    """The instructor releases two chapters; two students log in through the hub, fetch both,
    answer one (right, wrong), Validate and Submit from the Assignment List; one tries to reach
    the answers from their kernel, refused each time; the instructor collects and grades with
    `autograde`, logs in through the hub and grades a written answer in the formgrader, which
    no address opens for a student; generates and releases feedback; both students fetch it
    from the Assignment List and read their scores, the maths typeset, in their browser."""
    from nbgrader.api import Gradebook
    from playwright.sync_api import sync_playwright
    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS
    from tests.test_formgrader import grade_by_hand
    from tests.test_offline_pages import fixed_sources
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "hub_commands.log").unlink(missing_ok=True)
    course = Path(hub["course_directory"])
    gradebook = f"sqlite:///{course / 'gradebook.db'}"
    for chapter in CHAPTERS:
        as_user(hub, INSTRUCTOR, "nbgrader", "generate_assignment", chapter, "--force")
        as_user(hub, INSTRUCTOR, "nbgrader", "release_assignment", chapter)
    exchange = Path(hub["exchange"]) / setup_course.COURSE_ID
    assert oct(os.stat(exchange / "inbound").st_mode & 0o7777) == "0o2733"   # nbgrader's own
    assert oct(os.stat(course).st_mode & 0o777) == "0o700"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            students, verdicts = {}, {}
            for name, kind in ((RIGHT, "right"), (WRONG, "wrong")):
                page = students[name] = log_in(browser, hub, name)
                menu = open_assignment_list(page, kind)
                assert menu == ["Assignment List"], menu   # no formgrader, course list...
                for chapter in CHAPTERS:
                    fetch(page, chapter)
                page.screenshot(path=str(ARTIFACTS / f"hub_{kind}_fetched.png"))
                save_answers(page, name, kind)
                verdicts[kind] = validate_and_submit(page, name, kind)
            assert "Success" in verdicts["right"], verdicts["right"]
            assert "Success" not in verdicts["wrong"], verdicts["wrong"]
            text = attack(students[WRONG], hub, WRONG)
            assert text.count("REFUSED") == 3 and "ALLOWED" not in text, text
            assert "ModuleNotFoundError" in text and "PermissionError" in text, text

            as_user(hub, INSTRUCTOR, "nbgrader", "collect", ANSWERED)
            as_user(hub, INSTRUCTOR, "autograde", "submitted", "--out", "out", "--assignment",
                    ANSWERED, "--workers", "1")
            with Gradebook(gradebook, setup_course.COURSE_ID) as gb:
                autograded = {name: gb.find_submission(ANSWERED, name).score
                              for name in (RIGHT, WRONG)}
                notebook_id = gb.find_submission_notebook(NOTEBOOK, ANSWERED, RIGHT).id
            assert autograded[RIGHT] > autograded[WRONG], autograded

            # the instructor's formgrader, in their own server through the hub: a written answer
            teacher = log_in(browser, hub, INSTRUCTOR)
            teacher.goto(f"{hub['url']}/user/{INSTRUCTOR}/formgrader/gradebook/{ANSWERED}/{NOTEBOOK}")
            teacher.locator(f'a[href$="/formgrader/submissions/{notebook_id}"]').first.click()
            grade_by_hand(teacher, WRITTEN, HAND, COMMENT, timeout=TIMEOUT)
            teacher.screenshot(path=str(ARTIFACTS / "hub_instructor_formgrader.png"))
            with Gradebook(gradebook, setup_course.COURSE_ID) as gb:
                saved = (gb.find_grade(WRITTEN, NOTEBOOK, ANSWERED, RIGHT).manual_score,
                         gb.find_comment(WRITTEN, NOTEBOOK, ANSWERED, RIGHT).manual_comment)
                graded = {name: gb.find_submission(ANSWERED, name).score for name in (RIGHT, WRONG)}
            assert saved == (HAND, COMMENT), saved
            assert graded == {RIGHT: autograded[RIGHT] + HAND, WRONG: autograded[WRONG]}, graded

            # every address of the formgrader: the instructor's opens it, a student's never
            for path in formgrader_urls(WRONG)[:2]:
                status, _, body = get(teacher, hub, path)
                assert status == 200 and (FORMGRADER in body or RIGHT in body), (path, status)
            for path in formgrader_urls(WRONG):
                status, end, body = get(students[WRONG], hub, path)
                with open(ARTIFACTS / "hub_commands.log", "a") as log:
                    log.write(f"GET {path} as {WRONG}: {status}, ends at {end}\n")
                assert refused(status, end, body), (path, status, end, body[:500])
            students[WRONG].goto(f"{hub['url']}/user/{INSTRUCTOR}/formgrader")   # as they see it
            students[WRONG].screenshot(path=str(ARTIFACTS / "hub_student_formgrader_refused.png"))
            assert FORMGRADER not in students[WRONG].inner_text("body")

            as_user(hub, INSTRUCTOR, "nbgrader", "generate_feedback", ANSWERED)
            as_user(hub, INSTRUCTOR, "nbgrader", "release_feedback", ANSWERED)
            seen = {}
            for name, kind in ((RIGHT, "right"), (WRONG, "wrong")):
                students[name].goto(f"{hub['url']}/user/{name}/lab")
                feedback = open_feedback(students[name], kind)
                seen[name] = read_feedback(feedback)
                served = students[name].request.get(feedback.url).text()
                assert feedback.url.startswith(f"{hub['url']}/user/{name}/files/"), feedback.url
                assert "\\mathbf" in served and fixed_sources(served) == [], fixed_sources(served)
                assert "file://" not in served and "cdnjs" not in served
                assert "Test cell" not in served, "graded cells named (the template is in the wheel)"
                assert seen[name]["typeset"] > 10 and seen[name]["raw tex"] == [], seen[name]
                elsewhere = [url for url in seen[name]["loaded"] if not url.startswith(f"{hub['url']}/")]
                assert elsewhere == [], elsewhere   # no CDN, no file://: all through the hub
                assert any(url.startswith(f"{hub['url']}/user/{name}/static/jupyter_server_mathjax/")
                           for url in seen[name]["loaded"])   # MathJax from their own server
        finally:
            browser.close()
    assert {name: seen[name]["score"] for name in seen} == graded
    assert (seen[RIGHT]["hand"], seen[RIGHT]["comment"]) == (f"{HAND}", True), seen[RIGHT]
    assert (seen[WRONG]["hand"], seen[WRONG]["comment"]) == ("pending", False), seen[WRONG]
