"""docs/contract.md, the graded contract, agrees with the answer key and the notebooks.

Each chapter's graded names are its notebooks' solution cells (source and release), and each
name's parameters and defaults are the answer key's and the ones its cells define.
"""
import pytest

from autograder import answer_key
from autograder.coursedir import ROOT, chapters
from autograder.engine.cells import nbgrader
from tests.chapters import read
from tests.contract import CONTRACT, contract, defined_in, parameters, signature_of

CHAPTERS = {assignment[:2]: assignment for assignment in chapters()}


def solution_cells(notebook):
    """``{grade_id: code}`` of a notebook's solution code cells, in order."""
    return {nbgrader(c)["grade_id"]: c.source for c in read(notebook).cells
            if c.cell_type == "code" and nbgrader(c).get("solution")}


def test_the_contract_lists_every_chapter_with_names():
    assert list(contract()) == sorted(CHAPTERS)
    assert all(contract().values())


def test_the_reader_sees_a_changed_signature():
    """The parser is what the other tests rely on: a default or a name it misread would hide
    a drift, so it is checked on a line of each form."""
    assert parameters("X, pool_size, stride=None, padding=0, mode='max'") == [
        ("X", parameters("X")[0][1]), ("pool_size", parameters("X")[0][1]),
        ("stride", None), ("padding", 0), ("mode", "max")]
    assert parameters("X, K, padding=1") != parameters("X, K, padding=0")


@pytest.mark.parametrize("number", sorted(CHAPTERS))
def test_names_and_signatures_match_the_answer_key(number):
    for name, params in contract()[number].items():
        assert hasattr(answer_key, name), f"{CONTRACT.name}: {name} is not in the answer key"
        assert signature_of(getattr(answer_key, name)) == params, name


@pytest.mark.parametrize("folder", ["source", "release"])
@pytest.mark.parametrize("number", sorted(CHAPTERS))
def test_names_and_signatures_match_the_notebooks(number, folder):
    expected = contract()[number]
    cells = {}
    for notebook in sorted((ROOT / folder / CHAPTERS[number]).glob("*.ipynb")):
        cells.update(solution_cells(notebook))
    assert list(cells) == list(expected), "the chapter's solution cells are the contract's names"
    for name, code in cells.items():
        assert defined_in(code, name) == expected[name], f"{folder}/{CHAPTERS[number]}: {name}"
