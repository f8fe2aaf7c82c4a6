"""``autograde export``: the final grades from nbgrader's gradebook, for a spreadsheet or an LMS.

    autograde export --format csv|canvas|moodle --out FILE [--roster FILE] [--assignment NAME ...]
                     [--db URL] [--course DIR]

Final grades are nbgrader's own: each submission's score (autograded points, or the
instructor's where given in formgrader, plus extra credit) less its late penalty
(``late_submission_penalty``), never below 0, as ``nbgrader export`` computes them; a student
in the gradebook with no submission scores 0. Written answers not yet graded by hand are
pending: they add nothing to the score and are counted apart.

- ``csv``: one row per student and assignment (``CSV_COLUMNS``).
- ``canvas``: Canvas's gradebook import: ``Student, ID, SIS User ID, SIS Login ID, Section``,
  then one column per assignment, and the "Points Possible" row.
- ``moodle``: Moodle's CSV grade import: ``username, email``, then one column per assignment
  (map ``username`` to the user field and each assignment to its grade item on import).

``--roster``: the LMS's students, a CSV with a ``student_id`` column (nbgrader's id) and the
LMS's own columns (Canvas: ``Student, ID, SIS User ID, SIS Login ID, Section``; Moodle:
``username, email``). Without one, ``SIS Login ID`` and ``username`` are nbgrader's ids. Every
student is written: one missing from the roster has no LMS id, is named on stderr and makes
the exit status 1, as does a roster student without a submission (scored 0).
"""
import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import MissingEntry

from autograder.report.spreadsheet import spreadsheet_row

CSV_COLUMNS = ["student_id", "assignment", "score", "max_score", "autograded", "hand_graded",
               "pending_hand_grading", "late_penalty", "timestamp", "status"]
CANVAS_IDS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_IDS = ["username", "email"]


class ExportError(ValueError):
    """Input the export cannot use (an unknown assignment, a roster without ids); says which."""


@dataclass
class FinalGrade:
    """One student's final grade on one assignment (points)."""
    student_id: str
    assignment: str
    score: float          # what the LMS gets: raw score less the late penalty, at least 0
    max_score: float
    autograded: float     # points given by the autograder (cells without a hand grade)
    hand_graded: float    # points given by hand in formgrader (and extra credit)
    pending: float        # maximum points of the answers still waiting for a hand grade
    late_penalty: float
    timestamp: str        # when it was submitted ("" if never)
    status: str           # "final", "pending hand grading" or "not submitted"


def _number(value):
    return f"{value:g}"


def _grade(submission, assignment, student_id):
    """The ``FinalGrade`` of one nbgrader ``SubmittedAssignment`` (``None``: not submitted)."""
    if submission is None:
        return FinalGrade(student_id, assignment.name, 0.0, assignment.max_score, 0.0, 0.0, 0.0,
                          0.0, "", "not submitted")
    auto = hand = pending = 0.0
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            if grade.manual_score is not None:
                hand += grade.manual_score
            elif grade.auto_score is not None:
                auto += grade.auto_score
            hand += grade.extra_credit or 0.0
            if grade.needs_manual_grade:
                pending += grade.max_score
    penalty = submission.late_submission_penalty or 0.0
    return FinalGrade(student_id, assignment.name, max(0.0, submission.score - penalty),
                      assignment.max_score, auto, hand, pending, penalty,
                      submission.timestamp.isoformat() if submission.timestamp else "",
                      "pending hand grading" if pending else "final")


def final_grades(gradebook, assignments=None, students=()):
    """``[FinalGrade]`` of every student of an open nbgrader ``Gradebook`` (plus ``students``,
    e.g. a roster's) on every assignment (or those named), sorted by student then assignment.
    Raises ``ExportError`` naming an assignment the gradebook does not have."""
    known = {a.name: a for a in gradebook.assignments}
    unknown = [name for name in assignments or () if name not in known]
    if unknown:
        raise ExportError(f"not in the gradebook: {', '.join(unknown)} "
                          f"(assignments: {', '.join(sorted(known)) or 'none'})")
    ids = sorted({s.id for s in gradebook.students} | set(students))
    rows = []
    for student_id in ids:
        for name in assignments or sorted(known):
            try:
                submission = gradebook.find_submission(name, student_id)
            except MissingEntry:
                submission = None
            rows.append(_grade(submission, known[name], student_id))
    return rows


