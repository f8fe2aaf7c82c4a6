"""The real release notebooks in a real browser: JupyterLab on loopback, driven by headless Chromium.

One JupyterLab server (with the student's configuration, student/jupyter/) on a copy of
``release/``. For each chapter the test opens its notebook, runs Run All (the stubs' failing
cells carry ``raises-exception``, so Run All goes on), requires every explorer to be drawn with
its expected text, one slider of each, moved from the keyboard, to change the picture, each to
fit a 1366x768 screen with its sliders, picture and caption, and axe-core to find no WCAG 2.0/2.1
A or AA violation in the explorers' DOM, in the light, dark and high-contrast themes, each
caption a polite live region that a slider changes (JupyterLab's own
violations are written to artifacts/axe-jupyterlab.txt, not asserted). In the chapters whose
explorer checks the student's function, it types a right, a wrong and a library-calling answer,
runs the answer and its test cell, moves a slider: the explorer agrees with the test each time.
Then it fills one chapter's stubs with the answer key through the page, one with a classic
mistake, and presses nbgrader's Validate: the mistake's hint comes first, before the test's
source (course.validate), the unanswered written answers fail it, and once they are written and
the mistake fixed it says "Success!".
Last, a saved notebook is reopened on a new kernel and its explorer's advice followed.
Screenshots (1366x768) of every explorer in the three themes and of the Validate dialogs are
kept in artifacts/ (gitignored; <chapter>_failure.png when a chapter failed). Run it alone with
``pytest -m browser tests/test_browser.py``.
"""
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import matplotlib
import nbformat
import pytest

from autograder.coursedir import ROOT, CourseDir
from autograder.tools.submissions import key_code
from tests import axe
from autograder.engine.cells import nbgrader
from tests.chapters import BUILT, read, source_notebook, variants

ARTIFACTS = ROOT / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]
#: What each explorer's output must show, by the explorer a release notebook's widget cell calls.
#: Those that take the student's function get the release's stub, so they must say so.
EXPECTED_TEXT = {"locality_explorer": "parameters", "correlation_explorer": "still a stub",
                 "kernel_training_explorer": "learning rate",
                 "padding_stride_explorer": "still a stub",
                 "channels_explorer": "multiply-accumulates", "pooling_explorer": "still a stub"}
#: The screen the explorers must fit, with their sliders, picture and caption in view together.
SCREEN = {"width": 1366, "height": 768}
#: Per chapter whose explorer checks the student's function: its name and answers to type in its
#: solution cell besides the answer key's: a wrong one and one that calls the library routine.
#: Each defines the function again after the key (``_key``), as a student's edit would.
STUDENT_ANSWERS = {
    "02_cross_correlation": ("corr2d", {
        "wrong": "_key = corr2d\n\ndef corr2d(X, K):\n    return _key(X, K.flip(0, 1))",
        "library": "from torch.nn import functional as F\n\ndef corr2d(X, K):\n"
                   "    return F.conv2d(X[None, None], K[None, None])[0, 0]"}),
    "03_padding_stride": ("conv_output_shape", {
        "wrong": "_key = conv_output_shape\n\n"
                 "def conv_output_shape(input_shape, kernel_size, padding=0, stride=1):\n"
                 "    h, w = _key(input_shape, kernel_size, padding, stride)\n    return h + 1, w",
        "library": "import torch\nfrom torch.nn import functional as F\n"
                   "from torch.nn.modules.utils import _pair\n\n"
                   "def conv_output_shape(input_shape, kernel_size, padding=0, stride=1):\n"
                   "    X = torch.zeros(1, 1, *_pair(input_shape))\n"
                   "    K = torch.zeros(1, 1, *_pair(kernel_size))\n"
                   "    return tuple(F.conv2d(X, K, padding=padding, stride=stride).shape[-2:])"}),
    "05_pooling": ("pool2d_pad_stride", {
        "wrong": "_key = pool2d_pad_stride\n\n"
                 "def pool2d_pad_stride(X, pool_size, stride=None, padding=0, mode='max'):\n"
                 "    return _key(X, pool_size, stride, padding, mode) + 1",
        "library": "from torch.nn import functional as F\n\n"
                   "def pool2d_pad_stride(X, pool_size, stride=None, padding=0, mode='max'):\n"
                   "    pool = F.max_pool2d if mode == 'max' else F.avg_pool2d\n"
                   "    return pool(X[None, None].float(), pool_size, stride, padding)[0, 0]"}),
}
STARTUP_TIMEOUT = 60  # seconds for JupyterLab to answer
OUTPUT_TIMEOUT = 90_000  # milliseconds for the kernel to start and every explorer to show

