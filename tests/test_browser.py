"""The explorers in a real browser: JupyterLab on loopback, driven by headless Chromium.

One JupyterLab server and one notebook made of the release notebooks' own cells (each chapter's
setup cell, its stubs and its explorer cells): the test runs all cells, then for each explorer
moves a slider with the keyboard and checks that the picture changes. It keeps a screenshot of
each explorer in artifacts/ (gitignored; explorer_failure.png if the notebook never showed
them). Run it alone with ``pytest -m browser tests/test_browser.py``.
"""
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import matplotlib
import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
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


def explorer_name(cell):
    return next(name for name in EXPECTED_TEXT if f"{name}(" in cell.source)


def write_notebook(folder):
    """One notebook of the release notebooks' own cells: each chapter's first (setup) cell, its
    solution stubs and its widget cells, in order. Returns its file name and, per explorer,
    (name, index among the code cells)."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    explorers = []
    for release in sorted((ROOT / "release").glob("*/*.ipynb")):
        code = [c for c in nbformat.read(release, as_version=4).cells if c.cell_type == "code"]
        keep = [code[0]] + [c for c in code[1:] if c.metadata.get("nbgrader", {}).get("solution")
                            or "nbval-ignore-output" in c.metadata.get("tags", [])]
        for cell in keep:
            if "nbval-ignore-output" in cell.metadata.get("tags", []):
                explorers.append((explorer_name(cell), len(notebook.cells)))
            notebook.cells.append(nbformat.v4.new_code_cell(cell.source))
    assert sorted(name for name, _ in explorers) == sorted(EXPECTED_TEXT), (
        f"the release notebooks' explorer cells are {explorers}")
    nbformat.write(notebook, folder / "explorers.ipynb")
    return "explorers.ipynb", explorers


@contextlib.contextmanager
def jupyterlab_server(folder, home):
    """A JupyterLab server on loopback serving ``folder`` (``home``: a fresh HOME for it):
    yields (base url, token)."""
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
               f"--LabApp.user_settings_dir={home / 'settings'}"]
    if os.geteuid() == 0:  # containers and CI runners often run as root
        command.append("--allow-root")
    news = home / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)  # no "would you like to get news?" toast over the screenshots
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
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
    """A JupyterLab server on loopback in a temporary folder: yields (base url, token, folder)."""
    require_browser()
    folder = tmp_path_factory.mktemp("lab")
    with jupyterlab_server(folder, tmp_path_factory.mktemp("home")) as (url, token):
        yield url, token, folder


@pytest.fixture(scope="module")
def page(jupyterlab):
    """A headless Chromium page showing the explorers' notebook with every cell run."""
    from playwright.sync_api import sync_playwright

    url, token, folder = jupyterlab
    name, explorers = write_notebook(folder)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "explorer_failure.png").unlink(missing_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        try:
            open_and_run(page, f"{url}/doc/tree/{name}?token={token}", len(explorers))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "explorer_failure.png"), full_page=True)
            raise
        yield page, explorers
        browser.close()


def open_and_run(page, url, count):
    """Open the notebook, wait for its kernel, run all cells, wait for every explorer's image."""
    page.goto(url)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=OUTPUT_TIMEOUT)
    # "No Kernel | Initializing", then "Python 3 (ipykernel) | Idle" once the kernel is ready
    page.locator(".jp-StatusBar-Widget", has_text="| Idle").first.wait_for(timeout=OUTPUT_TIMEOUT)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_function(
        "n => [...document.querySelectorAll('.jp-OutputArea-output img.widget-image')]"
        ".filter(img => img.complete && img.naturalWidth > 0).length >= n",
        arg=count, timeout=OUTPUT_TIMEOUT)


def test_every_explorer_redraws_when_a_slider_moves(page):
    """One test for all explorers, so that even under pytest-xdist JupyterLab starts once."""
    from playwright.sync_api import expect

    page, explorers = page
    problems = []
    for name, index in explorers:
        expected = EXPECTED_TEXT[name]
        output = page.locator(".jp-Cell.jp-CodeCell").nth(index).locator(".jp-OutputArea-output")
        output.scroll_into_view_if_needed()
        try:  # JupyterLab renders a cell scrolled into view lazily: wait for its text
            expect(output).to_contain_text(expected, timeout=15_000)
        except AssertionError:
            problems.append(f"{name}: expected {expected!r} in its output, "
                            f"got {output.inner_text()[:300]!r}")
        if "failed" in output.inner_text():
            problems.append(f"{name}: its output says something failed")
        image = output.locator("img.widget-image")
        before_src, before_pixels = image.get_attribute("src"), image.screenshot()
        handle = output.locator(".noUi-handle").first
        handle.focus()
        handle.press("ArrowRight")
        try:
            page.wait_for_function("([img, src]) => img.src !== src && img.complete",
                                   arg=[image.element_handle(), before_src], timeout=15_000)
        except Exception as error:  # Playwright's TimeoutError
            problems.append(f"{name}: the image did not change after a slider move ({error})")
        else:
            if image.screenshot() == before_pixels:
                problems.append(f"{name}: the image's source changed but not its pixels")
        output.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    assert not problems, "\n".join(problems)
