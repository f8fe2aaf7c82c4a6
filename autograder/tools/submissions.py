"""Sample submissions: a release notebook filled in the way a student hands it in, and saved
the ways real tools save it (``saved``).

The one helper behind the demo's class, the timing runs, the benchmark and the tests' fixtures.
"""
import copy
import json

from autograder.engine.cells import nbgrader, source

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def key_code(source_nb):
    """``{grade_id: code}`` of the source notebook's (nbformat dict) solution code cells: the
    answer key's code as a student would write it, without nbgrader's solution markers."""
    return {nbgrader(cell)["grade_id"]: "\n".join(
                line for line in source(cell).splitlines() if line.strip() not in MARKERS)
            for cell in source_nb["cells"]
            if cell.get("cell_type") == "code" and nbgrader(cell).get("solution")}


def fill(release_nb, answers):
    """A copy of the release notebook (nbformat dict) whose solution cells (code or written
    answers) named in ``answers`` (``{grade_id: text}``; None: left as released) hold that text."""
    nb = copy.deepcopy(release_nb)
    for cell in nb["cells"]:
        meta = nbgrader(cell)
        if meta.get("solution") and answers.get(meta.get("grade_id")) is not None:
            cell["source"] = answers[meta["grade_id"]]
    return nb


#: A 1x1 PNG, base64: a sketch pasted into a cell.
PIXEL = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5"
         "ErkJggg==")
SKETCH = "![my sketch of the receptive field](attachment:image.png)"


def _lines(text):
    """``text`` as nbformat's list of lines (what Jupyter writes)."""
    return text.splitlines(keepends=True)


def _cells(nb, kind=None):
    return [c for c in nb["cells"] if kind is None or c["cell_type"] == kind]


def _written(nb):
    """The written-answer (markdown solution) cells."""
    return [c for c in _cells(nb, "markdown") if nbgrader(c).get("solution")]


def _plain_cells(nb, kind):
    """The cells of ``kind`` without nbgrader metadata (the chapter's text and demos)."""
    return [c for c in _cells(nb, kind) if not nbgrader(c)]


def _without_ids(nb, minor):
    nb["nbformat_minor"] = minor
    for cell in nb["cells"]:
        cell.pop("id", None)
    return nb


def _ran(nb):
    """Outputs as a kernel leaves them: text, a result, an image, a widget, an error."""
    outputs = [
        {"output_type": "stream", "name": "stdout", "text": ["ran\n"]},
        {"output_type": "execute_result", "execution_count": 1, "metadata": {},
         "data": {"text/plain": ["42"]}},
        {"output_type": "display_data", "metadata": {}, "data": {
            "image/png": PIXEL, "text/plain": ["<Figure size 640x480 with 1 Axes>"]}},
        {"output_type": "display_data", "metadata": {}, "data": {
            "application/vnd.jupyter.widget-view+json": {
                "model_id": "0123456789abcdef", "version_major": 2, "version_minor": 0},
            "text/plain": ["VBox(children=(IntSlider(value=3),))"]}},
        {"output_type": "error", "ename": "NotImplementedError", "evalue": "",
         "traceback": ["\x1b[0;31mNotImplementedError\x1b[0m"]},
    ]
    for number, cell in enumerate(_cells(nb, "code"), 1):
        cell["outputs"], cell["execution_count"] = copy.deepcopy(outputs), number
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {"0123456789abcdef": {"model_name": "VBoxModel", "model_module":
                                       "@jupyter-widgets/controls", "model_module_version":
                                       "2.0.0", "state": {}}}, "version_major": 2,
        "version_minor": 0}}
    return nb


def _attach(cell, text=SKETCH):
    cell["source"] = source(cell) + "\n\n" + text
    cell["attachments"] = {"image.png": {"image/png": PIXEL}}


def _pasted_pictures(nb):
    """A picture pasted into each written answer, a text cell of the chapter and a new cell."""
    for cell in _written(nb) + _plain_cells(nb, "markdown")[:1]:
        _attach(cell)
    new = {"cell_type": "markdown", "id": "sketch", "metadata": {}, "source": ""}
    _attach(new, "My drawing:\n\n" + SKETCH)
    nb["cells"].insert(nb["cells"].index(_written(nb)[0]) + 1, new)
    return nb


def _colab(nb):
    """What Colab's "Download .ipynb" writes: nbformat 4.0, no cell ids (its own in the cell
    metadata), its notebook metadata, outputs, a picture pasted into a written answer."""
    nb = _without_ids(_ran(nb), 0)
    nb["metadata"] = {"colab": {"provenance": [], "toc_visible": True, "gpuType": "T4"},
                      "kernelspec": {"name": "python3", "display_name": "Python 3"},
                      "language_info": {"name": "python"}, "accelerator": "GPU",
                      "widgets": nb["metadata"]["widgets"]}
    for number, cell in enumerate(nb["cells"]):
        cell["metadata"]["id"] = f"Xk3{number:05d}q"
        if cell["cell_type"] == "code":
            cell["metadata"]["colab"] = {"base_uri": "https://localhost:8080/", "height": 35}
            cell["metadata"]["outputId"] = f"9c2{number:05d}e"
    _attach(_written(nb)[0])
    return nb