pytestmark = pytest.mark.browser


def require_browser():
    """Skip (outside CI only) when Chromium or Playwright is missing; in CI, fail instead."""
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed (pip install playwright)"
    if missing and not os.environ.get("CI"):
        pytest.skip(f"browser test needs Chromium and Playwright: {missing}")
    assert missing is None, f"in CI the browser test must run, but {missing}"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: The chapter that is saved, its kernel ended, and reopened: its explorer checks the student's
#: function, defined only in a cell above it.
REOPENED = "03_padding_stride"
#: The chapter whose stubs the test fills with the answer key through the page, then validates.
FILLED = "01_locality"
WRITTEN = "A translation-invariant layer applies the same weights at every position."
#: A wrong answer typed into the filled chapter before Validate: the function, its label among
#: the chapter's wrong variants (tests/variants), the hint its visible test must lead with.
MISTAKE = ("shift2d", "dy and dx swapped", "dy and dx swapped?")


@contextlib.contextmanager
def jupyterlab_server(folder, home):
    """A JupyterLab server on loopback serving ``folder`` (``home``: a fresh HOME for it, its
    Jupyter configuration in ``home/config``): yields (base url, token)."""
    settings_dir = home / "config" / "lab" / "user-settings"
    port, token = free_port(), "explorer-test-token"
    # a fresh HOME keeps the user's kernels and settings out; matplotlib keeps its font cache
    env = dict(os.environ, HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), MPLBACKEND="Agg",
               MPLCONFIGDIR=os.environ.get("MPLCONFIGDIR") or matplotlib.get_configdir(),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={folder}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
               f"--LabApp.user_settings_dir={settings_dir}"]
    if os.geteuid() == 0:  # containers and CI runners often run as root
        command.append("--allow-root")
    settings = {  # no "get news?" toast over the screenshots; every cell in the page, not
        # only those scrolled into view, so that Run All's outputs can be counted
        ("apputils-extension", "notification"): {"fetchNews": "false"},
        ("notebook-extension", "tracker"): {"windowingMode": "none"},
    }
    for (extension, plugin), values in settings.items():
        path = settings_dir / "@jupyterlab" / extension / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    log = open(home / "jupyterlab.log", "w")
    server = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n"
                                       + (home / "jupyterlab.log").read_text()[-3000:])
                time.sleep(0.3)
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """A JupyterLab server (``jupyterlab_server``) with the student's configuration, in a copy
    of ``release/``: yields (base url, token, folder)."""
    require_browser()
    folder = tmp_path_factory.mktemp("lab")
    for assignment in BUILT:
        shutil.copytree(CourseDir().release(assignment), folder / assignment)
    home = tmp_path_factory.mktemp("home")
    shutil.copytree(ROOT / "student" / "jupyter", home / "config")  # widget state saved
    servers = home / "config" / "jupyter_server_config.d"   # as the students' wheel installs it
    servers.mkdir()
    shutil.copy(ROOT / "student" / "share" / "student_nbgrader.json", servers)
    with jupyterlab_server(folder, home) as (url, token):
        yield url, token, folder


@pytest.fixture(scope="module")
def browser(jupyterlab):
    """A headless Chromium; yields ``open_notebook(path) -> page`` on the server's notebooks."""
    from playwright.sync_api import sync_playwright

    url, token, _ = jupyterlab
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "axe-jupyterlab.txt").unlink(missing_ok=True)
    axe.install_axe()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

        def open_notebook(path):
            shut_down_kernels(url, token)  # one torch kernel at a time on a small machine
            page = chromium.new_page(viewport=SCREEN)
            page.goto(f"{url}/doc/tree/{path}?token={token}")
            page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=OUTPUT_TIMEOUT)
            # "No Kernel | Initializing", then "Python 3 (ipykernel) | Idle" once it is ready
            page.locator(".jp-StatusBar-Widget", has_text="| Idle").first.wait_for(
                timeout=OUTPUT_TIMEOUT)
            return page

        yield open_notebook
        chromium.close()


