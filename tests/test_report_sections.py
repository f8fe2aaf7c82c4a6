"""The report's sections: outcomes split passed / wrong / not attempted / crashed with n/N, the
failure table with the students behind each message (linked to their feedback), crashes apart,
similar answers side by side, plots embedded at their drawn size."""
import re

from autograder.report import sections
from autograder.report.similarity import Pair


def _record(student, verdicts):
    """A record of one notebook whose cells have ``verdicts``: [(grade_id, status, message)]."""
    cells = [{"grade_id": g, "kind": "autograded", "status": s, "message": m, "points": 0.0,
              "max_points": 1.0} for g, s, m in verdicts]
    cells.append({"grade_id": "q_why", "kind": "manual", "status": "manual",
                  "message": "needs manual grading", "points": None, "max_points": 2.0})
    return {"student_id": student, "assignment": "02_cc", "status": "graded",
            "notebooks": [{"name": "cc", "cells": cells}]}


RECORDS = [
    _record("ann", [("test_f", "passed", ""), ("test_g", "failed", "kernel flipped?")]),
    _record("bob", [("test_f", "error", "NotImplementedError: "), ("test_g", "failed", "kernel flipped?")]),
    _record("cem", [("test_f", "crashed", "the process died"), ("test_g", "missing", "no cell")]),
    _record("d&n", [("test_f", "failed", "wrong shape"), ("test_g", "timeout", "ran 30 s")]),
]


def test_outcomes_are_split():
    counts = sections.outcome_counts(RECORDS)
    assert set(counts) == {("02_cc", "test_f"), ("02_cc", "test_g")}   # never the written answer
    assert counts["02_cc", "test_f"] == {"passed": 1, "not attempted": 1, "crashed": 1, "wrong": 1}
    assert counts["02_cc", "test_g"] == {"wrong": 2, "not attempted": 1, "crashed": 1}
    html = sections.outcome_plot(counts)
    assert re.search(r'<img alt="plot" width="864" src="data:image/png;base64,', html)


def test_failures_name_their_students_and_crashes_are_apart():
    html = sections.failures_section(RECORDS)
    failures, crashes = html.split("<h2>Crashes and timeouts</h2>")
    row = re.search(r"<tr><td>2</td><td>02_cc</td><td>test_g</td><td>kernel flipped\?</td>"
                    r"<td>(.*?)</td></tr>", failures).group(1)
    assert row == ('<a href="feedback/ann/02_cc/cc.html">ann</a>, '
                   '<a href="feedback/bob/02_cc/cc.html">bob</a>')
    assert "NotImplementedError" not in failures and "the process died" not in failures
    assert '<a href="feedback/d%26n/02_cc/cc.html">d&amp;n</a>' in failures
    assert "the process died" in crashes and "ran 30 s" in crashes


def test_similar_answers_side_by_side():
    pair = Pair("02_cc", "corr2d", ("ann", "bob"), 0.97, ("def f(x): return x<1", "def f(y): return y<1"))
    html = sections.similarity_section([pair])
    assert "ann and bob (97% alike)" in html
    assert "<div class='side-by-side'>" in html and html.count("<pre>") == 2
    assert "x&lt;1" in html
    assert "<p>None.</p>" in sections.similarity_section([])
