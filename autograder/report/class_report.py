"""The class report: ``OUT/report.html``, one self-contained page for the instructor.

Per assignment the submissions counted by kind (``COUNTS`` defines each count and mean once,
on the page too), their mean autograded points beside the formgrader's average, and the
written answers' points still to grade by hand (apart: the pending points are not zeros); the
distribution of autograded
scores; every autograded cell's outcomes (passed / wrong / not attempted / crashed, n/N); the
most common failure messages with the students behind them, crashes apart; similar answers
side by side; the submissions flagged for a human, those without a grade, and the inputs
that could not be used.
Plots are matplotlib PNGs embedded at the size they were drawn (``sections.png``).
"""
import html as html_lib
from collections import defaultdict

from autograder.engine.isolation import DESCRIPTIONS
from autograder.record import results
from autograder.report import sections, similarity
from autograder.report.tables import pending_points


def manual_points(record):
    """The points of a record's hand-graded cells (graded or not): not in its autograded score."""
    return sum(c["max_points"] for nb in record["notebooks"] for c in nb["cells"]
               if c["kind"] == results.MANUAL)


def autograded_shares(records):
    """``{assignment: [autograded score as % of the autograded points]}`` of every submission
    (``results.is_submission``: one without a grade scores 0, as in the gradebook)."""
    shares = defaultdict(list)
    for record in filter(results.is_submission, records):
        autograded = record["max_score"] - manual_points(record)
        if autograded > 0:
            shares[record["assignment"]].append(100 * record["score"] / autograded)
    return dict(shares)


def score_plot(records):
    """Histogram of the autograded score (% of the autograded points), one per assignment."""
    by_assignment = autograded_shares(records)
    if not by_assignment:
        return "<p>No submission could be graded.</p>"
    plt = sections.pyplot()
    columns = min(3, len(by_assignment))
    rows = -(-len(by_assignment) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.1 * columns, 2.5 * rows),
                                squeeze=False, sharey=True)
    for ax in axes.flat[len(by_assignment):]:
        ax.set_visible(False)
    for ax, (assignment, scores) in zip(axes.flat, sorted(by_assignment.items())):
        ax.hist(scores, bins=[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100.001], color="#4878a8",
                edgecolor="white")
        ax.set_title(assignment, fontsize=10)
        ax.set_xlabel("autograded score (%)", fontsize=10)
        ax.set_xlim(0, 100)
        ax.tick_params(labelsize=9)
        ax.yaxis.get_major_locator().set_params(integer=True)
    for ax in axes[:, 0]:
        ax.set_ylabel("submissions", fontsize=10)
    figure.tight_layout()
    return sections.png(figure)


#: The report's definitions of its counts and means, stated once (as in docs/semester.md).
COUNTS = (
    "<p>A <b>submission</b> is a folder a student handed in for a released assignment; every "
    "one is in the gradebook and the formgrader. It is <b>graded</b> when every test cell has "
    "its verdict (a test that failed, crashed or timed out is a verdict: 0 for that test); "
    "<b>flagged</b> ones are graded, for a human to look at (why: below). One without a grade "
    "is <b>unusable</b> (the grader cannot use the file: unreadable, not the notebook, "
    "refused) or a <b>grader fault</b> (the grader failed on it; the next run tries again): "
    "it scores 0, and the gradebook flags it as needing grading by hand. <b>Not submitted</b>: "
    "a released assignment a student has no folder for; it scores 0 in grades.csv (for the "
    "LMS) and is not a submission: not in the gradebook, the means or the plots.</p>"
    "<p>The <b>mean autograded score</b> is over every submission, over the autograded "
    "points; the written answers' points to grade by hand are apart (pending, not zeros). "
    "The <b>formgrader's average</b> is what its Gradebook page shows, read from the "
    "gradebook as this report was written: every grade, hand grades included, over the "
    "same submissions, over every point (written answers not yet graded by hand count 0 "
    "there).</p>")