def shut_down_kernels(url, token):
    """End every kernel of the server (as a student's "Shut Down All Kernels")."""
    def call(method, path):
        request = urllib.request.Request(f"{url}{path}", method=method,
                                         headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or "null")

    for kernel in call("GET", "/api/kernels"):
        call("DELETE", f"/api/kernels/{kernel['id']}")


def release_notebook(assignment):
    """``(notebook, its path in the server's folder)``: the chapter's release notebook."""
    (path,) = CourseDir().release(assignment).glob("*.ipynb")
    return read(path), f"{assignment}/{path.name}"


def explorer_cells(nb):
    """``[(explorer name, cell index)]`` of the notebook's explorer cells."""
    return [(name, index) for index, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for name in EXPECTED_TEXT if f"{name}(" in cell.source]


def run_all(page):
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def wait_for_images(page, count):
    page.wait_for_function(
        "n => [...document.querySelectorAll('.jp-OutputArea-output img.widget-image')]"
        ".filter(img => img.complete && img.naturalWidth > 0).length >= n",
        arg=count, timeout=OUTPUT_TIMEOUT)


def explorer_output(page, index):
    """The output area of the notebook's cell ``index`` (an explorer's)."""
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea-output").last


def show(page, output):
    """Scroll the notebook so that ``output`` starts at the top of the view."""
    output.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)


def move_a_slider(page, output):
    """Press → (← at its end) on the explorer's first slider, from the keyboard as a student
    without a mouse would; returns a problem, or None once the picture's pixels changed."""
    image = output.locator("img.widget-image")
    before_src, before_pixels = image.get_attribute("src"), image.screenshot()
    slider = output.locator("input[type=range]").first
    slider.focus()
    slider.press("ArrowLeft" if slider.evaluate("e => e.value === e.max") else "ArrowRight")
    try:
        page.wait_for_function("([img, src]) => img.src !== src && img.complete",
                               arg=[image.element_handle(), before_src], timeout=15_000)
    except Exception as error:  # Playwright's TimeoutError
        return f"the image did not change after a slider move ({error})"
    if image.screenshot() == before_pixels:
        return "the image's source changed, not its pixels"
    return None


def fit_problem(page, output):
    """Whether the explorer (title to caption) fits in the notebook's view at once."""
    show(page, output)
    box = output.bounding_box()
    view = page.locator(".jp-NotebookPanel-notebook").first.bounding_box()
    if box["height"] > view["height"] or box["y"] + box["height"] > view["y"] + view["height"]:
        return (f"{box['height']:.0f} px tall, the notebook shows {view['height']:.0f} px at "
                f"{SCREEN['width']}x{SCREEN['height']}")
    return None


