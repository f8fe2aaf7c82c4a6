"""What a student calls a graded cell: the exercise or question it belongs to, by the chapter's
own heading ("### Exercise 1 · `corr2d` (3 points)", "**Question 1 (2 points).**"), never its
internal grade id. The feedback page labels its cells and its table of contents with these."""
import re
from collections import Counter

from autograder.engine import cells

HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.M)
QUESTION = re.compile(r"\*\*(Question \d+)\b")
POINTS = re.compile(r"\s*\(\d+(\.\d+)? points?\)\.?$")


def heading_name(text):
    """A markdown cell's last heading or question as plain text, without its points
    ("Exercise 1 · corr2d", "Question 2"), or None."""
    found = [(match.start(), match.group(1)) for pattern in (HEADING, QUESTION)
             for match in pattern.finditer(text)]
    if not found:
        return None
    return POINTS.sub("", max(found)[1].replace("`", "").replace("**", "")).strip() or None


def role(cell):
    """What the graded ``cell`` (nbformat v4 dict) holds, in the student's words."""
    if cells.is_test(cell):
        return "tests"
    return "your answer" if cell.get("cell_type") == "markdown" else "your code"


def graded_cell_names(nb):
    """``{grade_id: name}`` for the graded cells of ``nb`` (nbformat v4 dict or NotebookNode):
    "Exercise 1 · corr2d: your code", "Exercise 1 · corr2d: tests", "Question 1: your answer";
    the grade id where no heading comes before the cell."""
    names, heading, seen = {}, None, Counter()
    for cell in nb["cells"]:
        grade_id = cells.grade_id(cell)
        if grade_id is None or not cells.nbgrader(cell):
            if cell.get("cell_type") == "markdown":
                heading = heading_name(cells.source(cell)) or heading
            continue
        name = f"{heading}: {role(cell)}" if heading else grade_id
        seen[name] += 1
        names[grade_id] = f"{name} ({seen[name]})" if seen[name] > 1 else name
    return names
