"""``make demo``: the instructor's end-to-end job on embedded defaults.

Regenerates ``release/`` with ``nbgrader generate_assignment``, makes ``demo/`` an nbgrader
course directory (its own ``nbgrader_config.py``, ``source/`` and ``release/``) with a handful
of sample submissions of every chapter in ``demo/submitted/`` (complete, blank, partial, partly
wrong, a broken file, an infinite loop), grades them with the coordinator into ``demo/out/``,
``demo/autograded/`` and the gradebook ``demo/gradebook.db``, and prints the grade table and
the commands to go on with (``next_commands``: each one exists in nbgrader 0.9.6 and is run by
tests/test_demo_course.py): ``jupyter lab`` in ``demo/`` (Nbgrader > Formgrader) shows every
submission. ``demo/`` is rebuilt from scratch on every run (and ignored by git).
"""
import argparse
import ast
import json
import shutil
import sys
from pathlib import Path

from autograder.coursedir import ROOT, CourseDir, chapters
from autograder.engine import isolation
from autograder.engine.cells import nbgrader
from autograder.record import results
from autograder.tools import submissions

DEMO = ROOT / "demo"
#: The kinds of sample submission (see ``submission``).
KINDS = ("complete", "blank", "partial", "partly_wrong", "broken_file", "infinite_loop")
#: Kinds that spoil one chapter only: the student's other chapters are complete.
ONE_CHAPTER = ("broken_file", "infinite_loop")
#: A stray cell that never ends: the per-cell timeout must cost only that cell.
INFINITE_LOOP = "# trying something\nwhile True:\n    pass"
WRITTEN_ANSWER = "My answer, in my own words: see the notes, section 7."


def _off_by_one(code):
    """``code`` followed by wrappers that make each function it defines answer off by one."""
    names = [node.name for node in ast.parse(code).body if isinstance(node, ast.FunctionDef)]
    wrappers = [f"_right_{name} = {name}\n\n\ndef {name}(*args, **kwargs):\n"
                f"    return _right_{name}(*args, **kwargs) + 1" for name in names]
    return "\n\n\n".join([code] + wrappers)