def read_roster(path):
    """``{student_id: {LMS column: value}}`` of a roster CSV; ``ExportError`` if it has no
    ``student_id`` column or lists an id twice."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if "student_id" not in (reader.fieldnames or ()):
            raise ExportError(f"roster {path} has no student_id column (nbgrader's student id); "
                              f"its columns: {', '.join(reader.fieldnames or ()) or 'none'}")
        roster = {}
        for line, row in enumerate(reader, start=2):
            student = (row.pop("student_id") or "").strip()
            if not student:
                raise ExportError(f"roster {path} line {line}: empty student_id")
            if student in roster:
                raise ExportError(f"roster {path} line {line}: student {student} listed twice")
            roster[student] = {key: value or "" for key, value in row.items() if key}
    return roster


def _lms_ids(student_id, roster, gradebook_student, columns):
    """The LMS's identifying columns of one student (roster first, then nbgrader's record)."""
    known = roster.get(student_id, {})
    name = ", ".join(n for n in (gradebook_student.get("last_name"),
                                 gradebook_student.get("first_name")) if n)
    defaults = {"Student": name or student_id, "SIS Login ID": student_id,
                "username": student_id, "email": gradebook_student.get("email") or ""}
    if roster and student_id not in roster:   # no LMS account known: no id to match on
        defaults = {"Student": defaults["Student"]}
    return [known.get(column) or defaults.get(column, "") for column in columns]


def rows(grades, fmt, roster=None, students=None):
    """The export as rows of cells (header first) in format ``fmt``; ``students``:
    ``{student_id: {last_name, first_name, email}}`` from the gradebook."""
    roster, students = roster or {}, students or {}
    if fmt == "csv":
        return [CSV_COLUMNS] + [
            [g.student_id, g.assignment, _number(g.score), _number(g.max_score),
             _number(g.autograded), _number(g.hand_graded), _number(g.pending),
             _number(g.late_penalty), g.timestamp, g.status] for g in grades]
    ids = CANVAS_IDS if fmt == "canvas" else MOODLE_IDS
    assignments = sorted({g.assignment for g in grades})
    table = {(g.student_id, g.assignment): g for g in grades}
    out = [ids + assignments]
    if fmt == "canvas":
        maximum = {g.assignment: g.max_score for g in grades}
        out.append(["Points Possible"] + [""] * (len(ids) - 1)
                   + [_number(maximum[a]) for a in assignments])
    for student in sorted({g.student_id for g in grades}):
        out.append(_lms_ids(student, roster, students.get(student, {}), ids)
                   + [_number(table[student, a].score) for a in assignments])
    return out


def write(path, table):
    """Write ``table`` (rows of cells) as CSV, every cell spreadsheet-safe."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(spreadsheet_row(row) for row in table)


def problems(grades, roster):
    """What the instructor must know about an export: students the roster lacks, roster
    students without a submission, and answers still to grade by hand."""
    notes = []
    in_gradebook = {g.student_id for g in grades if g.status != "not submitted"}
    if roster:
        missing = sorted({g.student_id for g in grades} - set(roster))
        if missing:
            notes.append(f"not in the roster (written without an LMS id): {', '.join(missing)}")
        absent = sorted(set(roster) - in_gradebook)
        if absent:
            notes.append(f"in the roster but no submission in the gradebook (scored 0): "
                         f"{', '.join(absent)}")
    pending = [f"{g.student_id}/{g.assignment} ({_number(g.pending)} points)"
               for g in grades if g.pending]
    warnings = [f"still to grade by hand in formgrader (not in the score yet): "
                f"{', '.join(pending)}"] if pending else []
    return notes, warnings


def export(gradebook, fmt, out, roster=None, assignments=None):
    """Write the export of an open ``Gradebook``; returns ``(errors, warnings)`` (text lines)."""
    grades = final_grades(gradebook, assignments, students=roster or ())
    students = {s.id: {"last_name": s.last_name, "first_name": s.first_name, "email": s.email}
                for s in gradebook.students}
    write(out, rows(grades, fmt, roster, students))
    return problems(grades, roster)


def _check_exists(db_url):
    """``ExportError`` when ``db_url`` is an SQLite file that does not exist (opening it would
    make an empty gradebook)."""
    from sqlalchemy.engine import make_url
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        raise ExportError(f"no gradebook at {url.database}: grade with `autograde` first, or "
                          "give --db or --course")


def main(argv=None):
    """``autograde export``: exit 0 when written with nothing to report, 1 when written but a
    student is missing from the roster or has no submission, 2 for bad arguments or input."""
    from autograder.coursedir import course_dir, db_url_argument
    from autograder.record.gradebook import CourseGradebook
    cli = argparse.ArgumentParser(prog="autograde export", description=__doc__.splitlines()[0])
    cli.add_argument("--format", required=True, choices=("csv", "canvas", "moodle"))
    cli.add_argument("--out", required=True, metavar="FILE", help="the CSV file to write")
    cli.add_argument("--roster", metavar="FILE",
                     help="the LMS's students: a CSV with student_id and the LMS's id columns")
    cli.add_argument("--assignment", nargs="+", action="extend", metavar="NAME",
                     help="only these assignments (default: all in the gradebook)")
    cli.add_argument("--db", type=db_url_argument, metavar="URL",
                     help="gradebook SQLAlchemy URL (default: sqlite:///<course>/gradebook.db)")
    course_dir(cli)
    args = cli.parse_args(argv)
    if Path(args.out).is_dir():
        cli.error(f"--out {args.out} is a folder: give a file name")
    try:
        roster = read_roster(args.roster) if args.roster else None
        with CourseGradebook(args.course, args.db) as gradebook:
            _check_exists(gradebook.db_url)
            errors, warnings = export(gradebook.connection, args.format, args.out, roster,
                                      args.assignment)
    except (ExportError, OSError) as error:
        cli.error(str(error))
    for line in warnings + errors:
        print(f"autograde export: {line}", file=sys.stderr)
    print(f"{args.format} export written: {args.out}")
    return 1 if errors else 0
