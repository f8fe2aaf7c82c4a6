"""The independent oracles of ``tests/test_answer_key.py``, run against a mutant.

Those tests look every function up on the answer key module at call time (``key.corr2d``),
so a mutant patched onto the module for the length of a call is what they test. The tests
of a graded function are the ones whose code names it, or whose parameters name it
(``test_keeps_the_gradient[corr2d]``); tests that need a pytest fixture are left out.
Hypothesis tests run derandomized (the audit is reproducible) on ``examples`` inputs each,
without shrinking: the first failure decides.
"""
import contextlib
import inspect
import itertools
import types

import pytest
from hypothesis import HealthCheck, Phase, Verbosity, settings

from autograder import answer_key
from tests import test_answer_key


def checks(name):
    """``[(label, test, kwargs)]``: the oracle tests of graded function ``name``."""
    found = []
    for test_name, test in vars(test_answer_key).items():
        if not test_name.startswith("test_") or not inspect.isfunction(test):
            continue
        inner = getattr(getattr(test, "hypothesis", None), "inner_test", test)
        named = name in _names(inner.__code__)
        argnames, combos = _parameters(test)
        if set(inspect.signature(test).parameters) - set(argnames):
            continue  # a fixture (monkeypatch...)
        for combo in combos:
            values = {str(v) for v in combo.values()}
            if named or name in values or f"{name}_avg" in values:
                found.append((f"{test_name}{list(combo.values()) or ''}", test, combo))
    return found


def differs(name, source, examples):
    """The first oracle failure of the mutant ``source`` (defining ``name``), or ''."""
    namespace = dict(vars(answer_key))
    exec(compile(source, f"<mutant of {name}>", "exec"), namespace)  # noqa: S102 (ours)
    with _patched(answer_key, name, namespace[name]):
        for label, test, kwargs in checks(name):
            try:
                with _examples(test, examples):
                    test(**kwargs)
            except (Exception, pytest.fail.Exception) as error:  # noqa: BLE001 (any failure)
                return f"{label}: {type(error).__name__}: {str(error).splitlines()[0][:120]}" \
                    if str(error) else f"{label}: {type(error).__name__}"
    return ""


def _names(code):
    """Every name and attribute a code object (and the code nested in it) refers to."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _names(constant)
    return names


def _parameters(test):
    """The argument names of ``test``'s parametrize marks and every combination of values."""
    marks = [m for m in getattr(test, "pytestmark", []) if m.name == "parametrize"]
    argnames, grids = [], []
    for mark in marks:
        names = mark.args[0].replace(" ", "").split(",") if isinstance(mark.args[0], str) \
            else list(mark.args[0])
        argnames += names
        grids.append([dict(zip(names, v if len(names) > 1 else (v,))) for v in mark.args[1]])
    combos = [dict(kv for part in product for kv in part.items())
              for product in itertools.product(*grids)]
    return argnames, combos or [{}]


@contextlib.contextmanager
def _patched(module, name, value):
    original = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, original)


@contextlib.contextmanager
def _examples(test, examples):
    """Run hypothesis test ``test`` on ``examples`` derandomized inputs, without shrinking.

    Hypothesis reads a test's settings from this attribute when it is called; it is
    restored afterwards.
    """
    attribute = "_hypothesis_internal_use_settings"
    original = getattr(test, attribute, None)
    if original is None:
        yield
        return
    setattr(test, attribute, settings(
        original, max_examples=examples, derandomize=True, database=None, deadline=None,
        phases=[Phase.explicit, Phase.generate], verbosity=Verbosity.quiet,
        suppress_health_check=list(HealthCheck)))
    try:
        yield
    finally:
        setattr(test, attribute, original)
