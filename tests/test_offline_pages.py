"""Feedback pages read offline: their MathJax is the local copy nbgrader_config.py names."""
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import nbformat
from nbconvert import HTMLExporter

from autograder.coursedir import nbgrader_config
from autograder.record import feedback


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