def submission(kind, release, source):
    """The notebook text a student of ``kind`` hands in for one chapter.

    ``release``/``source``: the chapter's release and source notebooks (dicts). Kinds:
    complete (the answer key), blank (the release as is), partial (the first half of the
    solution cells answered), partly_wrong (every other solution cell's functions off by one),
    broken_file (not valid JSON), infinite_loop (complete, plus a cell that never ends).
    """
    key = submissions.key_code(source)
    solutions = [c for c in release["cells"] if nbgrader(c).get("solution")]
    answers = {}
    for index, cell in enumerate(solutions):
        if kind == "blank" or (kind == "partial" and index >= len(solutions) // 2):
            continue
        grade_id = nbgrader(cell)["grade_id"]
        if cell["cell_type"] == "markdown":
            answers[grade_id] = WRITTEN_ANSWER
        else:
            code = key[grade_id]
            answers[grade_id] = _off_by_one(code) if kind == "partly_wrong" and index % 2 else code
    nb = submissions.fill(release, answers)
    if kind == "infinite_loop":
        first = next(i for i, c in enumerate(nb["cells"]) if nbgrader(c).get("solution"))
        nb["cells"].insert(first + 1, {"cell_type": "code", "execution_count": None,
                                       "id": "stray-loop", "metadata": {}, "outputs": [],
                                       "source": INFINITE_LOOP})
    text = json.dumps(nb, indent=1)
    return text[:len(text) // 2] if kind == "broken_file" else text


def demo_class(assignments):
    """``{(student_id, assignment): kind}``: one student per kind, named after it; the kinds
    in ``ONE_CHAPTER`` spoil the first chapter only."""
    return {(kind, assignment): "complete" if kind in ONE_CHAPTER and index else kind
            for kind in KINDS for index, assignment in enumerate(assignments)}


def write_class(folder, kinds, course_root=ROOT):
    """Write ``folder/<student>/<assignment>/<notebook>.ipynb`` for every ``(student_id,
    assignment): kind`` of ``kinds``, from the course's release and source notebooks."""
    course = CourseDir(course_root)
    for assignment in sorted({assignment for _, assignment in kinds}):
        for release_path in sorted(course.release(assignment).glob("*.ipynb")):
            release = json.loads(release_path.read_text())
            source = json.loads((course.source(assignment) / release_path.name).read_text())
            for (student, chapter), kind in kinds.items():
                if chapter == assignment:
                    target = Path(folder, student, assignment, release_path.name)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(submission(kind, release, source))


def build_course(root, kinds, course_root=ROOT):
    """Make ``root`` an nbgrader course directory: the course's ``nbgrader_config.py``, the
    ``source/`` and ``release/`` of the assignments in ``kinds`` (see ``write_class``) and
    their sample submissions in ``root/submitted/``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(course_root, "nbgrader_config.py"), root)
    for assignment in sorted({assignment for _, assignment in kinds}):
        for part in ("source", "release"):
            shutil.copytree(Path(course_root, part, assignment), root / part / assignment,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    write_class(root / "submitted", kinds, course_root)


def grade_table(records):
    """The class as text: one row per student, one column per assignment (score/max, and a
    mark: ``!`` flagged for a human, ``x`` a submission without a grade, ``-`` not submitted;
    the counts of ``results.counts``)."""
    assignments = sorted({r["assignment"] for r in records})
    students = sorted({r["student_id"] for r in records})
    cells = {(r["student_id"], r["assignment"]): r for r in records}
    width = max(len(s) for s in students) + 2
    column = max(len(a) for a in assignments) + 2
    lines = ["".ljust(width) + "".join(a.ljust(column) for a in assignments)]
    for student in students:
        row = student.ljust(width)
        for assignment in assignments:
            record = cells.get((student, assignment))
            text = (f"{record['score']:g}/{record['max_score']:g} {_mark(record)}"
                    if record else "")
            row += text.ljust(column)
        lines.append(row)
    lines.append("(! flagged for a human, x unusable or a grader fault: no grade, - not "
                 "submitted; written answers are graded by hand in the formgrader, their points "
                 "are in the maximum but not yet in the score)")
    return "\n".join(lines)


def _mark(record):
    """``grade_table``'s mark of a record."""
    why = results.ungraded(record)
    if why == results.NOT_SUBMITTED:
        return "-"
    return "x" if why else "!" if record["status"] == results.FLAGGED else " "


#: The demo's seconds per cell: it has an infinite loop.
TIMEOUT = 20.0


def same_command(timeout=TIMEOUT):
    """The demo's grading as one command, run in the demo course directory."""
    return f"autograde submitted --out out --timeout {timeout:g}"


def next_commands(assignments):
    """``[(command, what it does)]`` to go on with in the demo course directory, after the
    grading: grade the written answers in the formgrader, export, and nbgrader's feedback."""
    return [("jupyter lab", "then Nbgrader > Formgrader: grade the written answers"),
            ("autograde export --format canvas --out grades.csv", "the final grades, for Canvas"),
            *((f"nbgrader generate_feedback {assignment}", "the students' feedback pages, "
               "hand grades included") for assignment in assignments)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=TIMEOUT,
                        help=f"seconds per cell (default {TIMEOUT:g}: the demo has an "
                             "infinite loop)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--isolation", choices=isolation.CHOICES, default="auto")
    args = parser.parse_args(argv)
    from autograder import author
    from autograder.cli import describe
    from autograder.engine.isolation import announce
    from autograder.run.coordinator import GraderError, run

    try:
        layer = isolation.probe(args.isolation)
    except isolation.Unavailable as error:
        sys.exit(f"autograde: {error}")
    print(announce(layer), flush=True)

    assignments = chapters()
    if not assignments:
        sys.exit("no chapter has a source notebook yet (source/<assignment>/*.ipynb)")
    print(f"releasing {', '.join(assignments)} with nbgrader generate_assignment", flush=True)
    author.release(assignments)
    shutil.rmtree(DEMO, ignore_errors=True)
    build_course(DEMO, demo_class(assignments))
    print(f"sample submissions: {DEMO / 'submitted'} ({len(KINDS)} students x "
          f"{len(assignments)} chapters: {', '.join(KINDS)}; {' and '.join(ONE_CHAPTER)} "
          f"in {assignments[0]} only)", flush=True)
    try:
        summary = run(DEMO / "submitted", DEMO / "out", course_root=DEMO,
                      assignments=assignments, workers=args.workers, cell_timeout=args.timeout,
                      isolation=layer)
    except GraderError as error:
        sys.exit(f"autograde: {error}")
    print()
    print(f"graded in the sandbox layer: {layer}")
    print(grade_table(summary.records))
    print()
    for record in summary.records:
        if record["status"] != results.GRADED:
            kind = results.ungraded(record) or record["status"]
            print(f"{record['student_id']}/{record['assignment']} ({kind}): "
                  f"{record['reason'][:300]}")
    print()
    print(describe(summary, DEMO / "out"))
    print(f"gradebook: {DEMO / 'gradebook.db'} (autograded notebooks: {DEMO / 'autograded'})")
    print(f"in a new shell, put autograde and nbgrader on PATH first: "
          f"source {Path(sys.prefix) / 'bin' / 'activate'}")
    print(f"the same from the command line: cd {DEMO} && {same_command(args.timeout)}")
    print(f"then, in {DEMO} (the semester with nbgrader's exchange: docs/semester.md):")
    for command, what in next_commands(assignments):
        print(f"  {command}    # {what}")


if __name__ == "__main__":
    main()
