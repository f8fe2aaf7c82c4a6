"""Every chapter follows one pattern, so a student finds the same things in the same places:
a title "NN · name"; each exercise under "### Exercise k · `name` (P points)", numbered in order,
its points those of its tests; the written questions under "## Questions", before the summary,
each "**Question k (P points).**" with its answer cell's points and its answer cell labelled
"Your answer to Question k:" (never an internal id)."""
import re

import pytest

from autograder.author.notebooks import parse
from autograder.coursedir import ROOT
from tests.chapters import BUILT

EXERCISE = re.compile(r"^### Exercise (\d+) · `(\w+)` \((\d+) points?\)$", re.M)
QUESTION = re.compile(r"\*\*Question (\d+) \((\d+) points?\)\.\*\*")


def chapter(assignment):
    (text,) = (ROOT / "source" / assignment).glob("*.py")
    return parse(text)


def grading(cell):
    return cell.metadata.get("nbgrader", {})


@pytest.mark.parametrize("assignment", BUILT)
def test_the_chapter_follows_the_pattern(assignment):
    cells = chapter(assignment).cells
    title = cells[0].source.splitlines()[0]
    assert re.fullmatch(rf"# {assignment[:2]} · \S.*", title), title
    headings = [(i, line) for i, cell in enumerate(cells) if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if line.startswith("## ")]
    questions = [i for i, line in headings if re.fullmatch(r"## (\d+ · )?Questions", line)]
    summary = [i for i, line in headings if re.fullmatch(r"## (\d+ · )?Summary", line)]
    assert len(questions) == 1 and len(summary) == 1, headings
    assert questions[0] < summary[0], "the questions come before the summary"

    exercises, points = [], {}
    for i, cell in enumerate(cells):
        meta = grading(cell)
        if cell.cell_type == "markdown":
            exercises += [(i, *match) for match in EXERCISE.findall(cell.source)]
        if meta.get("grade") and not meta.get("solution"):  # a test cell: its exercise's points
            assert exercises, f"test cell {meta['grade_id']} before any exercise heading"
            points[exercises[-1][2]] = points.get(exercises[-1][2], 0) + meta["points"]
    solutions = [grading(c)["grade_id"] for c in cells
                 if c.cell_type == "code" and grading(c).get("solution")]
    assert [name for _, _, name, _ in exercises] == solutions, "one heading per exercise"
    assert [int(k) for _, k, _, _ in exercises] == list(range(1, len(exercises) + 1))
    for _, _, name, shown in exercises:
        assert points.get(name) == int(shown), f"{name}: heading says {shown}, tests give {points}"

    answers = [(i, c) for i, c in enumerate(cells) if c.cell_type == "markdown" and grading(c)]
    assert answers, "written questions"
    for number, (i, cell) in enumerate(answers, 1):
        assert questions[0] < i < summary[0]
        asked = QUESTION.findall(cells[i - 1].source)
        assert asked == [(str(number), str(int(grading(cell)["points"])))], cells[i - 1].source
        assert cell.source.startswith(f"**Your answer to Question {number}:**"), cell.source
        assert grading(cell)["grade_id"] not in cell.source.split("### BEGIN SOLUTION")[0]
