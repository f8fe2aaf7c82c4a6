"""Sphinx configuration of the documentation site: every docs/*.md page, in MyST Markdown.

Built by `make docs` (and by tests/test_docs.py, with warnings as errors)."""
project = "CNN basics: an autograded, Jupyter-native course"
author = "the course's instructors"
extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
# Links such as [the layers](grading.md#isolation-the-sandbox-in-layers) resolve to headings,
# and a heading that does not exist is a warning (an error in the strict build).
myst_heading_anchors = 3
# A page that skips a heading level (# then ###) is a matter of style, not a broken build.
suppress_warnings = ["myst.header"]
html_theme = "alabaster"
html_static_path = []
