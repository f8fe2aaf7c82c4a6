"""``autograde``: one command from a folder of submissions to grades, feedback and a class report.

    autograde SUBMISSIONS --out OUT [--assignment NAME ...] [--student ID ...] [--force]
              [--workers N] [--timeout SECONDS] [--db URL] [--course DIR]
              [--isolation auto|root|userns|landlock|none] [--scheduler ADDRESS]
    autograde export --format csv|canvas|moodle --out FILE [--roster FILE] ...  (see export.py)
    autograde import --lms canvas|moodle DOWNLOAD --assignment NAME --roster FILE
                     --into SUBMITTED [--due WHEN]                     (see intake/lms.py)
    autograde serve [--course DIR] (--tokens FILE | --hub) ...  (see autograder/serve/service.py)

Exit status: 0 when the batch finished (whatever the submissions did), 1 when the grader cannot
run (no release, no gradebook, no sandbox), 2 for bad arguments, 130 when interrupted (grades recorded so far
are kept; run the same command again to grade the rest).
"""
import argparse
import os
import sys
from pathlib import Path

from autograder.coursedir import course_dir, db_url_argument, positive
from autograder.engine import isolation
from autograder.record import results


def parser():
    parser = argparse.ArgumentParser(
        prog="autograde",
        description="Grade a folder of nbgrader submissions (<student_id>/<assignment>/"
                    "<notebook>.ipynb) or a .zip of one: gradebook, OUT/grades.csv, OUT/cells.csv, "
                    "OUT/feedback/ and the class report OUT/report.html.")
    parser.add_argument("submissions", metavar="SUBMISSIONS",
                        help="folder laid out <student_id>/<assignment>/<notebook>.ipynb, "
                             "or a .zip of one")
    parser.add_argument("--out", required=True, metavar="OUT",
                        help="folder for grades.csv, cells.csv, feedback/ and report.html")
    parser.add_argument("--assignment", nargs="+", action="extend", metavar="NAME",
                        help="grade only these assignments (default: every released one)")
    parser.add_argument("--student", nargs="+", action="extend", metavar="ID",
                        help="grade only these students (the others' grades stay as they are)")
    parser.add_argument("--force", action="store_true",
                        help="regrade submissions that did not change since the last run (a "
                             "hand grade of an unchanged written answer is kept)")
    parser.add_argument("--workers", type=positive(int), default=os.cpu_count(), metavar="N",
                        help="parallel grading processes (default: the number of cores, "
                             f"{os.cpu_count()})")
    parser.add_argument("--timeout", type=positive(float), default=30.0, metavar="SECONDS",
                        help="wall time allowed per cell and per test cell (default: 30)")
    parser.add_argument("--db", type=db_url_argument, metavar="URL",
                        help="gradebook SQLAlchemy URL (default: sqlite:///<course>/gradebook.db)")
    parser.add_argument("--isolation", choices=isolation.CHOICES, default="auto",
                        help="the sandbox layer: auto (the strongest this machine allows: root, "
                             "then user namespaces, then Landlock), or demand one; none runs "
                             "student code unconfined (trusted code only); with "
                             "--scheduler, each Dask worker chooses its own")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="grade on the Dask cluster of this scheduler (tcp://host:8786; "
                             "default: Dask's configuration, DASK_SCHEDULER_ADDRESS) instead of "
                             "local processes")
    course_dir(parser)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["export"]:
        from autograder.record import export
        return export.main(argv[1:])
    if argv[:1] == ["import"]:
        from autograder.intake import lms
        return lms.main(argv[1:])
    if argv[:1] == ["serve"]:
        from autograder.serve import command
        return command.main(argv[1:])
    cli = parser()
    args = cli.parse_args(argv)
    submissions, out = Path(args.submissions), Path(args.out)
    if not submissions.exists():
        cli.error(f"SUBMISSIONS {submissions} does not exist: give the folder of submissions "
                  "(<student_id>/<assignment>/<notebook>.ipynb) or a .zip of one")
    if out.exists() and not out.is_dir():
        cli.error(f"--out {out} is a file: give a folder")
    if not Path(args.course).is_dir():
        cli.error(f"--course {args.course} is not a folder")

    from autograder.run.cluster import scheduler_address
    scheduler = scheduler_address(args.scheduler)
    if scheduler:   # the workers' machines, not this one, decide (each record names its layer)
        layer = args.isolation
        print(f"autograde: sandbox: --isolation {layer} on each worker of the Dask cluster "
              f"at {scheduler}", file=sys.stderr, flush=True)
    else:
        from autograder.run import lifecycle
        try:
            layer = lifecycle.start_local_grading(args.isolation)
        except isolation.Unavailable as error:
            print(f"autograde: error: {error}", file=sys.stderr)
            return 1
    from autograder.run.coordinator import GraderError, Interrupted, run
    try:
        summary = run(submissions, out, course_root=args.course, assignments=args.assignment,
                      students=args.student, force=args.force, workers=args.workers,
                      cell_timeout=args.timeout, db_url=args.db, isolation=layer,
                      scheduler=scheduler)
    except Interrupted as stop:
        print(f"autograde: {stop}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("autograde: interrupted before grading started", file=sys.stderr)
        return 130
    except GraderError as error:
        print(f"autograde: error: {error}", file=sys.stderr)
        return 1
    print(describe(summary, out))
    return 0


def describe(summary, out):
    """A few lines for the instructor: what was graded, what to look at, where the files are.
    Each count means what it means in the report and the gradebook (``results.counts``)."""
    from autograder.report import sections
    counts = results.counts(summary.records)
    stopped = sum(sections.outcome(cell) == "crashed"
                  for record in filter(results.is_submission, summary.records)
                  for notebook in record["notebooks"] for cell in notebook["cells"]
                  if cell["kind"] == results.AUTOGRADED)
    lines = [f"{counts['submissions']} submissions: {counts['graded']} graded "
             f"({counts['flagged']} of them flagged for a human), "
             f"{counts[results.UNUSABLE]} unusable, {counts[results.GRADER_FAULT]} grader "
             f"faults (these score 0, flagged in the gradebook); "
             f"{counts[results.NOT_SUBMITTED]} chapters not submitted (0 in grades.csv, not "
             "submissions)",
             f"{stopped} test cells crashed or timed out (0 for that test; in the report)",
             f"this run sent {summary.graded} submissions to the grader; {summary.skipped} "
             "were unchanged since the last run"]
    if summary.ignored:
        lines.append(f"{len(summary.ignored)} inputs ignored (all in the report):")
        lines += [f"  {line}" for line in summary.ignored.lines()]
    lines += [f"grades:   {out / 'grades.csv'}", f"cells:    {out / 'cells.csv'}",
              f"feedback: {out / 'feedback'}/<student_id>/<assignment>/",
              f"report:   {out / 'report.html'}"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
