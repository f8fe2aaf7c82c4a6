"""The grade tables: ``OUT/grades.csv`` (one row per student and assignment) and
``OUT/cells.csv`` (one row per graded cell), safe to open in a spreadsheet."""
from autograder.record import results
from autograder.record.journal import write_atomic
from autograder.report.spreadsheet import csv_text

GRADES_COLUMNS = ["student_id", "assignment", "score", "pending_points", "max_score", "status",
                  "reason"]
CELLS_COLUMNS = ["student_id", "assignment", "notebook", "grade_id", "points", "max_points",
                 "status", "message"]


def _number(value):
    return "" if value is None else f"{value:g}"


def pending_points(record):
    """The points of a results record's written answers waiting for a human (not in its score)."""
    return sum(c["max_points"] for nb in record["notebooks"] for c in nb["cells"]
               if c["status"] == results.NEEDS_GRADING)


def grade_rows(records):
    """``grades.csv`` rows: one per student and assignment; ``score`` is the autograded points,
    ``pending_points`` the written answers' points still to grade by hand (the final grades,
    hand grades included: ``autograde export``)."""
    rows = []
    for record in sorted(records, key=results.key):
        reason = record["reason"]
        manual = pending_points(record)
        if manual:
            waiting = f"{_number(manual)} point{'s' if manual != 1 else ''} to grade by hand"
            reason = f"{reason}; {waiting}" if reason else waiting
        rows.append({"student_id": record["student_id"], "assignment": record["assignment"],
                     "score": _number(record["score"]), "pending_points": _number(manual),
                     "max_score": _number(record["max_score"]),
                     "status": record["status"], "reason": reason})
    return rows


def cell_rows(records):
    """``cells.csv`` rows: one per graded cell of every notebook."""
    return [{"student_id": record["student_id"], "assignment": record["assignment"],
             "notebook": notebook["name"], "grade_id": cell["grade_id"],
             "points": _number(cell["points"]), "max_points": _number(cell["max_points"]),
             "status": cell["status"], "message": cell["message"]}
            for record in sorted(records, key=results.key)
            for notebook in record["notebooks"] for cell in notebook["cells"]]


def write_tables(out, records):
    """Write ``OUT/grades.csv`` and ``OUT/cells.csv`` for ``records``."""
    for name, columns, rows in (("grades.csv", GRADES_COLUMNS, grade_rows(records)),
                                ("cells.csv", CELLS_COLUMNS, cell_rows(records))):
        write_atomic(out / name, csv_text(columns, rows))
