"""Feedback pages read offline: their MathJax is the local copy nbgrader_config.py names."""
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import nbformat
from nbconvert import HTMLExporter

from autograder.coursedir import nbgrader_config


def test_feedback_pages_load_mathjax_from_a_local_copy():
    config = nbgrader_config()
    url = config.HTMLExporter.mathjax_url
    assert urlparse(url).scheme == "file"
    assert Path(url2pathname(urlparse(url).path)).name == "MathJax.js"
    assert Path(url2pathname(urlparse(url).path)).is_file()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("$Y = X \\star K$")])
    page, _ = HTMLExporter(config=config).from_notebook_node(nb)
    assert f'src="{url}"' in page
    assert "libs/mathjax" not in page.lower()
