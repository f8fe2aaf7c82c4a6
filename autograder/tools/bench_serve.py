"""``make bench-serve``: the grading service's latency and throughput (a benchmark: it prints
numbers, it asserts nothing).

In a scratch course (one chapter's release and source, no attempt limit) it starts
``autograde serve`` on loopback, then measures, in the client (``course.submit``: submit, then
wait for the verdict):

1. ``one_at_a_time``: one student submitting the chapter notebook ``--warm`` times, each after
   the verdict of the one before (the warm service, after one untimed submission);
2. ``rush``: ``--students`` students submitting ``--each`` notebooks each (right and partly
   wrong answers), the submissions spread over ``--rush-seconds`` in random order, each client
   waiting for its own verdict;
3. ``batch``: ``autograde`` (the batch pool) on the rush's last submission of each student, for
   its throughput on the same machine.

It prints one JSON line: for each phase ``p50_s``, ``p95_s``, ``p99_s``, ``submitted``,
``graded``, ``lost`` (accepted, never given a verdict), ``per_second`` (verdicts a second, from
the first submission to the last verdict), the service's memory (its process tree's
proportional set size, MB) after the warm phase, at the rush's peak and after it, and the
machine's load average when the service was up (other jobs slow every figure).
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from autograder.coursedir import ROOT, CourseDir
from autograder.tools.submissions import fill, key_code
from course.submit import ServiceError, request, submit


def scratch_course(root, chapter):
    """A course of one ``chapter`` (release and source) with the repository's configuration
    and no limit on checked submissions."""
    for kind in ("release", "source"):
        shutil.copytree(ROOT / kind / chapter, root / kind / chapter)
    (root / "nbgrader_config.py").write_text(
        (ROOT / "nbgrader_config.py").read_text()
        + '\nc.AutogradeServe.policies = {"*": {"attempts": None}}\n')
    return root


def notebooks(course, chapter):
    """``(stem, right notebook, partly wrong notebook)`` of the chapter's first notebook."""
    stem = CourseDir(course).released()[chapter][0]
    release = json.loads((course / "release" / chapter / f"{stem}.ipynb").read_text())
    answers = key_code(json.loads((course / "source" / chapter / f"{stem}.ipynb").read_text()))
    partly = dict(answers, **{next(iter(answers)): None})   # the first answer left blank
    return stem, fill(release, answers), fill(release, partly)


def tokens(course, users):
    path = course.parent / "tokens.json"
    from autograder.serve.identity import Tokens
    book = Tokens(path)
    return path, {user: book.issue(user) for user in users}


def start(course, tokens_file, workers, log):
    info = course / "serve" / "service.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "autograder.cli", "serve", "--course", str(course),
         "--tokens", str(tokens_file), "--port", "0", "--workers", str(workers)],
        stdout=log, stderr=subprocess.STDOUT)
    url = None
    while url is None or not request("GET", f"{url}api/health", None)["warm"]:
        if process.poll() is not None:
            raise SystemExit(f"bench-serve: the service did not start (see {log.name})")
        time.sleep(0.2)
        if url is None and info.exists():
            url = json.loads(info.read_text())["url"]
    return process, url


def memory_mb(pid):
    """The memory of the process ``pid`` and its descendants, MB: the sum of their
    proportional set sizes (a page shared by forked processes counted once in all)."""
    try:
        tree = psutil.Process(pid)
        members = [tree] + tree.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for member in members:
        try:
            total += member.memory_full_info().pss
        except psutil.NoSuchProcess:
            pass
    return round(total / 2**20, 1)


def sample(pid, done, samples):
    """``memory_mb(pid)`` every second into ``samples`` until ``done`` is set."""
    while not done.is_set():
        samples.append(memory_mb(pid))
        time.sleep(1)


def figures(latencies, submitted, graded, seconds):
    ordered = sorted(latencies) or [float("nan")]

    def at(fraction):
        return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 3)
    return {"p50_s": round(statistics.median(ordered), 3), "p95_s": at(0.95), "p99_s": at(0.99),
            "submitted": submitted, "graded": graded, "lost": submitted - graded,
            "per_second": round(graded / seconds, 2) if seconds else None}


