"""The hidden tests decide grades: they pass the answer key and every honest variant, and each
realistic wrong implementation fails its function's test cell.

Test cells run as the hardened grader runs them: in a namespace holding only the chapter's graded
names (a test cell imports everything else itself).
"""
import math

import pytest
import torch
from d2l import torch as d2l
from torch import nn
from torch.nn import functional as F

from autograder import answer_key
from course import pair
from tests.chapters import BUILT, graded_tests, read, solution_names, source_notebook, variants

STUDENT_GLOBALS = {"torch": torch, "nn": nn, "F": F, "math": math, "d2l": d2l, "pair": pair}


def chapter(assignment):
    nb = read(source_notebook(assignment))
    return solution_names(nb), graded_tests(nb)


def student_namespace(names, name=None, source=None):
    """The answer key's graded names, with ``source`` (defining ``name``) exec'd on top."""
    namespace = dict(STUDENT_GLOBALS, **{n: getattr(answer_key, n) for n in names})
    if source is not None:
        exec(compile(source, f"<variant of {name}>", "exec"), namespace)
    return namespace


def run_test_cell(source, test_id, namespace, names):
    graded = {"__name__": "__test_cell__", **{n: namespace[n] for n in names}}
    exec(compile(source, f"<{test_id}>", "exec"), graded)


def cases(kind):
    for assignment in BUILT:
        catalogue = getattr(variants(assignment), kind)
        for name, entries in catalogue.items():
            for index, entry in enumerate(entries):
                label, source = entry if isinstance(entry, tuple) else (f"honest {index}", entry)
                yield pytest.param(assignment, name, source, id=f"{assignment}-{name}-{label}")


@pytest.mark.parametrize("assignment", BUILT)
def test_every_graded_function_has_tests_and_variants(assignment):
    names, tests = chapter(assignment)
    catalogue = variants(assignment)
    for name in names:
        assert f"test_{name}" in tests, f"{name} has no test cell test_{name}"
        assert "### BEGIN HIDDEN TESTS" in tests[f"test_{name}"], f"test_{name} has no hidden tests"
        assert catalogue.HONEST.get(name), f"{name} has no honest variant"
        assert catalogue.WRONG.get(name), f"{name} has no wrong variant"


@pytest.mark.parametrize("assignment", BUILT)
def test_answer_key_passes_every_test_cell(assignment):
    names, tests = chapter(assignment)
    for test_id, source in tests.items():
        run_test_cell(source, test_id, student_namespace(names), names)


@pytest.mark.parametrize("assignment, name, source", list(cases("HONEST")))
def test_honest_variant_passes(assignment, name, source):
    names, tests = chapter(assignment)
    torch.manual_seed(0)
    run_test_cell(tests[f"test_{name}"], f"test_{name}", student_namespace(names, name, source),
                  names)


@pytest.mark.parametrize("assignment, name, source", list(cases("WRONG")))
def test_wrong_variant_fails(assignment, name, source):
    names, tests = chapter(assignment)
    torch.manual_seed(0)
    namespace = student_namespace(names, name, source)
    with pytest.raises(Exception):
        run_test_cell(tests[f"test_{name}"], f"test_{name}", namespace, names)