def set_theme(page, name):
    """Pick JupyterLab's theme ``name`` from the Settings menu."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(name)}$")).click()
    page.wait_for_function("name => document.body.dataset.jpThemeName === name", arg=name,
                           timeout=30_000)
    page.wait_for_timeout(1000)


def explorer_problems(page, assignment, explorers):
    """What is wrong with each explorer of the open page: its text, a slider that does not
    change its picture (or its text alternative), a size that does not fit the screen. Keeps a
    screenshot of the screen with each explorer in view."""
    from playwright.sync_api import expect

    problems = []
    for name, index in explorers:
        expected = EXPECTED_TEXT[name]
        output = explorer_output(page, index)
        output.scroll_into_view_if_needed()
        try:
            expect(output).to_contain_text(expected, timeout=15_000)
        except AssertionError:
            problems.append(f"{assignment} {name}: expected {expected!r} in its output, "
                            f"got {output.inner_text()[:300]!r}")
        if "failed" in output.inner_text():
            problems.append(f"{assignment} {name}: its output says something failed")
        alt = output.locator("img.widget-image").get_attribute("title") or ""
        if not alt.startswith("Picture: "):
            problems.append(f"{assignment} {name}: the picture has no text alternative")
        live = output.locator("[role=status][aria-live=polite]:has(.explorer-caption)")
        if live.count() != 1:
            problems.append(f"{assignment} {name}: its caption is not a polite live region")
        heard = live.first.inner_text() if live.count() else ""
        moved = move_a_slider(page, output)
        if moved:
            problems.append(f"{assignment} {name}: {moved}")
        elif output.locator("img.widget-image").get_attribute("title") == alt:
            problems.append(f"{assignment} {name}: the text alternative did not follow the picture")
        elif live.count() and live.first.inner_text() == heard:
            problems.append(f"{assignment} {name}: a slider moved, its live caption stayed")
        too_big = fit_problem(page, output)
        if too_big:
            problems.append(f"{assignment} {name}: does not fit the screen: {too_big}")
        page.screenshot(path=str(ARTIFACTS / f"{assignment}-{name}-light.png"))
    return problems


#: JupyterLab's dark themes, by the name its screenshots carry.
DARK_THEMES = {"dark": "JupyterLab Dark", "high-contrast": "JupyterLab Dark High Contrast"}


def theme_problems(page, assignment, explorers):
    """In JupyterLab's dark and high-contrast themes: axe-core on the explorers, their text
    light on dark, and a screenshot of each. Back to the light theme after."""
    problems = []
    try:
        for theme, label in DARK_THEMES.items():
            set_theme(page, label)
            found = axe.violations(page, ".course-explorer")
            if found:
                problems.append(f"{assignment} {theme} theme, axe-core:\n{axe.summary(found)}")
            for name, index in explorers:
                output = explorer_output(page, index)
                show(page, output)
                color = output.locator(".explorer-caption").first.evaluate(
                    "e => getComputedStyle(e).color")
                if min(map(int, color[color.index("(") + 1:-1].split(",")[:3])) < 200:
                    problems.append(f"{assignment} {name}: caption text {color} in the {theme} "
                                    "theme")
                page.screenshot(path=str(ARTIFACTS / f"{assignment}-{name}-{theme}.png"))
    finally:
        set_theme(page, "JupyterLab Light")
    return problems


def cell_prompt(cell):
    """The execution count in a cell's prompt, "[12]:" -> 12 (None while "[*]" or empty)."""
    digits = cell.locator(".jp-InputPrompt").inner_text().strip().strip("[]: ")
    return int(digits) if digits.isdigit() else None


def run_cell(page, cell):
    """Run the notebook's cell ``cell`` in place (Control+Enter) and wait for it to finish;
    returns its execution count."""
    before = cell_prompt(cell)
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+Enter")
    page.wait_for_function(
        "([e, before]) => { const t = e.innerText.replace(/[^0-9]/g, '');"
        " return t !== '' && t !== String(before); }",
        arg=[cell.locator(".jp-InputPrompt").element_handle(), before], timeout=OUTPUT_TIMEOUT)
    return cell_prompt(cell)


def agreement_problems(page, assignment, nb, explorers):
    """Type a right, a wrong and a library-calling answer into the chapter's solution cell, run
    it and its test cell, then move a slider: the explorer must agree with the test each time
    and name the cell it used."""
    from playwright.sync_api import expect

    name, answers = STUDENT_ANSWERS[assignment]
    answers = {"right": key_code(read(source_notebook(assignment)))[name], **answers}
    ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells]
    cells = page.locator(".jp-Notebook .jp-Cell")
    solution, test = cells.nth(ids.index(name)), cells.nth(ids.index(f"test_{name}"))
    (index,) = [index for explorer, index in explorers if EXPECTED_TEXT[explorer] == "still a stub"]
    output = explorer_output(page, index)
    problems = []
    for kind in ("right", "wrong", "library"):
        type_into(page, solution, answers[kind])
        count = run_cell(page, solution)
        run_cell(page, test)
        verdict = test.locator(".jp-OutputArea").inner_text()
        passed = "Error" not in verdict and "Traceback" not in verdict
        expected = {"right": "✓", "wrong": "✗", "library": "scores 0"}[kind]
        for moved in (False, True):
            try:
                expect(output).to_contain_text(f"from cell [{count}]", timeout=15_000)
                expect(output).to_contain_text(expected, timeout=15_000)
            except AssertionError:
                problems.append(f"{assignment} {kind} answer{' after a slider move' * moved}: "
                                f"the test says {verdict[-200:]!r}, the explorer "
                                f"{output.inner_text()[-300:]!r}")
            caption = output.locator(".explorer-caption").last.inner_text()
            if passed != (kind == "right") or ("✓" in caption) != (kind == "right"):
                problems.append(f"{assignment} {kind} answer: the test (passed={passed}) and the "
                                f"explorer ({caption[-200:]!r}) disagree")
            if kind == "library" and "scores 0" not in verdict:
                problems.append(f"{assignment} library answer: the test says {verdict[-200:]!r}")
            if not moved:
                show(page, output)
                slider_moved = move_a_slider(page, output)
                if slider_moved:
                    problems.append(f"{assignment} {kind} answer: {slider_moved}")
        if kind == "wrong":
            page.screenshot(path=str(ARTIFACTS / f"{assignment}-explorer-wrong-answer.png"))
    return problems