def one_at_a_time(url, token, chapter, stem, nb, count):
    submit(chapter, {stem: nb}, url=url, token=token)   # untimed: each worker's first
    latencies = []
    started = time.perf_counter()
    for _ in range(count):
        begin = time.perf_counter()
        if submit(chapter, {stem: nb}, url=url, token=token)["state"] == "done":
            latencies.append(time.perf_counter() - begin)
    return figures(latencies, count, len(latencies), time.perf_counter() - started)


def rush(url, issued, chapter, stem, good, wrong, each, seconds, finished):
    """Every student's ``each`` submissions at random times within ``seconds``."""
    plan = [(student, n) for student in issued for n in range(each)]
    random.Random(26).shuffle(plan)
    started = time.perf_counter()
    latencies, outcome, ends = [], {"submitted": 0, "graded": 0}, []
    lock = threading.Lock()

    def client(index):
        student, n = plan[index]
        time.sleep(max(0.0, started + seconds * index / len(plan) - time.perf_counter()))
        begin = time.perf_counter()
        try:
            done = submit(chapter, {stem: good if n % 2 == 0 else wrong}, url=url,
                          token=issued[student], timeout=1800)
        except ServiceError as error:
            print(f"bench-serve: {student}: {error}", file=sys.stderr)
            return
        with lock:
            outcome["submitted"] += 1
            if done["state"] == "done":
                outcome["graded"] += 1
                latencies.append(time.perf_counter() - begin)
                ends.append(time.perf_counter())

    with ThreadPoolExecutor(len(plan)) as clients:
        list(clients.map(client, range(len(plan))))
    finished.set()
    return figures(latencies, outcome["submitted"], outcome["graded"],
                   (max(ends) - started) if ends else 0)


def batch(course, chapter, stem, good, wrong, students, workers):
    """The batch pool's throughput on one submission per student (right and wrong)."""
    from autograder.run.coordinator import run
    folder = course.parent / "batch-submissions"
    for index, student in enumerate(students):
        target = folder / student / chapter
        target.mkdir(parents=True)
        (target / f"{stem}.ipynb").write_text(json.dumps(good if index % 2 else wrong))
    started = time.perf_counter()
    summary = run(folder, course.parent / "batch-out", course_root=course, workers=workers,
                  progress=False, db_url=f"sqlite:///{course.parent / 'batch.db'}")
    grading = summary.seconds.get("grade+record", time.perf_counter() - started)
    warm = grading - summary.seconds.get("first result", 0.0)   # after the workers' start-up
    return {"graded": summary.graded, "seconds": round(grading, 2),
            "per_second": round(summary.graded / grading, 2),
            "per_second_warm": round((summary.graded - 1) / warm, 2) if warm > 0 else None}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bench-serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapter", default="02_cross_correlation")
    parser.add_argument("--warm", type=int, default=20, help="one-at-a-time submissions")
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--each", type=int, default=3, help="submissions per student in the rush")
    parser.add_argument("--rush-seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as scratch:
        course = scratch_course(Path(scratch) / "course", args.chapter)
        stem, good, wrong = notebooks(course, args.chapter)
        students = [f"s{n:03d}" for n in range(args.students)]
        tokens_file, issued = tokens(course, ["solo"] + students)
        with open(Path(scratch) / "serve.log", "w") as log:
            begin = time.perf_counter()
            process, url = start(course, tokens_file, args.workers, log)
            result = {"start_s": round(time.perf_counter() - begin, 1), "workers": args.workers,
                      "load_average_1min": os.getloadavg()[0]}
            try:
                result["one_at_a_time"] = one_at_a_time(url, issued["solo"], args.chapter, stem,
                                                        good, args.warm)
                memory = {"after_warm_mb": memory_mb(process.pid)}
                done, samples = threading.Event(), []
                sampler = threading.Thread(target=sample, args=(process.pid, done, samples))
                sampler.start()
                result["rush"] = rush(url, {s: issued[s] for s in students}, args.chapter, stem,
                                      good, wrong, args.each, args.rush_seconds, done)
                sampler.join()
                memory.update(rush_peak_mb=max(samples, default=0.0),
                              after_rush_mb=memory_mb(process.pid))
                result["memory"] = memory
            finally:
                process.terminate()
                process.wait(120)
        result["batch"] = batch(course, args.chapter, stem, good, wrong, students, args.workers)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
