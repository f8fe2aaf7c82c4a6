"""``make bench-scale``: is the coordinator a bottleneck at cluster scale, and what does Dask cost?

A benchmark, not a test. In one run on this machine:

1. the coordinator alone: a synthetic class of ``--submissions`` (default 10,000) finished
   records (as workers return them: grades, feedback page, autograded notebook) is recorded
   without grading: gradebook (SQLite, batched), feedback and notebook files, journal, then the
   CSVs and the report. Prints the time per submission and the memory curve (RSS);
2. grading throughput: the bench class (``--students`` x every chapter, ``make bench``'s)
   graded by the local pool and by a local Dask cluster with the same number of workers (one
   thread each), cold then warm: whether the grades are identical, the rates and Dask's
   overhead per notebook (in the whole grading phase, and in steady state).

``--errors N`` measures instead the coordinator's time per error record: N submissions whose
notebooks are broken files, collected and recorded as a run does (no worker involved).
"""
import argparse
import copy
import os
import shutil
import tempfile
import time
from pathlib import Path

from autograder.coursedir import ROOT, CourseDir, chapters


def _rss_mb():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def finished_record(course, assignment):
    """A worker's record of a complete submission of ``assignment`` (every test passed)."""
    import json
    from autograder.engine import tamper
    from autograder.record import feedback
    notebooks = []
    for path in sorted(course.release(assignment).glob("*.ipynb")):
        nb = json.loads(path.read_text())
        cells = [{"grade_id": tamper.nbgrader(c)["grade_id"], "kind": "autograded",
                  "points": float(tamper.nbgrader(c)["points"]),
                  "max_points": float(tamper.nbgrader(c)["points"]), "status": "passed",
                  "message": "passed"} for c in nb["cells"] if tamper.is_test(c)]
        notebooks.append({"name": path.stem, "status": "graded", "reason": "", "notebook": nb,
                          "cells": cells})
    score = sum(c["points"] for nb in notebooks for c in nb["cells"])
    return feedback.finish({"student_id": "", "assignment": assignment, "status": "graded",
                            "reason": "", "score": score, "max_score": score, "flags": [],
                            "notebooks": notebooks, "timings": {}})


def course_copy(scratch, assignments):
    """A copy of this course's ``assignments`` (source and release) under ``scratch``."""
    root = scratch / "course"
    root.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for part in ("source", "release"):
        for assignment in assignments:
            shutil.copytree(ROOT / part / assignment, root / part / assignment)
    return CourseDir(root)