@pytest.mark.parametrize("assignment", BUILT)
def test_run_all_draws_every_explorer_and_its_sliders_redraw(browser, assignment):
    """Run All: every explorer drawn, keyboard-operable, fitting the screen, free of WCAG
    violations in both themes; where it checks the student's function, it agrees with the test
    beside it for a right, a wrong and a library-calling answer."""
    nb, path = release_notebook(assignment)
    explorers = explorer_cells(nb)
    assert explorers, f"{assignment} has no explorer"
    page = browser(path)
    try:
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
        page.locator(".lm-Menu-itemLabel", has_text="Assignment List").wait_for()
        menu = {label.strip() for label in
                page.locator(".lm-Menu .lm-Menu-itemLabel").all_inner_texts()} - {""}
        page.keyboard.press("Escape")
        assert menu == {"Assignment List"}, f"the student's Nbgrader menu shows {menu}"
        run_all(page)
        wait_for_images(page, len(explorers))
        problems = explorer_problems(page, assignment, explorers)
        found = axe.violations(page, ".course-explorer")
        if found:
            problems.append(f"{assignment} axe-core in the explorers:\n{axe.summary(found)}")
        with open(ARTIFACTS / "axe-jupyterlab.txt", "a") as report:  # JupyterLab's own, apart
            report.write(f"== {assignment}: the whole page, explorers included\n"
                         f"{axe.summary(axe.violations(page)) or 'none'}\n")
        problems += theme_problems(page, assignment, explorers)
        if assignment in STUDENT_ANSWERS:
            problems += agreement_problems(page, assignment, nb, explorers)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"{assignment}_failure.png"))
        raise
    finally:
        page.close()
    assert not problems, "\n".join(problems)


def type_into(page, cell, text):
    """Replace the text of the notebook's cell ``cell`` (a locator) as a student would."""
    if "jp-MarkdownCell" in cell.get_attribute("class"):
        cell.locator(".jp-MarkdownOutput").dblclick()  # a rendered markdown cell: edit it
    editor = cell.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)


def validate(page, screenshot):
    """Press nbgrader's Validate (it saves first); returns the text of its dialog and what it
    shows of each failed cell, in order (``[(first, second)]``)."""
    page.locator(".validate-button").click()
    dialog = page.locator(".jp-Dialog-content")
    dialog.locator(".validation-success, .validation-failed").wait_for(timeout=OUTPUT_TIMEOUT)
    text, shown = dialog.inner_text(), [pre.strip() for pre in
                                        dialog.locator("pre").all_inner_texts()]
    dialog.screenshot(path=str(ARTIFACTS / screenshot))
    dialog.locator(".jp-Dialog-button").last.click()
    return text, list(zip(shown[::2], shown[1::2]))


