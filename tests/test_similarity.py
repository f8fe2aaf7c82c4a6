"""Similarity: a renamed copy is paired with its original; honest, independently written answers
(every chapter's variants in ``tests/variants``, and the book's code typed by two students) are not."""
import ast
import copy
import importlib
import json

import pytest

from autograder.record import feedback
from autograder.report import similarity
from autograder.coursedir import ROOT, chapters
from autograder.engine.cells import nbgrader

CHAPTERS = chapters()


def renamed(code, extra_line=False):
    """``code`` as a copier hides it: every local name (arguments, assigned names, loop
    variables) renamed, re-laid out by ``ast.unparse`` (comments gone), a comment added; with
    ``extra_line``, a print of its own at the start of the first function."""
    tree = ast.parse(code)
    local = {a.arg for node in ast.walk(tree) if isinstance(node, ast.arguments)
             for a in node.args + node.kwonlyargs}
    local |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    names = {name: f"my_{index}" for index, name in enumerate(sorted(local))}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in names:
            node.id = names[node.id]
        elif isinstance(node, ast.arg) and node.arg in names:
            node.arg = names[node.arg]
    if extra_line:
        function = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))
        function.body.insert(0, ast.parse("print('working on it')").body[0])
    return "# my own work\n" + ast.unparse(tree) + "\n"


def _variants(chapter):
    return importlib.import_module(f"tests.variants.{chapter}").HONEST


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_honest_answers_are_not_paired(chapter):
    given = similarity.given_hashes(ROOT / "release" / chapter)
    for name, codes in _variants(chapter).items():
        by_student = {f"student{index}": code for index, code in enumerate(codes)}
        assert similarity.matches(by_student, given) == [], name


def test_the_book_code_typed_by_two_students_is_not_paired():
    book = similarity.book_code()
    function = next(node for node in ast.parse(book).body
                    if isinstance(node, ast.FunctionDef) and node.name == "corr2d")
    code = ast.get_source_segment(book, function)
    given = similarity.given_hashes(ROOT / "release" / "02_cross_correlation")
    assert similarity.matches({"ann": code, "bob": code}, given) == []
    assert similarity.matches({"ann": code, "bob": code}, []) != []   # without the book: paired


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_renamed_copies_are_paired(chapter):
    """Every renamed copy long enough to judge is paired with its original and nothing else;
    with a line of its own added, nearly all are (the rate is printed)."""
    given = similarity.given_hashes(ROOT / "release" / chapter)
    checked = caught = 0
    for name, codes in _variants(chapter).items():
        for index, code in enumerate(codes):
            others = {f"other{i}": c for i, c in enumerate(codes) if i != index}
            if similarity._fingerprint(code, given).token_coverage < similarity.MIN_TOKENS:
                assert similarity.matches({"copier": renamed(code), "original": code}, given) == []
                continue
            found = similarity.matches({"copier": renamed(code), "original": code, **others}, given)
            assert [(a, b) for a, b, _ in found] == [("copier", "original")], (name, index)
            found = similarity.matches({"copier": renamed(code, extra_line=True),
                                        "original": code, **others}, given)
            assert all((a, b) == ("copier", "original") for a, b, _ in found), (name, index)
            checked, caught = checked + 1, caught + bool(found)
    print(f"{chapter}: {checked} renamed copies paired; with an extra line: {caught}/{checked}")
    assert checked >= 5 and caught >= 0.8 * checked


@pytest.mark.parametrize("on_worker", [True, False], ids=["fingerprinted on the worker",
                                                      "journaled without fingerprints"])
def test_pairs_from_graded_records(on_worker, monkeypatch):
    """End to end on records: the copier and the original of ``corr2d`` are one pair, shown
    with both answers; a student who left the stub as released is never compared. The
    fingerprints come from the workers' records (the coordinator fingerprints nothing), or,
    for records journaled before workers made them, from the coordinator: the same pairs."""
    chapter = "02_cross_correlation"
    release = json.loads((ROOT / "release" / chapter / "cross_correlation.ipynb").read_text())
    original = _variants(chapter)["corr2d"][1]

    def record(student, code):
        nb = copy.deepcopy(release)
        if code is not None:
            next(c for c in nb["cells"] if nbgrader(c).get("grade_id") == "corr2d")["source"] = code
        return {"student_id": student, "assignment": chapter,
                "notebooks": [{"name": "cross_correlation", "notebook": nb, "cells": []}]}

    # as the coordinator gets them: finished on the worker (the notebook itself is not kept)
    release_folder = ROOT / "release" / chapter if on_worker else None
    records = [feedback.finish(record(*args), release_folder) for args in (
        ("ann", original), ("bob", renamed(original)), ("cem", _variants(chapter)["corr2d"][3]),
        ("dan", None), ("eve", None))]
    assert not any("notebook" in nb for r in records for nb in r["notebooks"])
    shipped = similarity.fingerprints(records)
    assert set(shipped.get((chapter, "corr2d"), {})) == ({"ann", "bob", "cem"} if on_worker else set())
    if on_worker:
        json.dumps(records)   # plain data, as the journal keeps it
        monkeypatch.setattr(similarity, "_fingerprint", None)   # the coordinator makes none
    assert set(similarity.answers(records)[chapter, "corr2d"]) == {"ann", "bob", "cem"}
    pairs = similarity.similar_pairs(records, ROOT / "release")
    assert [(p.grade_id, p.students) for p in pairs] == [("corr2d", ("ann", "bob"))]
    assert pairs[0].code == (original, renamed(original)) and pairs[0].similarity >= 0.99
