"""The report's sections: outcomes split passed / wrong / not attempted / crashed with n/N, the
failure table with the students behind each message (linked to their feedback), crashes apart,
similar answers side by side, plots embedded at their drawn size."""
import re

from autograder.report import sections
from autograder.report import similarity
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
    failures, crashes = html.split("<h2>Test cells that crashed or timed out</h2>")
    row = re.search(r"<tr><td>2</td><td>02_cc</td><td>test_g</td><td>kernel flipped\?</td>"
                    r"<td>(.*?)</td></tr>", failures).group(1)
    assert row == ('<a href="feedback/ann/02_cc/cc.html">ann</a>, '
                   '<a href="feedback/bob/02_cc/cc.html">bob</a>')
    assert "NotImplementedError" not in failures and "the process died" not in failures
    assert '<a href="feedback/d%26n/02_cc/cc.html">d&amp;n</a>' in failures
    assert "the process died" in crashes and "ran 30 s" in crashes


def test_similar_answers_grouped_side_by_side():
    copy = "def f(x): return x<1"
    pairs = [Pair("02_cc", "corr2d", ("ann", "bob"), 0.97, (copy, "def f(y): return y<1")),
             Pair("02_cc", "corr2d", ("bob", "cem"), 0.9, ("def f(y): return y<1", copy)),
             Pair("02_cc", "conv2d", ("ann", "cem"), 1.0, ("g = 1", "g = 1")),
             Pair("02_cc", "conv2d", ("ann", "bob"), 0.95, ("g = 1", "g  = 1")),
             Pair("02_cc", "pad", ("dan", "eve"), 0.8, ("p = 0", "q = 0"))]
    found = similarity.groups(pairs)
    assert [(g.students, g.grade_ids) for g in found] == [
        (("ann", "bob", "cem"), ("conv2d", "corr2d")), (("dan", "eve"), ("pad",))]
    assert found[0].similarity == 0.9                     # the least alike linked pair
    assert found[0].answers["corr2d"] == {copy: ["ann", "cem"], "def f(y): return y<1": ["bob"]}
    html = sections.similarity_section(found)
    assert "02_cc: ann, bob, cem (3 students) alike in conv2d, corr2d (at least 90%)" in html
    assert html.count("<details>") == 2 and html.count("<pre>") == 2 + 2 + 2
    assert "<b>ann, cem</b>" in html and "return <mark>x</mark>&lt;1" in html
    assert "g = 1" in html and "g  = 1" in html and "<mark> " not in html   # layout: unmarked
    assert "<p>None.</p>" in sections.similarity_section([])


def test_what_differs_between_similar_answers_is_marked():
    mine = "for i in range(h):\n    Y[i] = (X[i:i + k] * K).sum()"
    theirs = "for j in range(h):\n    Y[j] = (X[j:j + k] * K).sum()  # copied?"
    assert sections.marked(mine, [theirs]) == (
        "for <mark>i</mark> in range(h):\n    Y[<mark>i</mark>] = (X[<mark>i</mark>:"
        "<mark>i</mark> + k] * K).sum()")
    assert sections.marked(theirs, [mine]).endswith("sum()  <mark># copied?</mark>")
    assert sections.marked("a < b", ["a < b"]) == "a &lt; b"
    assert sections.marked("a", ["a", "b"]) == "<mark>a</mark>", "differs from one of them"


def test_a_submission_without_a_grade_counts_as_zero_in_every_section_a_chapter_not_submitted_in_none():
    """The table's mean, the score plot and the per-cell chart take the same submissions (as
    the gradebook and the formgrader do): one that could not be graded is there as a 0; a
    chapter not submitted is counted apart and is in none of them."""
    from autograder.record import results
    from autograder.report import class_report
    ann = _record("ann", [("test_f", "passed", ""), ("test_g", "passed", "")])
    for cell in ann["notebooks"][0]["cells"][:2]:
        cell["points"] = 1.0
    ann.update(score=2.0, max_score=4.0)
    bob = _record("bob", [("test_f", "missing", "not valid JSON"),
                          ("test_g", "missing", "not valid JSON")])
    bob.update(status="error", score=0.0, max_score=4.0)
    cem = _record("cem", [("test_f", "missing", "not submitted"),
                          ("test_g", "missing", "not submitted")])
    cem.update(status="error", score=0.0, max_score=4.0, ungraded=results.NOT_SUBMITTED,
               reason="not submitted: no folder cem/02_cc/")
    bob["reason"] = "cc.ipynb is not a valid notebook"
    for record in (bob, cem):   # no written answer to grade either
        record["notebooks"][0]["cells"][-1]["status"] = "missing"
    (row,) = class_report._status_rows([ann, bob, cem], {"02_cc": (1.0, 4.0, 2)})
    assert row == ("02_cc", 2, 1, 0, 1, 0, 1, "1.00 / 2", "1.00 / 4 (2 submissions)",
                   "2 points in 1 submissions")
    assert class_report.autograded_shares([ann, bob, cem]) == {"02_cc": [100.0, 0.0]}
    page = class_report.html([ann, bob, cem], [])
    assert "2 submissions" in page and "<td>not submitted</td>" in page
    counts = sections.outcome_counts([ann, bob])
    assert all(sum(c.values()) == 2 for c in counts.values())
