"""Feedback pages as students read them: offline (MathJax from the Jupyter server that serves
them, never a CDN or a path of the grading machine), with a test's whole verdict in view."""
import re
from importlib.util import find_spec
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from autograder.coursedir import nbgrader_config
from autograder.engine.job import _verdict_outputs
from autograder.record import feedback, results
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, require_browser


SERVED_MATHJAX = "static/jupyter_server_mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"


def fixed_sources(page):
    """The URLs with a scheme (a CDN, a file:// path) that ``page`` (HTML text) loads."""
    return re.findall(r'src="((?:https?|file):[^"]*)"', page)


def test_pages_load_mathjax_from_their_jupyter_server_only():
    """The formgrader's submission page and the feedback pages (the grader's, which
    ``nbgrader generate_feedback`` uses too): no
    CDN, no file:// path of the grading machine; the route jupyter-server-mathjax serves."""
    config = nbgrader_config()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("$Y = X \\star K$")])
    pages = {"feedback": feedback.html(nb, {"cells": {}, "score": 0.0, "max_score": 0.0,
                                            "late_penalty": 0},
                                       student="ada", assignment="a1", notebook="first")}
    bootstrap = (Path(find_spec("nbgrader").origin).parent / "server_extensions" / "formgrader"
                 / "static" / "node_modules" / "bootstrap" / "dist" / "css")   # as nbgrader's
    exporter = HTMLExporter(config=config, template_name="formgrade",
                            extra_template_paths=[str(bootstrap)])
    pages["formgrader"] = exporter.from_notebook_node(
        nb, {"base_url": "/user/grader", "index": 0, "total": 1})[0]
    for name, page in pages.items():
        assert SERVED_MATHJAX in page, name
        assert fixed_sources(page) == [], (name, fixed_sources(page))
        assert "cdnjs" not in page and "file://" not in page, name
    static = Path(find_spec("jupyter_server_mathjax").origin).parent / "static"
    assert (static / "config" / "TeX-AMS-MML_HTMLorMML-full.js").is_file()


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
