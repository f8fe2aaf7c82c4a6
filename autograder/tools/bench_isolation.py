"""``make bench-isolation``: the cost of one graded notebook in each isolation layer.

A benchmark, not a test. Each layer grades the same notebooks (every chapter's answer key,
``--rounds`` times) in one warm worker, in its own process: root (when run as root), an
ordinary user (user namespaces), an ordinary user whose user namespaces are blocked as
Docker's seccomp profile blocks them (Landlock); as root, the ordinary user is the tests'
(``tests/as_user.py``). It prints seconds per notebook (wall time of ``grade``, the
template already warm), the part spent forking and setting up sandboxes, and each layer's
cost beside root's (or the first layer's).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.coursedir import ROOT, CourseDir, chapters

USER_LAYERS = {"userns": [], "landlock": ["--no-userns"]}


def measure(layer, rounds, folder):
    """Grade every chapter's answer key ``rounds`` times under ``layer``: per-notebook
    ``{"seconds": [...], "fork": [...], "scores": [...]}``."""
    from autograder.engine import job
    from autograder.tools import demo
    job.warm_up(layer)
    result = {"layer": job.isolation_layer(), "seconds": [], "fork": [], "scores": []}
    course = CourseDir()
    for assignment in chapters():
        release = next(course.release(assignment).glob("*.ipynb"))
        source = course.source(assignment) / release.name
        submission = Path(folder) / assignment
        submission.mkdir()
        (submission / release.name).write_text(demo.submission(
            "complete", json.loads(release.read_text()), json.loads(source.read_text())))
        for _ in range(rounds):
            started = time.perf_counter()
            record = job.grade(job.Job("bench", assignment, str(submission),
                                       str(course.release(assignment)),
                                       str(course.source(assignment))))
            result["seconds"].append(time.perf_counter() - started)
            result["fork"].append(record["timings"]["fork"])
            result["scores"].append(record["score"])
    return result


def _run_layer(layer, rounds, out):
    argv = [sys.executable, "-m", "autograder.tools.bench_isolation", "--layer", layer,
            "--rounds", str(rounds), "--json", str(out)]
    if layer in USER_LAYERS and (os.geteuid() == 0 or USER_LAYERS[layer]):
        argv = [sys.executable, "-m", "tests.as_user", *USER_LAYERS[layer], "--", *argv]
    completed = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if completed.returncode != 0 or not out.exists():
        return None, (completed.stderr.strip().splitlines() or ["(no output)"])[-1]
    return json.loads(out.read_text()), None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="gradings of each chapter")
    parser.add_argument("--layer", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.layer:
        with tempfile.TemporaryDirectory(prefix="autograde-bench-") as folder:
            Path(args.json).write_text(json.dumps(measure(args.layer, args.rounds, folder)))
        return
    layers = (["root"] if os.geteuid() == 0 else []) + list(USER_LAYERS)
    print(f"{len(chapters())} chapters x {args.rounds} rounds per layer, one warm worker; "
          "seconds per graded notebook", flush=True)
    print(f"{'layer':<10}{'median':>9}{'mean':>9}{'sandbox setup':>15}{'vs first':>10}  score")
    base = None
    with tempfile.TemporaryDirectory(prefix="autograde-bench-out-") as out:
        os.chmod(out, 0o777)
        for layer in layers:
            result, failure = _run_layer(layer, args.rounds, Path(out) / f"{layer}.json")
            if result is None:
                print(f"{layer:<10} unavailable: {failure}")
                continue
            median = statistics.median(result["seconds"])
            base = base or median
            print(f"{result['layer']:<10}{median:>9.3f}{statistics.mean(result['seconds']):>9.3f}"
                  f"{statistics.mean(result['fork']):>15.3f}{100 * (median / base - 1):>+9.0f}%"
                  f"  {sorted(set(result['scores']))}", flush=True)


if __name__ == "__main__":
    main()