def _vscode(nb):
    """VS Code's Jupyter extension: nbformat 4.2 without ids, its own kernel and metadata."""
    nb = _without_ids(nb, 2)
    nb["metadata"]["kernelspec"] = {"display_name": ".venv", "language": "python",
                                    "name": "python3"}
    nb["metadata"]["vscode"] = {"interpreter": {"hash": "3f" * 32}}
    return nb


def _notebook7(nb):
    """Notebook 7 / JupyterLab 4: ids, outputs, JupyterLab's cell metadata, another kernel."""
    nb = _ran(nb)
    nb["metadata"]["kernelspec"] = {"display_name": "Python [conda env:d2l]",
                                    "language": "python", "name": "conda-env-d2l-py"}
    nb["metadata"]["toc-autonumbering"] = True
    for cell in _plain_cells(nb, "markdown"):
        cell["metadata"]["jp-MarkdownHeadingCollapsed"] = True
    for cell in _cells(nb, "code"):
        cell["metadata"]["scrolled"] = True
        cell["metadata"]["trusted"] = True
    return nb


def _new_ids(nb):
    """JupyterLab 3 after cut and paste: every cell id new."""
    for number, cell in enumerate(nb["cells"]):
        cell["id"] = f"{number:08x}-pasted"
    return nb


def _windows(text):
    """A notebook saved on Windows: CRLF line endings in the file and in every cell."""
    nb = json.loads(text)
    for cell in nb["cells"]:
        cell["source"] = _lines(source(cell).replace("\n", "\r\n"))
    return json.dumps(nb, indent=1).replace("\n", "\r\n")


def _rearranged(nb):
    """Cells added, moved and re-typed around the graded ones."""
    markdown, code = _plain_cells(nb, "markdown"), _plain_cells(nb, "code")
    first_solution = next(c for c in nb["cells"] if nbgrader(c).get("solution"))
    at = nb["cells"].index(first_solution)
    nb["cells"][at:at] = [
        {"cell_type": "code", "id": "scratch", "metadata": {}, "outputs": [],
         "execution_count": None, "source": "scratch = [1, 2, 3]\nprint(sum(scratch))"},
        {"cell_type": "markdown", "id": "notes", "metadata": {}, "source": "My notes."}]
    nb["cells"].remove(markdown[-1])
    nb["cells"].insert(nb["cells"].index(first_solution), markdown[-1])   # moved up
    markdown[1]["cell_type"] = "raw"                                      # re-typed
    code[-1]["cell_type"] = "markdown"
    code[-1].pop("outputs"), code[-1].pop("execution_count")
    return nb


def _answer_below_stub(nb, key):
    """Each function written in a new cell below its untouched stub."""
    for cell in [c for c in _cells(nb, "code") if nbgrader(c).get("solution")]:
        grade_id = nbgrader(cell)["grade_id"]
        at = nb["cells"].index(cell) + 1
        nb["cells"].insert(at, {"cell_type": "code", "id": f"mine-{grade_id}", "metadata": {},
                                "outputs": [], "execution_count": None, "source": key[grade_id]})
    return nb


def _minor(minor):
    return lambda nb: _without_ids(nb, minor)


def _indented(transform):
    return lambda nb: json.dumps(transform(nb), indent=1, ensure_ascii=False) + "\n"


#: ``{name: (notebook dict) -> file text}``: an honest notebook as a tool saves it.
SAVED_BY = {
    "jupyterlab4_outputs": _indented(_ran),
    "pictures_pasted": _indented(_pasted_pictures),
    "colab": lambda nb: json.dumps(_colab(nb), separators=(",", ":")),
    "vscode": _indented(_vscode),
    "notebook7": _indented(_notebook7),
    "jupyterlab3_new_ids": _indented(_new_ids),
    "nbformat_4_0": _indented(_minor(0)),
    "nbformat_4_4": _indented(_minor(4)),
    "windows_crlf": lambda nb: _windows(json.dumps(nb)),
    "rearranged": _indented(_rearranged),
    "sources_as_strings": lambda nb: json.dumps(nb, indent=2),
}


def saved(release_nb, source_nb, answers):
    """``{name: (file text)}``: the release filled with the answer key's code and ``answers``
    (written answers, ``{grade_id: text}``), saved each way of ``SAVED_BY``, plus
    ``answer_below_stub`` (each function written in a new cell under its stub) and ``control``
    (saved as nbformat writes it)."""
    key = key_code(source_nb)
    filled = fill(release_nb, {**key, **answers})
    texts = {name: save(copy.deepcopy(filled)) for name, save in SAVED_BY.items()}
    texts["answer_below_stub"] = _indented(lambda nb: _answer_below_stub(nb, key))(
        fill(release_nb, answers))
    texts["control"] = _indented(lambda nb: nb)(filled)
    return texts
