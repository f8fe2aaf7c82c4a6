"""Sections of the class report an instructor reads at a glance (HTML strings).

- ``outcome_plot``: per autograded cell, the submissions that passed, got it wrong, did not
  attempt it (the stub left as released, or no cell) and crashed (the process died or ran out
  of time), as stacked bars with ``n/N passed``;
- ``failures_section``: the most common failure messages of attempted answers with the
  students behind each (linked to their feedback), and crashes in a table of their own;
- ``similarity_section``: groups of near-identical answers (``autograder.report.similarity``),
  the answers side by side for a human to judge;
- ``png``: a matplotlib figure embedded at the size it was drawn (2x pixels for sharpness),
  so its text is the size it was set in.
"""
import base64
import difflib
import html as html_lib
import io
import itertools
import re
from collections import Counter, defaultdict
from urllib.parse import quote

OUTCOMES = ("passed", "wrong", "not attempted", "crashed")
COLOURS = {"passed": "#55a868", "wrong": "#c44e52", "not attempted": "#b8b8b8",
           "crashed": "#8172b2"}
#: The message of a solution cell left as released (its stub raises it).
UNANSWERED = "NotImplementedError"
TOP_MESSAGES = 15
escape = html_lib.escape


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def png(figure, scale=2):
    """``<img>`` of ``figure`` shown at its drawn size (``figure`` inches x 96 px)."""
    plt = pyplot()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96 * scale)
    width = int(figure.get_figwidth() * 96)
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="plot" width="{width}" src="data:image/png;base64,{data}">'


def outcome(cell):
    """One autograded cell's verdict as one of ``OUTCOMES``."""
    if cell["status"] == "passed":
        return "passed"
    if cell["status"] == "missing" or cell["message"].startswith(UNANSWERED):
        return "not attempted"
    if cell["status"] in ("crashed", "timeout"):
        return "crashed"
    return "wrong"


def outcome_counts(records):
    """``{(assignment, grade_id): Counter(outcome)}`` of every autograded cell."""
    counts = defaultdict(Counter)
    for record in records:
        for notebook in record["notebooks"]:
            for cell in notebook["cells"]:
                if cell["kind"] != "manual":
                    counts[record["assignment"], cell["grade_id"]][outcome(cell)] += 1
    return dict(counts)


def outcome_plot(counts):
    """Stacked horizontal bars of ``outcome_counts``, one per cell, with ``n/N passed``."""
    if not counts:
        return "<p>No autograded cell was run.</p>"
    plt = pyplot()
    # assignments in order, each one's cells in notebook order, top to bottom
    keys = sorted(counts, key=lambda key: key[0])[::-1]
    figure, ax = plt.subplots(figsize=(9, 0.32 * len(keys) + 1.2))
    left = [0] * len(keys)
    for name in OUTCOMES:
        widths = [counts[k][name] for k in keys]
        ax.barh(range(len(keys)), widths, left=left, color=COLOURS[name], label=name)
        left = [a + b for a, b in zip(left, widths)]
    for row, key in enumerate(keys):
        total = sum(counts[key].values())
        ax.text(total, row, f"  {counts[key]['passed']}/{total} passed", va="center", fontsize=10)
    ax.set_yticks(range(len(keys)), [f"{a} · {g}" for a, g in keys], fontsize=10)
    ax.set_xlim(0, max(left) * 1.25)
    ax.set_xlabel("submissions", fontsize=10)
    ax.legend(ncols=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, fontsize=10)
    figure.tight_layout()
    return png(figure)


def feedback_link(student, assignment, notebook):
    """A link to a student's feedback page, relative to ``OUT/report.html``."""
    href = "/".join(quote(part) for part in ("feedback", student, assignment, f"{notebook}.html"))
    return f'<a href="{href}">{escape(student)}</a>'


def table(header, rows):
    """An HTML table; cells are escaped text, or ``Markup`` (already HTML)."""
    def cell(value):
        return value if isinstance(value, Markup) else escape(str(value))
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Markup(str):
    """Text that is already HTML."""


