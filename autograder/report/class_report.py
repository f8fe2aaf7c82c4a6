"""The class report: ``OUT/report.html``, one self-contained page for the instructor.

Score distribution per assignment, pass rate of every autograded cell, the most common failure
messages (the class's misconceptions), the submissions flagged for a human, and the inputs that
could not be used. Plots are matplotlib PNGs embedded as base64.
"""
import base64
import html as html_lib
import io
from collections import Counter, defaultdict

from autograder.engine.isolation import DESCRIPTIONS
from autograder.record import results

TOP_MESSAGES = 15


def _png(figure):
    """``<img>`` tag holding ``figure`` as an embedded PNG."""
    import matplotlib.pyplot as plt
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="plot" src="data:image/png;base64,{data}">'


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def score_plot(records):
    """Histogram of score / max_score (%) per assignment, graded and flagged submissions."""
    plt = _pyplot()
    by_assignment = defaultdict(list)
    for record in records:
        if record["status"] != results.ERROR and record["max_score"]:
            by_assignment[record["assignment"]].append(100 * record["score"] / record["max_score"])
    if not by_assignment:
        return "<p>No submission could be graded.</p>"
    figure, axes = plt.subplots(1, len(by_assignment), figsize=(3.2 * len(by_assignment), 2.6),
                                squeeze=False, sharey=True)
    for ax, (assignment, scores) in zip(axes[0], sorted(by_assignment.items())):
        ax.hist(scores, bins=[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100.001], color="#4878a8",
                edgecolor="white")
        ax.set_title(assignment, fontsize=9)
        ax.set_xlabel("score (% of points)")
        ax.set_xlim(0, 100)
    axes[0][0].set_ylabel("submissions")
    figure.tight_layout()
    return _png(figure)


def cell_pass_rates(records):
    """``{(assignment, grade_id): (passed, graded)}`` of every autograded cell."""
    rates = defaultdict(lambda: [0, 0])
    for record in records:
        for notebook in record["notebooks"]:
            for cell in notebook["cells"]:
                if cell["kind"] == results.MANUAL or cell["status"] == results.MISSING:
                    continue
                rate = rates[record["assignment"], cell["grade_id"]]
                rate[0] += cell["status"] == results.PASSED
                rate[1] += 1
    return {key: tuple(value) for key, value in rates.items()}


def pass_rate_plot(rates):
    """Horizontal bars: the share of submissions passing each autograded cell."""
    if not rates:
        return "<p>No autograded cell was run.</p>"
    plt = _pyplot()
    keys = sorted(rates, key=lambda key: key[0])[::-1]   # notebook order, top to bottom
    figure, ax = plt.subplots(figsize=(7, 0.28 * len(keys) + 0.9))
    shares = [100 * rates[k][0] / rates[k][1] for k in keys]
    ax.barh(range(len(keys)), shares, color=["#c44e52" if s < 50 else "#55a868" for s in shares])
    ax.set_yticks(range(len(keys)), [f"{a} · {g}" for a, g in keys], fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("submissions passing (%)")
    figure.tight_layout()
    return _png(figure)


#: The message of a solution cell left as released (its stub raises it): not a misconception.
UNANSWERED = "NotImplementedError"


def common_failures(records, top=TOP_MESSAGES):
    """``[(count, assignment, grade_id, message)]``: the most frequent failure messages of
    attempted answers (unanswered stubs and missing cells left out)."""
    counts = Counter()
    for record in records:
        for notebook in record["notebooks"]:
            for cell in notebook["cells"]:
                if cell["status"] in results.NOT_PASSED and not cell["message"].startswith(UNANSWERED):
                    counts[record["assignment"], cell["grade_id"], cell["message"]] += 1
    return [(count, *key) for key, count in counts.most_common(top)]


def _table(header, rows):
    escape = html_lib.escape
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _status_rows(records):
    by_assignment = defaultdict(Counter)
    totals = defaultdict(list)
    for record in records:
        by_assignment[record["assignment"]][record["status"]] += 1
        if record["status"] != results.ERROR:
            totals[record["assignment"]].append((record["score"], record["max_score"]))
    rows = []
    for assignment, counts in sorted(by_assignment.items()):
        scores = totals[assignment]
        mean = (f"{sum(s for s, _ in scores) / len(scores):.2f} / {scores[0][1]:g}"
                if scores else "")
        rows.append((assignment, *(counts[status] for status in results.RECORD_STATUSES), mean))
    return rows


def _sandbox(records):
    """The isolation layers the records' student code ran under, in words."""
    layers = sorted({r["isolation"] for r in records if r.get("isolation")})
    return "; ".join(html_lib.escape(DESCRIPTIONS.get(layer, layer)) for layer in layers) \
        or "no student code ran"


def html(records, problems):
    """The report page for ``records`` (results records) and ``problems`` (lines on the inputs
    ignored, ``Ignored.lines``)."""
    failures = common_failures(records)
    flagged = sorted((r["student_id"], r["assignment"], r["reason"]) for r in records
                     if r["status"] == results.FLAGGED)
    errors = sorted((r["student_id"], r["assignment"], r["reason"]) for r in records
                    if r["status"] == results.ERROR)
    students = len({r["student_id"] for r in records})
    sections = [
        f"<h1>Class report</h1><p>{students} students, {len(records)} submissions.</p>"
        f"<p>Sandbox: {_sandbox(records)}</p>",
        "<h2>Submissions</h2>" + _table(
            ["assignment", "graded", "flagged", "error", "mean score (graded + flagged)"],
            _status_rows(records)),
        "<h2>Score distribution</h2>" + score_plot(records),
        "<h2>Pass rate of every autograded cell</h2>" + pass_rate_plot(cell_pass_rates(records)),
        "<h2>Most common failure messages</h2><p>What the class gets wrong most often "
        "(answers left as released, raising NotImplementedError, are not counted).</p>"
        + (_table(["submissions", "assignment", "cell", "message"], failures)
           if failures else "<p>No failures.</p>"),
        "<h2>Flagged for a human</h2>"
        + (_table(["student", "assignment", "why"], flagged) if flagged else "<p>None.</p>"),
        "<h2>Could not be graded</h2>"
        + (_table(["student", "assignment", "why"], errors) if errors else "<p>None.</p>"),
        "<h2>Inputs ignored</h2>"
        + (_table(["what"], [(p,) for p in problems]) if problems else "<p>None.</p>"),
    ]
    style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
             "padding:.2em .5em;text-align:left;font-size:90%}img{max-width:100%}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Class report</title>"
            f"<style>{style}</style></head><body>{''.join(sections)}</body></html>")