def coordinator_at_scale(scratch, submissions):
    """Record ``submissions`` synthetic finished records; prints the cost per submission."""
    from autograder.intake import collect
    from autograder.run.coordinator import write_outputs
    from autograder.record.journal import Journal
    from autograder.record.recorder import Recorder
    assignments = chapters()
    course, out = course_copy(scratch, assignments), scratch / "out"
    templates = {a: finished_record(course, a) for a in assignments}
    journal = Journal(out, course, {"synthetic": True})
    folders = []
    for index in range(submissions):
        assignment = assignments[index % len(assignments)]
        folder = scratch / "submitted" / f"s{index // len(assignments):05d}" / assignment
        folder.mkdir(parents=True)
        for notebook in course.release(assignment).glob("*.ipynb"):
            os.link(notebook, folder / notebook.name)
        folders.append((folder, assignment))
    page = len(templates[assignments[0]]["notebooks"][0]["feedback_html"]) >> 10
    print(f"coordinator alone: {submissions} synthetic submissions recorded without grading "
          f"(SQLite gradebook, feedback pages of {page} KB)", flush=True)
    records, curve = [], []
    with Recorder(course, out, f"sqlite:///{scratch / 'gradebook.db'}", journal,
                  assignments, scratch / "submitted") as recorder:
        start_rss, started, cpu = _rss_mb(), time.perf_counter(), time.process_time()
        for index, (folder, assignment) in enumerate(folders):
            record = copy.copy(templates[assignment])
            record["student_id"] = folder.parent.name
            record["notebooks"] = [dict(nb) for nb in record["notebooks"]]
            records.append(recorder.record(record, folder, journal.key(assignment, folder)))
            if (index + 1) % (submissions // 10 or 1) == 0:
                curve.append((index + 1, _rss_mb() - start_rss))
    recording, cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    write_outputs(out, records, collect.Ignored(), course.root / "release")
    reports = time.perf_counter() - started
    print(f"  recording: {1000 * recording / submissions:.2f} ms per submission, of which CPU "
          f"{1000 * cpu / submissions:.2f} ms (gradebook "
          f"{1000 * recorder.seconds['gradebook'] / submissions:.2f} ms, files "
          f"{1000 * recorder.seconds['files'] / submissions:.2f} ms, the rest the journal); "
          f"CSVs and report at the end: {1000 * reports / submissions:.2f} ms per submission")
    print("  memory (RSS growth, MB) after n submissions: " + ", ".join(
        f"{n}: {mb:.0f}" for n, mb in curve))
    return recording / submissions


def error_records(scratch, submissions):
    """Collect and record ``submissions`` broken-file submissions of the first chapter as
    ``coordinator.run`` does; prints the coordinator's time per error record."""
    from autograder.intake import collect
    from autograder.run import coordinator
    from autograder.record.journal import Journal
    from autograder.record.recorder import Recorder
    assignment = chapters()[0]
    course, out = course_copy(scratch, [assignment]), scratch / "out"
    released = course.released()
    for index in range(submissions):
        folder = scratch / "submitted" / f"s{index:05d}" / assignment
        folder.mkdir(parents=True)
        for stem in released[assignment]:
            (folder / f"{stem}.ipynb").write_text("{ not json")
    started = time.perf_counter()
    batch = collect.collect(scratch / "submitted", released)
    collecting = time.perf_counter() - started
    journal = Journal(out, course, {"synthetic": True})
    with Recorder(course, out, f"sqlite:///{scratch / 'gradebook.db'}", journal,
                  [assignment], scratch / "submitted") as recorder:
        started = time.perf_counter()
        records = [recorder.record(coordinator._error_record(course, found), found.folder,
                                   journal.key(found.assignment, found.folder))
                   for found in batch.unusable]
        recorder.flush()
    recording = time.perf_counter() - started
    started = time.perf_counter()
    coordinator.write_outputs(out, records, collect.Ignored())
    reports = time.perf_counter() - started
    assert len(records) == submissions
    each = {name: 1000 * seconds / submissions for name, seconds in (
        ("collect", collecting), ("record", recording), ("reports", reports),
        ("gradebook", recorder.seconds["gradebook"]))}
    print(f"coordinator, {submissions} error records (broken files, {assignment}): "
          f"{sum(each[k] for k in ('collect', 'record', 'reports')):.1f} ms per error record: "
          f"collect {each['collect']:.1f} ms, record {each['record']:.1f} ms (gradebook "
          f"{each['gradebook']:.1f} ms, the rest the journal), CSVs and report "
          f"{each['reports']:.1f} ms")


def throughput(scratch, students, workers):
    """Grade the bench class with the local pool and twice on a local Dask cluster (cold: its
    workers set the grader up; warm: the grader kept from the run before); prints whether the
    grades are identical, each rate, and Dask's overhead: in the whole grading phase (cold) and
    in steady state (warm, from the first record to the last: the rate a long run on a cluster
    sees once its workers are up)."""
    import distributed
    from autograder.run.coordinator import run
    from autograder.tools import bench, demo
    assignments = chapters()
    folder = scratch / "class"
    demo.write_class(folder, bench.bench_class(students, assignments))
    notebooks = students * len(assignments)
    seconds, cells = {}, {}
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        dask = {"scheduler": cluster.scheduler_address}
        for name, options in (("local pool", {"workers": workers}), ("Dask, cold", dask),
                              ("Dask, warm", dask)):
            out = scratch / name.replace(" ", "-").replace(",", "")
            print(f"grading {notebooks} notebooks, {name}, {workers} workers ...", flush=True)
            started = time.perf_counter()
            summary = run(folder, out, db_url=f"sqlite:///{out}.db", progress=False, **options)
            grading, first = summary.seconds["grade+record"], summary.seconds["first result"]
            steady = (grading - first) / (notebooks - 1)
            print(f"  {time.perf_counter() - started:.1f} s in all, grading {grading:.1f} s "
                  f"({notebooks / grading:.2f} notebooks/s), of which {first:.1f} s to the "
                  f"first record; then {1 / steady:.2f} notebooks/s", flush=True)
            seconds[name] = {"grading": grading / notebooks, "steady": steady}
            cells[name] = {(r["student_id"], r["assignment"], c["grade_id"]):
                           (c["points"], c["status"])
                           for r in summary.records for nb in r["notebooks"] for c in nb["cells"]}
    same = all(found == cells["local pool"] for found in cells.values())
    print(f"grades identical: {'yes' if same else 'NO'} (every cell's points and status, "
          f"{len(cells['local pool'])} cells, in the three runs)")
    for what, dask_run, part in (("the grading phase", "Dask, cold", "grading"),
                                 ("steady state", "Dask, warm", "steady")):
        local, dask = seconds["local pool"][part], seconds[dask_run][part]
        print(f"Dask's overhead, {what}: {1000 * (dask - local):+.0f} ms per notebook "
              f"({100 * (dask / local - 1):+.1f}%)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--students", type=int, default=20,
                        help="for the throughput part (20: make bench's class)")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--skip-grading", action="store_true", help="only the coordinator part")
    parser.add_argument("--errors", type=int, metavar="N",
                        help="only the time per error record, on N broken-file submissions")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="autograde-bench-scale-"))
    try:
        if args.errors:
            return error_records(scratch, args.errors)
        coordinator_at_scale(scratch, args.submissions)
        if not args.skip_grading:
            throughput(scratch, args.students, args.workers)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
