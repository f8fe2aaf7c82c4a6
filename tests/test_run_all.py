"""A fresh release notebook runs top to bottom as JupyterLab's Run All runs it: nbclient with
``allow_errors=False`` stops at the first failing cell unless it is tagged ``raises-exception``
(the tests and the examples that call a stub), so every explorer is reached and drawn in its
stub state. One execution per chapter.
"""
import nbformat
import pytest
from nbclient import NotebookClient

from autograder.author.notebooks import RAISES
from autograder.coursedir import ROOT
from tests.chapters import BUILT

pytestmark = pytest.mark.slow
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: The explorers that check the student's function (looked up by name in the kernel).
CHECKING = ("correlation_explorer", "padding_stride_explorer", "pooling_explorer")


def is_explorer(cell):
    return cell.cell_type == "code" and "_explorer(" in cell.source


@pytest.fixture(scope="module", params=BUILT)
def executed(request):
    (path,) = (ROOT / "release" / request.param).glob("*.ipynb")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return request.param, nb


def test_run_all_reaches_and_draws_every_explorer(executed):
    assignment, nb = executed
    explorers = [cell for cell in nb.cells if is_explorer(cell)]
    assert explorers, f"{assignment} has no explorer"
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    for cell in explorers:
        views = [out for out in cell.outputs if WIDGET_VIEW in out.get("data", {})]
        assert views, f"{assignment}: the explorer cell {cell.source!r} showed no widget"
        assert not any(out.output_type == "error" for out in cell.outputs)
        images = [model for model in state.values() if model["model_name"] == "ImageModel"]
        assert images and all(model.get("buffers") for model in images), "an explorer drew nothing"
    captions = " ".join(model["state"]["value"] for model in state.values()   # HTML, Caption
                        if isinstance(model["state"].get("value"), str))
    assert "failed" not in captions
    for cell in explorers:  # those that check the student's function say it is still a stub
        if any(f"{name}(" in cell.source for name in CHECKING):
            assert "still a stub" in captions, f"{assignment}: no stub note in {captions[:300]}"


def test_every_raises_exception_cell_does_raise_on_the_stubs(executed):
    """A tag that no stub needs would hide a real error from Run All."""
    assignment, nb = executed
    for cell in nb.cells:
        if RAISES in cell.metadata.get("tags", []):
            assert any(out.output_type == "error" for out in cell.outputs), (
                f"{assignment}: {cell.source[:80]!r} is tagged {RAISES} but runs on the stubs")
