"""The real release notebooks in a real browser: JupyterLab on loopback, driven by headless Chromium.

One JupyterLab server (with the student's configuration, student/jupyter/) on a copy of
``release/``. For each chapter the test opens its notebook, runs Run All (the stubs' failing
cells carry ``raises-exception``, so Run All goes on), requires every explorer to be drawn with
its expected text and one slider of each to change the picture. Then it fills one chapter's
stubs with the answer key through the page and presses nbgrader's Validate: the unanswered
written answers fail it, and once they are written it says "Success!". Screenshots of every
explorer and of the Validate dialogs are kept in artifacts/ (gitignored; <chapter>_failure.png
when a chapter never showed its explorers). Run it alone with ``pytest -m browser tests/test_browser.py``.
"""
import contextlib
import json
import os
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
from tests.chapters import BUILT, read, source_notebook

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


#: The chapter that is saved, its kernel ended, and reopened.
REOPENED = "04_channels"
#: The chapter whose stubs the test fills with the answer key through the page, then validates.
FILLED = "01_locality"
WRITTEN = "A translation-invariant layer applies the same weights at every position."


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
    with jupyterlab_server(folder, home) as (url, token):
        yield url, token, folder


@pytest.fixture(scope="module")
def browser(jupyterlab):
    """A headless Chromium; yields ``open_notebook(path) -> page`` on the server's notebooks."""
    from playwright.sync_api import sync_playwright

    url, token, _ = jupyterlab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

        def open_notebook(path):
            shut_down_kernels(url, token)  # one torch kernel at a time on a small machine
            page = chromium.new_page(viewport={"width": 1500, "height": 1100})
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


def explorer_problems(page, assignment, explorers):
    """What is wrong with each explorer of the open page: its text, and a slider that does not
    change its picture. Keeps a screenshot of each."""
    from playwright.sync_api import expect

    problems = []
    for name, index in explorers:
        expected = EXPECTED_TEXT[name]
        output = page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea-output")
        output.last.scroll_into_view_if_needed()
        try:
            expect(output.last).to_contain_text(expected, timeout=15_000)
        except AssertionError:
            problems.append(f"{assignment} {name}: expected {expected!r} in its output, "
                            f"got {output.last.inner_text()[:300]!r}")
        if "failed" in output.last.inner_text():
            problems.append(f"{assignment} {name}: its output says something failed")
        image = output.last.locator("img.widget-image")
        before_src, before_pixels = image.get_attribute("src"), image.screenshot()
        handle = output.last.locator(".noUi-handle").first
        handle.focus()
        handle.press("ArrowRight")
        try:
            page.wait_for_function("([img, src]) => img.src !== src && img.complete",
                                   arg=[image.element_handle(), before_src], timeout=15_000)
        except Exception as error:  # Playwright's TimeoutError
            problems.append(f"{assignment} {name}: the image did not change after a slider move "
                            f"({error})")
        else:
            if image.screenshot() == before_pixels:
                problems.append(f"{assignment} {name}: the image's source changed, not its pixels")
        output.last.screenshot(path=str(ARTIFACTS / f"{assignment}-{name}.png"))
    return problems


@pytest.mark.parametrize("assignment", BUILT)
def test_run_all_draws_every_explorer_and_its_sliders_redraw(browser, assignment):
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
    """Press nbgrader's Validate (it saves first) and return the text of its dialog."""
    page.locator(".validate-button").click()
    dialog = page.locator(".jp-Dialog-content")
    dialog.locator(".validation-success, .validation-failed").wait_for(timeout=OUTPUT_TIMEOUT)
    text = dialog.inner_text()
    dialog.screenshot(path=str(ARTIFACTS / screenshot))
    dialog.locator(".jp-Dialog-button").last.click()
    return text


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
        unanswered = validate(page, f"{FILLED}-validate-unanswered.png")
        assert "Success" not in unanswered
        assert unanswered.count("You did not provide a response") == len(written), unanswered
        for _, grade_id in written:  # each named by the label above its "YOUR ANSWER HERE"
            assert f"Your answer to {grade_id}:" in unanswered, unanswered
        for index, _ in written:
            type_into(page, cells.nth(index), WRITTEN)
        answered = validate(page, f"{FILLED}-validate-answered.png")
        assert "Success! Your notebook passes all the tests." in answered, answered
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"{FILLED}_failure.png"))
        raise
    finally:
        page.close()


def test_a_reopened_notebook_still_shows_its_explorers(browser, jupyterlab):
    """Run All, save, end the kernel, reopen: the explorers are drawn from the widget state
    saved with the notebook (the student's setting), never "model not found"; the saved
    output carries the PNG that pages without widgets show."""
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
        output = page.locator(".jp-Notebook .jp-Cell").nth(explorers[0][1])
        output.scroll_into_view_if_needed()
        output.screenshot(path=str(ARTIFACTS / f"{REOPENED}-reopened.png"))
        text = page.locator(".jp-Notebook").inner_text()
        assert "model not found" not in text and "Error displaying widget" not in text
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"{REOPENED}_failure.png"))
        raise
    finally:
        page.close()
