"""Feedback pages as students read them: offline (their MathJax is the local copy
nbgrader_config.py names), with a test's whole verdict in view."""
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import nbformat
from nbconvert import HTMLExporter

from autograder.coursedir import nbgrader_config
from autograder.engine.job import _verdict_outputs
from autograder.record import feedback, results
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, require_browser


def test_feedback_pages_load_mathjax_from_a_local_copy():
    config = nbgrader_config()
    url = config.HTMLExporter.mathjax_url
    assert urlparse(url).scheme == "file"
    assert Path(url2pathname(urlparse(url).path)).name == "MathJax.js"
    assert Path(url2pathname(urlparse(url).path)).is_file()
    configs = Path(url2pathname(urlparse(url).path)).parent / "config"
    for name in urlparse(url).query.removeprefix("config=").split(","):
        assert (configs / f"{name}.js").is_file(), f"MathJax configuration {name} is not shipped"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("$Y = X \\star K$")])
    page, _ = HTMLExporter(config=config).from_notebook_node(nb)
    assert f'src="{url}"' in page
    assert "libs/mathjax" not in page.lower()


def test_the_feedback_renderer_uses_the_local_mathjax():
    url = nbgrader_config().HTMLExporter.mathjax_url
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("$Y = X \\star K$")])
    page = feedback.html(nb, {"cells": {}, "score": 0.0, "max_score": 0.0, "late_penalty": 0},
                         student="ada", assignment="a1", notebook="first")
    assert f'src="{url}"' in page
    assert "libs/mathjax" not in page.lower()


def test_a_long_verdict_wraps_at_the_pages_width(tmp_path):
    """A failed test's message is one line of up to 500 characters: its end (here the hint)
    must be on the page, not behind a horizontal scroll bar."""
    require_browser()
    from playwright.sync_api import sync_playwright
    message = ("pad2d(X, 1) is wrong at index (0, 0): got 1, expected 0: one row of zeros on "
               "top and bottom, one column on the left and right " * 3 + "THE-HINT")
    cell = nbformat.v4.new_code_cell("pad2d(X, 1)")
    cell.outputs = [nbformat.from_dict(output) for output in
                    _verdict_outputs(False, results.FAILED, message, 3.0)]
    nb = nbformat.v4.new_notebook(cells=[cell])
    page = feedback.html(nb, {"cells": {}, "score": 0.0, "max_score": 3.0, "late_penalty": 0},
                         student="ada", assignment="a1", notebook="first")
    (tmp_path / "wrapped.html").write_text(page)
    (tmp_path / "unwrapped.html").write_text(page.replace(feedback._WRAP_OUTPUTS, ""))
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            seen = {}
            for name in ("wrapped", "unwrapped"):
                view = chromium.new_page(viewport={"width": 1000, "height": 800})
                view.goto((tmp_path / f"{name}.html").as_uri())
                verdict = view.locator(".output_error pre")
                assert "THE-HINT" in verdict.inner_text()
                seen[name] = verdict.evaluate("e => [e.scrollWidth, e.clientWidth]")
                view.close()
        finally:
            chromium.close()
    width, shown = seen["wrapped"]
    assert width <= shown, seen
    width, shown = seen["unwrapped"]
    assert width > shown, seen   # the control: nbconvert's own style hides the end