def _status_rows(records, formgrader=None):
    """Per assignment: the submissions by ``results.counts``, the mean autograded score (of
    every submission, see ``COUNTS``), the formgrader's average (``formgrader``: the
    gradebook's ``formgrader_averages``), the pending points."""
    by_assignment = defaultdict(list)
    for record in records:
        by_assignment[record["assignment"]].append(record)
    rows = []
    for assignment, found in sorted(by_assignment.items()):
        counts = results.counts(found)
        marks = [(r["score"], r["max_score"] - manual_points(r))
                 for r in filter(results.is_submission, found)
                 if r["max_score"] > manual_points(r)]
        mean = f"{sum(s for s, _ in marks) / len(marks):.2f} / {marks[0][1]:g}" if marks else ""
        average, points, submitted = (formgrader or {}).get(assignment, (None, None, None))
        shown = (f"{average:.2f} / {points:g} ({submitted} submissions)"
                 if average is not None else "")
        waiting = [p for p in map(pending_points, found) if p]
        to_grade = (f"{sum(waiting):g} points in {len(waiting)} submissions" if waiting
                    else "none")
        rows.append((assignment, *(counts[name] for name in COUNTED), mean, shown, to_grade))
    return rows


#: The columns of ``results.counts`` in the report's table, in order.
COUNTED = ("submissions", "graded", "flagged", results.UNUSABLE, results.GRADER_FAULT,
           results.NOT_SUBMITTED)


def _sandbox(records):
    """The isolation layers the records' student code ran under, in words."""
    layers = sorted({r["isolation"] for r in records if r.get("isolation")})
    return "; ".join(html_lib.escape(DESCRIPTIONS.get(layer, layer)) for layer in layers) \
        or "no student code ran"


def html(records, problems, release_root=None, formgrader=None):
    """The report page for ``records`` (results records) and ``problems`` (lines on the inputs
    ignored, ``Ignored.lines``); ``release_root`` (the course's ``release/``) for the similarity
    section (None: none); ``formgrader``: the gradebook's ``formgrader_averages`` (None: that
    column is empty)."""
    flagged = sorted((r["student_id"], r["assignment"], r["reason"]) for r in records
                     if r["status"] == results.FLAGGED)
    errors = sorted((r["student_id"], r["assignment"], results.ungraded(r), r["reason"])
                    for r in records if r["status"] == results.ERROR)
    submissions = list(filter(results.is_submission, records))
    students = len({r["student_id"] for r in records})
    table = sections.table
    parts = [
        f"<h1>Class report</h1><p>{students} students, {len(submissions)} submissions.</p>"
        f"<p>Sandbox: {_sandbox(records)}</p>",
        "<h2>Submissions</h2>" + COUNTS + table(
            ["assignment", "submissions", "graded", "of them flagged", "unusable",
             "grader fault", "not submitted", "mean autograded score", "formgrader's average",
             "pending hand grading"], _status_rows(records, formgrader)),
        "<h2>Autograded scores</h2>" + score_plot(submissions),
        "<h2>Every autograded cell</h2>"
        + sections.outcome_plot(sections.outcome_counts(submissions)),
        sections.failures_section(submissions),
    ]
    if release_root is not None:
        parts.append(sections.similarity_section(
            similarity.groups(similarity.similar_pairs(records, release_root))))
    parts += [
        "<h2>Flagged for a human</h2>"
        + (table(["student", "assignment", "why"], flagged) if flagged else "<p>None.</p>"),
        "<h2>Without a grade</h2><p>Unusable, grader faults and not submitted (see "
        "Submissions).</p>"
        + (table(["student", "assignment", "what", "why"], errors) if errors
           else "<p>None.</p>"),
        "<h2>Inputs ignored</h2>"
        + (table(["what"], [(p,) for p in problems]) if problems else "<p>None.</p>"),
    ]
    style = ("body{font-family:sans-serif;max-width:64em;margin:2em auto;color:#222}"
             "a{color:#0b4f9c;text-decoration:underline}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
             "padding:.2em .5em;text-align:left;font-size:90%}img{max-width:100%;height:auto}"
             + sections.STYLE)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Class report</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")
