"""The process pool that grades, and its recovery from a worker that dies.

Workers are forked from a forkserver that imported the grader once; each runs the grader's
``warm_up`` as it starts. A worker that dies breaks the pool: a new pool takes the unfinished
jobs, and the jobs that were running are graded again alone, so only the culprit fails.
"""
import functools
import multiprocessing
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from tqdm import tqdm

from autograder import GraderError
from autograder.run import lifecycle
from autograder.record import feedback


class LocalPool:
    """Grading on this machine: ``workers`` processes, started now (each runs ``warm_up`` in
    the background, while the coordinator sets the gradebook up), each job graded by
    ``grade`` then ``feedback.finish``. The same interface as ``autograder.run.cluster.DaskPool``:
    ``grade_all`` then ``close`` (or ``with``)."""

    def __init__(self, workers, grade, warm_up):
        self.workers, self.warm_up = workers, warm_up
        self.grade = functools.partial(feedback.grade_and_finish, grade)
        self.pool = Pool(workers, warm_up)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Stop the workers (a worker finishes the submission at hand, its record dropped)."""
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)

    def grade_all(self, jobs, on_result, on_failure, progress=True):
        """Grade ``jobs``, calling ``on_result(job, record)`` in this process as each record
        arrives, and ``on_failure(job, reason)`` for a job the grader itself failed on. If a
        worker process dies, a new pool takes the unfinished jobs; the ones that may have
        killed it are graded again alone, so that only the culprit fails."""
        bar = tqdm(total=len(jobs), unit="submission", desc="grading",
                   disable=not progress or None)
        strikes = dict.fromkeys(jobs, 0)
        try:
            remaining = list(jobs)
            while remaining:
                self.pool = self.pool or Pool(self.workers, self.warm_up)
                unfinished, suspects = _pool_round(remaining, self.pool, self.grade, on_result,
                                                   on_failure, bar)
                self.pool = None
                for job in unfinished:
                    strikes[job] += 1
                alone = [job for job in unfinished if job in suspects or strikes[job] > 1]
                remaining = [job for job in unfinished if job not in alone]
                for job in alone:
                    if _pool_round([job], Pool(1, self.warm_up), self.grade, on_result,
                                   on_failure, bar)[0]:
                        on_failure(job, "the grading process died on this submission")
                        bar.update()
        finally:
            bar.close()


class Pool(ProcessPoolExecutor):
    """A pool of ``workers`` processes forked from the forkserver, started now: each runs
    ``warm_up`` in the background."""

    def __init__(self, workers, warm_up):
        super().__init__(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"),
                         initializer=_start_worker, initargs=(warm_up,))
        # A pool starts a worker per task submitted, up to max_workers.
        self.ready = [self.submit(_ready) for _ in range(workers)]

    def check_started(self):
        """Raise ``GraderError`` if no worker ever came up (``warm_up`` failed)."""
        if not any(f.done() and not f.cancelled() and f.exception() is None for f in self.ready):
            raise GraderError("the grading workers could not start (the error is above): "
                              "the grader cannot run on this machine as it is")


def _ready():
    """Nothing: the task that makes a pool start a worker."""


def _pool_round(jobs, pool, grade, on_result, on_failure, bar):
    """Grade ``jobs`` in ``pool`` (shut down at the end). If a worker dies the pool breaks:
    returns the unfinished jobs and, of those, the ones that were running (may have killed it)."""
    with pool:
        try:
            try:
                futures = {pool.submit(grade, job): job for job in jobs}
            except BrokenProcessPool:   # broke before the jobs were in: all unfinished
                pool.check_started()
                return list(jobs), set()
            pending, broken, running = set(futures), [], set()
            while pending:
                running = {future for future in pending if future.running()}
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                # Record every result that arrived before acting on a Ctrl-C among them.
                for future in sorted(finished, key=_interrupted):
                    if isinstance(future.exception(), BrokenProcessPool):
                        broken.append(future)
                    else:
                        _report(future, futures[future], on_result, on_failure)
                        bar.update()
            if broken:
                pool.check_started()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return [futures[f] for f in broken], {futures[f] for f in broken if f in running}


def _start_worker(warm_up):
    """Pool initializer: die with the forkserver (so with the coordinator); Ctrl-C is for the
    coordinator (which stops the pool: a worker finishes the submission at hand, its record is
    dropped); then the grader's own ``warm_up``."""
    lifecycle.die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if warm_up is not None:
        warm_up()


def _interrupted(future):
    return isinstance(future.exception(), KeyboardInterrupt)


def _report(future, job, on_result, on_failure):
    """Pass a finished future's record to ``on_result``, a grader exception to ``on_failure``."""
    error = future.exception()
    if isinstance(error, KeyboardInterrupt):
        raise KeyboardInterrupt
    if error is not None:
        on_failure(job, f"the grader failed: {type(error).__name__}: {error}")
    else:
        on_result(job, future.result())
