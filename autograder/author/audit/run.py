"""``make audit``: how strong are the hidden tests? Mutation testing of the answer key.

For every graded function, each first-order mutant of the answer key's solution
(``autograder.author.audit.mutants``) is judged twice: by the independent oracles of
``tests/test_answer_key.py`` (``autograder.author.audit.oracles``: does it differ from a correct
answer on many valid inputs?) and by its chapter's test cell, hidden tests included, run
as ``tests/test_hidden_tests.py`` runs it (a namespace holding the chapter's graded names).
A mutant the oracles cannot tell from the key is equivalent and not counted. The score is
``killed / wrong``; a wrong mutant that passes the test cell is a survivor: a hidden test
should kill it, or ``accepted.toml`` says why it is acceptable. An equivalent mutant that
the test cell fails is an honest answer losing points: an error too.

This is a course author's tool: it needs the repository's ``tests/`` (the oracles).
"""
import argparse
import contextlib
import inspect
import io
import signal
import sys
import textwrap
import time
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from autograder import answer_key
from autograder.author.audit import oracles
from autograder.author.audit.mutants import mutants
from tests.chapters import BUILT
from tests.test_hidden_tests import chapter, run_test_cell, student_namespace

ACCEPTED = Path(__file__).with_name("accepted.toml")
SECONDS = 20   # per judgement of one mutant (a mutant can loop for long)


@dataclass
class Verdict:
    assignment: str
    function: str
    mutant: object      # autograder.author.audit.mutants.Mutant
    wrong: str          # how the oracles tell it apart ('' for an equivalent mutant)
    killed: str         # how the test cell fails it ('' if it passes)
    accepted: str = ""  # why it is acceptable (accepted.toml), for a survivor or a strict kill

    @property
    def problem(self):
        """'survivor', 'strict' (an equivalent mutant the test cell fails) or ''."""
        if self.wrong and not self.killed:
            return "survivor"
        return "strict" if self.killed and not self.wrong else ""


class _Timeout(BaseException):
    """A judgement that took longer than ``SECONDS``."""


@contextlib.contextmanager
def _limits():
    """Quiet, warning-free and at most ``SECONDS`` long."""
    def expire(signum, frame):
        raise _Timeout()
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(SECONDS)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _first_line(error):
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:120]}" if text else type(error).__name__


def judge(assignment, name, mutant, examples):
    """The ``Verdict`` of one mutant of graded function ``name``."""
    names, tests = chapter(assignment)
    try:
        with _limits():
            wrong = oracles.differs(name, mutant.source, examples)
    except _Timeout:
        wrong = f"took over {SECONDS} s"
    try:
        with _limits():
            torch.manual_seed(0)
            run_test_cell(tests[f"test_{name}"], f"test_{name}",
                          student_namespace(names, name, mutant.source), names)
        killed = ""
    except _Timeout:
        killed = f"took over {SECONDS} s (the grader times out)"
    except Exception as error:  # noqa: BLE001 (any failure costs the points)
        killed = _first_line(error)
    return Verdict(assignment, name, mutant, wrong, killed)


def function_mutants(name):
    """The first-order mutants of the answer key's ``name``."""
    return list(mutants(textwrap.dedent(inspect.getsource(getattr(answer_key, name)))))


def sample(items, size):
    """``size`` items spread evenly over ``items`` (all of them if ``size`` is None)."""
    if size is None or size >= len(items):
        return list(items)
    return [items[round(i * (len(items) - 1) / max(size - 1, 1))] for i in range(size)]


