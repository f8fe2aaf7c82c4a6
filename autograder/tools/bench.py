"""``make bench``: stock ``nbgrader autograde`` against ``autograde`` on the same sample class.

A benchmark, not a test. In one run on this machine it builds a class (``--students``, default
20, x every chapter with a source notebook; a mix of complete, partial, partly wrong and blank
submissions, made by ``autograder.tools.demo``), grades it

1. with stock nbgrader as its documentation describes: a scratch copy of the course,
   ``nbgrader generate_assignment`` (setup, not timed), the submissions in ``submitted/``, then
   ``nbgrader autograde <assignment>`` for every assignment (timed);
2. with ``autograde`` (the coordinator, ``--workers`` processes) on a second scratch copy that
   starts from the same gradebook (timed),

and prints both wall times, the ratio, whether every cell's score is identical in the two
gradebooks, and where the time goes (kernel start and imports, student code, tests, gradebook).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.coursedir import ROOT, CourseDir, chapters
from autograder.tools import demo

#: The sample class cycles through these kinds, shifted by one per chapter.
BENCH_KINDS = ("complete", "partial", "partly_wrong", "blank")


def bench_class(students, assignments):
    """``{(student_id, assignment): kind}`` of ``students`` students x ``assignments``."""
    return {(f"s{index + 1:02d}", assignment): BENCH_KINDS[(index + chapter) % len(BENCH_KINDS)]
            for index in range(students) for chapter, assignment in enumerate(assignments)}


def _course_copy(target, assignments):
    """A scratch course directory: the config (with nbgrader's stock autograde, run on the
    sample class: trusted code) and the chapters' source notebooks."""
    from autograder.nbgrader_safe import stock_config
    target.mkdir(parents=True)
    (target / "nbgrader_config.py").write_text(stock_config(ROOT / "nbgrader_config.py"))
    for assignment in assignments:
        shutil.copytree(CourseDir().source(assignment), CourseDir(target).source(assignment))
    return target


