"""The audit of the hidden tests (``make audit``): its parts, and a fixed slice of it.

The full audit (every first-order mutant of every graded function) runs with ``make audit``;
here a fixed sample of mutants per chapter goes through the same judgement, and must leave
no open problem: every wrong mutant killed by its chapter's test cell (or accepted in
``autograder/author/audit/accepted.toml``), and no equivalent mutant failed by a test cell.
"""
import ast
import io

import pytest

from autograder.author.audit import oracles, run
from autograder.author.audit.mutants import mutants

TINY = '''def clip_sum(xs, limit=3, mode='max'):
    """A docstring that stays as it is."""
    if mode not in ('max', 'avg'):
        raise ValueError(f"unknown mode {mode!r}")
    total = 0
    for x in xs:
        total += min(x, limit)
    return (total, len(xs) - 1)
'''


def test_mutants_are_first_order_and_cover_the_operators():
    found = list(mutants(TINY))
    keys = [m.key for m in found]
    assert len(set(keys)) == len(keys), "every mutant is a different program"
    for mutant in found:
        tree = ast.parse(mutant.source)
        assert ast.get_docstring(tree.body[0]) == "A docstring that stays as it is."
        assert len([line for line in mutant.diff.splitlines() if line.startswith("+")]) >= 1
    expected = {
        "def clip_sum(xs, limit=3, mode='max'): => def clip_sum(xs, limit=4, mode='max'):",
        "def clip_sum(xs, limit=3, mode='max'): => def clip_sum(xs, limit=3, mode='avg'):",
        "if mode not in ('max', 'avg'): => if mode in ('max', 'avg'):",
        "total += min(x, limit) => total -= min(x, limit)",
        "total += min(x, limit) => total += max(x, limit)",
        "total += min(x, limit) => total += min(limit, x)",
        "return (total, len(xs) - 1) => return (total, len(xs) + 1)",
        "return (total, len(xs) - 1) => return (len(xs) - 1, total)"}
    assert expected <= set(keys), sorted(keys)
    assert any(m.operator == "statement deleted" and "raise ValueError" in m.key for m in found)


def test_the_oracles_tell_a_wrong_mutant_from_an_equivalent_one():
    equivalent = "def conv2d_true(X, K):\n    return corr2d(X, torch.flip(K, dims=(1, 0)))\n"
    wrong = "def conv2d_true(X, K):\n    return corr2d(X, torch.flip(K, dims=(0,)))\n"
    assert oracles.differs("conv2d_true", equivalent, examples=20) == ""
    assert "test_conv2d_true_is_scipy_convolve2d" in oracles.differs("conv2d_true", wrong, 20)


def test_every_accepted_survivor_names_a_mutant_that_exists():
    accepted = run.read_accepted()
    assert accepted, "the file is read"
    for (function, key), why in accepted.items():
        assert key in {m.key for m in run.function_mutants(function)}, (function, key)
        assert len(why) > 40, f"say why {function}: {key} is acceptable"


def test_a_survivor_is_reported_with_its_diff():
    survivor = run.Verdict("03_padding_stride", "pad2d", run.function_mutants("pad2d")[0],
                           wrong="the oracle fails it", killed="")
    out = io.StringIO()
    score, open_problems = run.report([survivor], out=out)
    assert score == (0, 1) and open_problems == [survivor]
    assert "mutation score: 0/1" in out.getvalue() and "OPEN" in out.getvalue()
    assert all(line in out.getvalue() for line in survivor.mutant.diff.splitlines())


@pytest.fixture(scope="module")
def sample():
    return run.audit(per_chapter=8, examples=20)


@pytest.mark.slow
def test_a_fixed_sample_of_the_audit_leaves_no_open_problem(sample):
    out = io.StringIO()
    (killed, wrong), open_problems = run.report(sample, out=out)
    print(out.getvalue())
    assert len(sample) == 8 * len(run.BUILT)
    assert wrong > 0 and not open_problems, out.getvalue()