def audit(assignments=BUILT, per_chapter=None, examples=100, functions=None):
    """Every ``Verdict`` (a fixed sample of ``per_chapter`` mutants per chapter, if given)."""
    accepted = read_accepted()
    verdicts = []
    for assignment in assignments:
        names, _ = chapter(assignment)
        work = [(name, m) for name in names if functions is None or name in functions
                for m in function_mutants(name)]
        started = time.perf_counter()
        for name, mutant in sample(work, per_chapter):
            verdict = judge(assignment, name, mutant, examples)
            if verdict.problem:
                verdict.accepted = accepted.get((name, mutant.key), "")
            verdicts.append(verdict)
        print(f"{assignment}: {sum(v.assignment == assignment for v in verdicts)} mutants judged "
              f"in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return verdicts


def read_accepted(path=ACCEPTED):
    """``{(function, mutant key): why}`` from the accepted survivors' file."""
    entries = tomllib.loads(path.read_text()).get("survivor", [])
    return {(e["function"], e["mutant"]): " ".join(e["why"].split()) for e in entries}


def report(verdicts, out=sys.stdout):
    """Print a table per chapter, every problem with its diff, the score; return the score
    ``(killed, wrong)`` and the problems no entry of ``accepted.toml`` explains."""
    width = max([len(v.function) for v in verdicts] + [8])
    for assignment in dict.fromkeys(v.assignment for v in verdicts):
        rows = [v for v in verdicts if v.assignment == assignment]
        print(f"\n{assignment}\n{'function':<{width}}  mutants  equivalent  wrong  killed  "
              f"accepted  open", file=out)
        for name in dict.fromkeys(v.function for v in rows):
            mine = [v for v in rows if v.function == name]
            counts = _counts(mine)
            print(f"{name:<{width}}  {len(mine):7}  {counts['equivalent']:10}  "
                  f"{counts['wrong']:5}  {counts['killed']:6}  {counts['accepted']:8}  "
                  f"{counts['open']:4}", file=out)
        counts = _counts(rows)
        print(f"{assignment}: mutation score {counts['killed']}/{counts['wrong']}", file=out)
    problems = [v for v in verdicts if v.problem]
    for verdict in problems:
        what = ("survives the test cell" if verdict.problem == "survivor" else
                f"equivalent, but the test cell fails it: {verdict.killed}")
        print(f"\n{verdict.function}: {what}"
              + (f" (oracle: {verdict.wrong})" if verdict.wrong else "")
              + (f"\n  accepted: {verdict.accepted}" if verdict.accepted else "\n  OPEN")
              + "\n" + textwrap.indent(verdict.mutant.diff, "  "), file=out)
    counts = _counts(verdicts)
    print(f"\nmutation score: {counts['killed']}/{counts['wrong']} "
          f"({counts['equivalent']} equivalent mutants dropped, {counts['accepted']} accepted, "
          f"{counts['open']} open)", file=out)
    return (counts["killed"], counts["wrong"]), [v for v in problems if not v.accepted]


def _counts(verdicts):
    return {"equivalent": sum(not v.wrong for v in verdicts),
            "wrong": sum(bool(v.wrong) for v in verdicts),
            "killed": sum(bool(v.wrong and v.killed) for v in verdicts),
            "accepted": sum(bool(v.problem and v.accepted) for v in verdicts),
            "open": sum(bool(v.problem and not v.accepted) for v in verdicts)}


def stale(verdicts, accepted=None):
    """Entries of ``accepted.toml`` that no judged problem needs any more."""
    accepted = read_accepted() if accepted is None else accepted
    needed = {(v.function, v.mutant.key) for v in verdicts if v.problem}
    return sorted(set(accepted) - needed)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("functions", nargs="*", help="graded functions (default: all)")
    parser.add_argument("--per-chapter", type=int, help="a fixed sample of mutants per chapter")
    parser.add_argument("--examples", type=int, default=100,
                        help="inputs per hypothesis oracle test (default 100)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    verdicts = audit(per_chapter=args.per_chapter, examples=args.examples,
                     functions=set(args.functions) or None)
    _, open_problems = report(verdicts)
    old = stale(verdicts) if args.per_chapter is None and not args.functions else []
    for function, key in old:
        print(f"stale entry in {ACCEPTED.name}: {function}: {key}")
    print(f"audit took {time.perf_counter() - started:.0f} s")
    return 1 if open_problems or old else 0


if __name__ == "__main__":
    sys.exit(main())