def _nbgrader(args, course, log):
    """Run the nbgrader CLI in ``course`` (as its docs describe); its wall time in seconds."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    started = time.perf_counter()
    with open(log, "a") as output:
        subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                       stdout=output, stderr=subprocess.STDOUT, check=True)
    return time.perf_counter() - started


def kernel_start_and_imports(release_notebook, repeat=3):
    """Seconds for a fresh kernel to start and run the chapter's first code cell (its imports):
    what stock nbgrader pays for every notebook before any student code runs."""
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(release_notebook, as_version=4)
    nb.cells = [next(cell for cell in nb.cells if cell.cell_type == "code")]
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        NotebookClient(nb, timeout=120, kernel_name="python3").execute(stderr=subprocess.DEVNULL)
        seconds.append(time.perf_counter() - started)
    return min(seconds)


def cell_scores(course):
    """``{(student, assignment, notebook, grade_id): auto_score}`` of a course's gradebook."""
    from autograder.record.gradebook import CourseGradebook
    with CourseGradebook(course) as book:
        return {(student, assignment, notebook, grade_id): score
                for (student, assignment), notebooks in book.submissions().items()
                for notebook, cells in notebooks.items()
                for grade_id, (score, _) in cells.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--timeout", type=float, default=30.0, help="autograde's cell timeout")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)
    from autograder.run.coordinator import run

    assignments = chapters()
    if not assignments:
        sys.exit("no chapter has a source notebook yet (source/<assignment>/*.ipynb)")
    scratch = Path(tempfile.mkdtemp(prefix="autograde-bench-"))
    log = scratch / "nbgrader.log"
    kinds = bench_class(args.students, assignments)
    notebooks = len(kinds)
    print(f"{args.students} students x {len(assignments)} chapters = {notebooks} notebooks "
          f"({', '.join(BENCH_KINDS)}); scratch: {scratch}", flush=True)
    try:
        stock = _course_copy(scratch / "stock", assignments)
        for assignment in assignments:
            _nbgrader(["generate_assignment", assignment, "--force"], stock, log)
        demo.write_class(stock / "submitted", kinds, course_root=stock)
        ours = _course_copy(scratch / "ours", assignments)
        shutil.copytree(stock / "release", ours / "release")
        shutil.copy(stock / "gradebook.db", ours / "gradebook.db")   # the same starting point

        print("grading with stock nbgrader autograde ...", flush=True)
        stock_seconds = {a: _nbgrader(["autograde", a], stock, log) for a in assignments}
        stock_total = sum(stock_seconds.values())
        print(f"  {stock_total:.1f} s", flush=True)

        print(f"grading with autograde ({args.workers} workers) ...", flush=True)
        started = time.perf_counter()
        summary = run(stock / "submitted", scratch / "out", course_root=ours,
                      workers=args.workers, cell_timeout=args.timeout)
        ours_total = time.perf_counter() - started
        print(f"  {ours_total:.1f} s", flush=True)

        imports = kernel_start_and_imports(next(CourseDir(stock).release(assignments[0]).glob(
            "*.ipynb")))
        report(stock_total, ours_total, notebooks, imports, summary, args.workers,
               cell_scores(stock), cell_scores(ours))
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def report(stock_total, ours_total, notebooks, imports, summary, workers, stock, ours):
    """Print the figures: wall times, ratio, identical scores, where the time goes."""
    per_stock, per_ours = stock_total / notebooks, ours_total / notebooks
    print()
    print(f"stock nbgrader autograde: {stock_total:8.1f} s  ({per_stock:.2f} s per notebook, "
          "one kernel per notebook, serial)")
    print(f"autograde, {workers} workers:    {ours_total:8.1f} s  ({per_ours:.2f} s per notebook)")
    print(f"speed-up: {stock_total / ours_total:.1f}x  (goal: at least 20x)")
    mismatched = sorted(key for key in stock.keys() | ours.keys()
                        if stock.get(key) != ours.get(key))
    print(f"scores identical: {'yes' if not mismatched else 'NO'} "
          f"({len(stock.keys() & ours.keys()) - len(mismatched)} of {len(stock)} graded cells "
          f"agree)")
    for key in mismatched[:20]:
        print(f"  {'/'.join(key)}: stock {stock.get(key)}, autograde {ours.get(key)}")
    timings = [r["timings"] for r in summary.records if r.get("timings")]
    print()
    print("where the time goes")
    print(f"  stock, per notebook: {per_stock:.2f} s, of which a fresh kernel starting and "
          f"importing the chapter's modules: {imports:.2f} s ({100 * imports / per_stock:.0f}%)")
    if timings:
        parts = {key: statistics.fmean(t.get(key, 0.0) for t in timings)
                 for key in ("fork", "student_code", "tests", "total", "finish")}
        print(f"  autograde, per notebook in a worker: {parts['total']:.2f} s = sandbox fork "
              f"{parts['fork']:.2f} s + student code {parts['student_code']:.2f} s + tests "
              f"{parts['tests']:.2f} s (+ reading, merging, checks); then the feedback page and "
              f"grades {parts['finish']:.2f} s")
        busy = sum(t.get("total", 0.0) + t.get("finish", 0.0) for t in timings) / workers
        print(f"  autograde, workers busy {busy:.1f} s of {ours_total:.1f} s wall each; the rest: "
              "starting the pool (torch imported once), waiting for the coordinator")
    seconds = summary.seconds
    if "first result" in seconds:
        first = seconds["collect+setup"] + seconds["first result"]
        print(f"  autograde, start-up: the first record {first:.1f} s after the run began (the "
              "forkserver's imports, then each worker's sandbox template)")
    print("  autograde, coordinator: " + ", ".join(
        f"{name} {seconds[name]:.1f} s" for name in
        ("record: gradebook", "record: files", "csv+report") if name in seconds)
        + f" (collect + gradebook setup {seconds.get('collect+setup', 0):.1f} s)")
    recording = seconds.get("record: gradebook", 0) + seconds.get("record: files", 0)
    print(f"  coordinator's share of the wall time: {100 * recording / ours_total:.1f}% recording "
          f"(while the workers grade), {100 * seconds.get('csv+report', 0) / ours_total:.1f}% "
          f"CSVs and report, {100 * seconds.get('collect+setup', 0) / ours_total:.1f}% collect "
          "and gradebook set-up")
    print(json.dumps({"notebooks": notebooks, "stock_seconds": round(stock_total, 1),
                      "autograde_seconds": round(ours_total, 1),
                      "speedup": round(stock_total / ours_total, 1),
                      "identical": not mismatched}))


if __name__ == "__main__":
    main()
