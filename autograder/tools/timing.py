"""Where the engine's time goes: grade sample submissions of every chapter, print the timings.

    python -m autograder.tools.timing [--repeat N] [ASSIGNMENT ...]

For each chapter it grades the answer key's submission and a blank one ``--repeat`` times in
this process (one warm worker, as in the pool) and prints the median of each part of the
record's ``timings``: ``fork`` (sandbox start), ``student_code`` (the cells), ``tests`` (the
hidden tests on proxies, server fork included) and ``total``. This is a measurement, not a
test; ``make bench`` compares whole batches with stock nbgrader.
"""
import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from autograder.coursedir import ROOT, CourseDir, chapters
from autograder.engine import job
from autograder.tools import submissions

PARTS = ("fork", "student_code", "tests", "total")


def sample_submission(assignment, kind, folder, course_root=ROOT, code=None):
    """Write a submission of ``assignment`` into ``folder``; returns its :class:`job.Job`.

    ``kind`` "key": the source notebook's solutions; "blank": the release as it is; with
    ``code`` (``{graded name: source}``) those solution cells are replaced on top of "key".
    """
    course = CourseDir(course_root)
    release, source = course.release(assignment), course.source(assignment)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(release.glob("*.ipynb")):
        answers = submissions.key_code(json.loads((source / path.name).read_text()))
        answers.update(code or {})
        nb = submissions.fill(json.loads(path.read_text()), answers if kind == "key" else {})
        (folder / path.name).write_text(json.dumps(nb))
    return job.Job(student_id=f"{kind}-student", assignment=assignment, submission=str(folder),
                   release=str(release), source=str(source))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    assignments = args.assignments or chapters()
    begin = time.perf_counter()
    job.warm_up()
    print(f"warm-up (torch in the worker, sandbox template started): "
          f"{time.perf_counter() - begin:.1f} s")
    print(f"{'assignment':24} {'kind':6} {'score':>7}  " + "  ".join(f"{p:>12}" for p in PARTS))
    with tempfile.TemporaryDirectory(prefix="timing-") as scratch:
        for assignment in assignments:
            for kind in ("key", "blank"):
                grading = sample_submission(assignment, kind, Path(scratch) / kind / assignment)
                job.grade(grading)  # first use of this chapter's code paths
                records = [job.grade(grading) for _ in range(args.repeat)]
                medians = {p: statistics.median(r["timings"][p] for r in records) for p in PARTS}
                score = f"{records[0]['score']:g}/{records[0]['max_score']:g}"
                print(f"{assignment:24} {kind:6} {score:>7}  "
                      + "  ".join(f"{medians[p]:>10.3f} s" for p in PARTS), flush=True)


if __name__ == "__main__":
    main()