def failures_section(records, top=TOP_MESSAGES):
    """The most common messages of wrong answers (with their students) and the crashes."""
    wrong, crashes = defaultdict(list), []
    for record in records:
        for notebook in record["notebooks"]:
            for cell in notebook["cells"]:
                if cell["kind"] == "manual":
                    continue
                link = feedback_link(record["student_id"], record["assignment"], notebook["name"])
                kind = outcome(cell)
                if kind == "wrong":
                    wrong[record["assignment"], cell["grade_id"], cell["message"]].append(link)
                elif kind == "crashed":
                    crashes.append((record["assignment"], cell["grade_id"], Markup(link),
                                    cell["message"]))
    common = sorted(wrong.items(), key=lambda item: (-len(item[1]), item[0]))[:top]
    rows = [(len(links), a, g, m, Markup(", ".join(sorted(links)))) for (a, g, m), links in common]
    return ("<h2>Most common failure messages</h2><p>What the class gets wrong most often "
            "(answers left as released and crashes are not counted here).</p>"
            + (table(["submissions", "assignment", "cell", "message", "students"], rows)
               if rows else "<p>No wrong answers.</p>")
            + "<h2>Test cells that crashed or timed out</h2><p>A timeout in a cell of the "
              "student's own, not a test, is not counted here: that submission is flagged "
              "for a human (below).</p>"
            + (table(["assignment", "cell", "student", "what happened"], sorted(crashes))
               if crashes else "<p>None.</p>"))


def similarity_section(groups):
    """``similarity.Group``s, one line each, opening to their answers side by side (each
    distinct text once, under the students who wrote it)."""
    intro = ("<h2>Similar answers</h2><p>Students whose answers to a graded function are "
             "near-identical once names, layout and comments are set aside (code from the "
             "release and the course book left out), grouped: a group is linked pair by pair. "
             "For a human to judge: independent work on a short exercise can look alike. Open a "
             "group to see the answers; what one answer has that another lacks is "
             "<mark>marked</mark>.</p>")
    if not groups:
        return intro + "<p>None.</p>"
    blocks = []
    for group in groups:
        functions = []
        for grade_id in group.grade_ids:
            answers = group.answers[grade_id]
            columns = "".join(f"<div><b>{escape(', '.join(students))}</b>"
                              f"<pre>{marked(code, [c for c in answers if c != code])}"
                              "</pre></div>" for code, students in answers.items())
            functions.append(f"<p>{escape(grade_id)}</p><div class='side-by-side'>{columns}</div>")
        blocks.append(f"<details><summary>{escape(group.assignment)}: "
                      f"{escape(', '.join(group.students))} ({len(group.students)} students) "
                      f"alike in {escape(', '.join(group.grade_ids))} "
                      f"(at least {group.similarity:.0%})</summary>{''.join(functions)}</details>")
    return intro + "".join(blocks)


TOKEN = re.compile(r"\w+|\s+|[^\w\s]")


def marked(code, others):
    """``code`` as HTML, its tokens (names, numbers, spaces, signs) that are not matched in
    every one of the ``others`` (difflib) inside ``<mark>``."""
    tokens = TOKEN.findall(code)
    differs = [False] * len(tokens)
    for other in others:
        matcher = difflib.SequenceMatcher(None, tokens, TOKEN.findall(other), autojunk=False)
        for tag, start, end, _, _ in matcher.get_opcodes():
            if tag != "equal":
                differs[start:end] = [True] * (end - start)
    runs = [(flag, "".join(token for _, token in run)) for flag, run in
            itertools.groupby(zip(differs, tokens), key=lambda pair: pair[0])]
    return "".join(_mark(text) if flag else escape(text) for flag, text in runs)


def _mark(text):
    """``text`` as HTML inside ``<mark>``, the spaces around it left outside."""
    core = text.strip()
    if not core:
        return escape(text)
    start = text.index(core)
    return f"{escape(text[:start])}<mark>{escape(core)}</mark>{escape(text[start + len(core):])}"


STYLE = ("details{margin:.2em 0}summary{cursor:pointer}.side-by-side{display:flex;flex-wrap:wrap;gap:1em}.side-by-side>div{flex:1;min-width:20em}"
         ".side-by-side pre{background:#f6f6f6;padding:.5em;font-size:85%;white-space:pre-wrap;"
         "overflow-wrap:anywhere}.side-by-side mark{background:#ffe27a;color:#000;"
         "text-decoration:underline dotted}")