def test_filled_with_the_answer_key_validate_names_unanswered_then_succeeds(browser):
    nb, path = release_notebook(FILLED)
    code = key_code(read(source_notebook(FILLED)))
    page = browser(path)
    try:
        cells = page.locator(".jp-Notebook .jp-Cell")
        written = []
        for index, cell in enumerate(nb.cells):
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") and cell.cell_type == "code":
                type_into(page, cells.nth(index), code[meta["grade_id"]])
            elif meta.get("solution"):
                written.append((index, meta["grade_id"]))
        assert written, f"{FILLED} has no written answer to test Validate with"
        mistaken = [nbgrader(cell).get("grade_id") for cell in nb.cells].index(MISTAKE[0])
        type_into(page, cells.nth(mistaken), dict(variants(FILLED).WRONG[MISTAKE[0]])[MISTAKE[1]])
        unanswered, failed = validate(page, f"{FILLED}-validate-unanswered.png")
        assert "Success" not in unanswered
        assert unanswered.count("You did not provide a response") == len(written), unanswered
        for number, _ in enumerate(written, 1):  # each named by the label above its answer
            assert f"Your answer to Question {number}:" in unanswered, unanswered
        hinted = [(first, then) for first, then in failed if MISTAKE[2] in first]
        assert hinted, f"the hint {MISTAKE[2]!r} should come first: {failed}"
        assert hinted[0][0].startswith(f"AssertionError: {MISTAKE[2]}"), hinted
        assert "expect_close(" in hinted[0][1], "the test's source, after its error"
        type_into(page, cells.nth(mistaken), code[MISTAKE[0]])
        for index, _ in written:
            type_into(page, cells.nth(index), WRITTEN)
        answered, _ = validate(page, f"{FILLED}-validate-answered.png")
        assert "Success! Your notebook passes all the tests." in answered, answered
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"{FILLED}_failure.png"))
        raise
    finally:
        page.close()


def test_a_reopened_notebook_still_shows_its_explorers(browser, jupyterlab):
    """Run All, save, end the kernel, reopen: the explorers are drawn from the widget state
    saved with the notebook (the student's setting), never "model not found", their sliders
    hidden and their advice shown; the saved output carries the PNG that pages without widgets
    show. Following the advice, running the explorer's cell alone in the new kernel, gives a
    working explorer that says what to run for the student's function."""
    _, _, folder = jupyterlab
    nb, path = release_notebook(REOPENED)
    explorers = explorer_cells(nb)
    page = browser(path)
    try:
        run_all(page)
        wait_for_images(page, len(explorers))
        page.locator(".jp-Notebook").click()
        page.keyboard.press("Control+S")
        deadline = time.monotonic() + 30  # the tab stays "dirty": each widget model marks it
        while "widgets" not in (saved := read(folder / path)).metadata:
            assert time.monotonic() < deadline, "Control+S saved no widget state"
            time.sleep(0.5)
    finally:
        page.close()
    assert saved.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    for _, index in explorers:
        assert any("image/png" in output.get("data", {}) for output in saved.cells[index].outputs)
    page = browser(path)  # its kernel ended first: a fresh one, without the widgets' models
    try:
        wait_for_images(page, len(explorers))
        cell = page.locator(".jp-Notebook .jp-Cell").nth(explorers[0][1])
        output = explorer_output(page, explorers[0][1])
        show(page, output)
        page.screenshot(path=str(ARTIFACTS / f"{REOPENED}-reopened.png"))
        text = page.locator(".jp-Notebook").inner_text()
        assert "model not found" not in text and "Error displaying widget" not in text
        explorer = output.locator(".course-explorer").first
        advice = explorer.evaluate("e => getComputedStyle(e, '::before').content")
        assert "run this cell" in advice and "nothing from the cells above" in advice, advice
        assert output.locator("input[type=range]").first.is_hidden(), "live-looking sliders"
        run_cell(page, cell)  # the advice: run this cell, alone, in the new kernel
        page.wait_for_function("e => e.querySelector('input[type=range]') && "
                               "e.querySelector('img.widget-image')?.complete",
                               arg=output.element_handle(), timeout=OUTPUT_TIMEOUT)
        text = output.inner_text()
        assert "Error" not in text and "Traceback" not in text, text
        assert "not defined in this kernel yet" in text and "def conv_output_shape" in text, text
        assert move_a_slider(page, output) is None
        show(page, output)
        page.screenshot(path=str(ARTIFACTS / f"{REOPENED}-reopened-after-its-advice.png"))
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"{REOPENED}_failure.png"))
        raise
    finally:
        page.close()
