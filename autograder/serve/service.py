"""The warm grading service (``autograde serve``; its command line is ``command``, its HTTP
API ``web``): the durable ``queue`` of accepted submissions, the batch's pool of warm workers
(``autograder.run.pool``: forked from the forkserver that imported the grader, each with its
sandbox template warm) grading them with the batch's engine (``autograder.engine.job.grade``),
and ``recording`` (in one recorder thread) recording each as ``autograde`` does. The
submission that counts (``policy``) is also put in ``submitted/<student>/<assignment>/``, as
``nbgrader collect`` does, so a later ``autograde submitted`` finds it graded and the
formgrader shows it.

The order of grading: the oldest submission of a student with nothing being graded (one
student's burst does not hold the others up); after a worker died, each submission it held
is graded again alone, so only the culprit fails.
"""
import asyncio
import functools
import json
import logging
import shutil
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timezone
from pathlib import Path

from autograder import GraderError
from autograder.intake.names import id_problem
from autograder.serve.queue import FAILED, QUEUED, Queue, Refused
from autograder.serve.recording import Recording

log = logging.getLogger("autograde.serve")


class Service:
    """The queue, the warm pool and the recorder of one course (see the module)."""

    def __init__(self, course_root, out, state, *, db_url=None, workers=2, cell_timeout=30.0,
                 isolation="auto"):
        from autograder.coursedir import CourseDir
        from autograder.record.journal import Journal
        self.course, self.out, self.state = CourseDir(Path(course_root).resolve()), \
            Path(out).resolve(), Path(state).resolve()
        self.workers, self.cell_timeout, self.isolation = workers, cell_timeout, isolation
        self.released = self.course.released()
        if not self.released:
            raise GraderError(f"no release found in {self.course.root / 'release'}: release "
                              "the assignments first, or point --course at the course")
        self.queue = Queue(self.state / "queue.db")
        self.books = Recording(self.course, self.released, self.out, db_url,
                               Journal.of_grading(self.out, self.course, cell_timeout), self.queue)
        self.recording = ThreadPoolExecutor(1, thread_name_prefix="record")
        self.pending, self.suspects, self.in_flight = deque(), deque(), {}
        self.strikes, self.alone = {}, False
        self.waiters = {}
        self.pool, self.wakeup, self.warming, self.stopping = None, None, None, False

    @property
    def policies(self):
        return self.books.policies

    # -- start and stop -------------------------------------------------------------------

    async def start(self):
        """Start warming the pool, open the recorder, queue what a killed service left. The
        submissions are accepted from then on, and graded once the workers are warm
        (``warming``: done then, or raises why they could not start)."""
        loop = asyncio.get_running_loop()
        self.wakeup = asyncio.Event()
        self.pool = self._new_pool()
        await loop.run_in_executor(self.recording, self.books.open)
        for row in self.queue.rows(state=QUEUED):
            done = await loop.run_in_executor(self.recording, self.books.recover, row)
            if not done:
                self.pending.append(row)
        self.warming = asyncio.ensure_future(self._warm())

    async def _warm(self):
        await asyncio.get_running_loop().run_in_executor(None, self._wait_warm)
        self.dispatcher = asyncio.ensure_future(self._dispatch())
        log.info("ready: %d workers warm, %d submissions queued", self.workers, len(self.pending))

    @property
    def warm(self):
        return self.warming is not None and self.warming.done() and not self.warming.exception()

    def _new_pool(self):
        from autograder.run import pool
        from autograder.engine import job as engine
        return pool.LocalPool(self.workers, engine.grade,
                              functools.partial(engine.warm_up, self.isolation))

    def _wait_warm(self):
        for future in self.pool.pool.ready:
            future.exception()   # waits
        self.pool.pool.check_started()

    async def stop(self):
        """Stop grading (what was running stays queued for the next start), write the CSVs
        and the report, close the gradebook."""
        self.stopping = True
        if self.pool is not None:
            self.pool.close()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.recording, self.books.close)
        self.recording.shutdown()

    # -- accept ---------------------------------------------------------------------------

    def accept(self, user, body, key):
        """Accept the request ``body`` of ``user``: ``(row, new)``; raises ``Refused``."""
        assignment = body.get("assignment")
        if assignment not in self.released:
            raise Refused(400, f"{assignment!r} is not an assignment of this course "
                               f"(released: {', '.join(self.released)})")
        student = body.get("student") or user.name
        if student != user.name and not user.grader:
            raise Refused(403, f"you are {user.name}: you can submit only as yourself")
        problem = id_problem(student)
        if problem or "/" in student or student.startswith("."):
            raise Refused(400, f"the student id {student!r} cannot be used: "
                               f"{problem or 'it holds a / or starts with a dot'}")
        if body.get("from_submitted"):
            if not user.grader:
                raise Refused(403, "only a grader can grade a collected submission")
            write = functools.partial(self._copy_submitted, student, assignment)
        else:
            write = functools.partial(self._write_notebooks, assignment, body.get("notebooks"))
        row, new = self.queue.accept(student, assignment, key, user.name, write,
                                     self.policies[assignment], limited=not user.grader)
        if new:
            self.pending.append(row)
            self.wakeup.set()
        return row, new

    def _write_notebooks(self, assignment, notebooks, folder):
        stems = self.released[assignment]
        if not isinstance(notebooks, dict) or not notebooks:
            raise Refused(400, f"no notebook sent: send {assignment}'s "
                               f"{', '.join(s + '.ipynb' for s in stems)}")
        unknown = sorted(set(notebooks) - set(stems))
        if unknown:
            raise Refused(400, f"{', '.join(unknown)} is not a notebook of {assignment} "
                               f"(its notebooks: {', '.join(stems)})")
        if not all(isinstance(nb, dict) for nb in notebooks.values()):
            raise Refused(400, "a notebook must be sent as its JSON (an .ipynb file's content)")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for stem, nb in notebooks.items():
            (folder / f"{stem}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
        (folder / "timestamp.txt").write_text(
            datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC"))

    def _copy_submitted(self, student, assignment, folder):
        collected = self.course.root / "submitted" / student / assignment
        if not collected.is_dir():
            raise Refused(404, f"no collected submission {collected}")
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(collected, folder, symlinks=True)

    # -- grade ----------------------------------------------------------------------------

    async def _dispatch(self):
        while True:
            while len(self.in_flight) < 2 * self.workers and not self.alone:
                row = self._next()
                if row is None:
                    break
                self._submit(row)
            self.wakeup.clear()
            await self.wakeup.wait()

    def _next(self):
        """The next row to grade: a suspect of a broken pool alone, once nothing else runs;
        else the oldest of a student with nothing being graded (one student's rush does not
        hold the others up), else the oldest."""
        if self.suspects:
            if self.in_flight:
                return None
            self.alone = True
            return self.suspects.popleft()
        busy = {row["student"] for row in self.in_flight.values()}
        for row in self.pending:
            if row["student"] not in busy:
                self.pending.remove(row)
                return row
        return self.pending.popleft() if self.pending else None

    def _job(self, row):
        from autograder.engine.job import Job
        return Job(student_id=row["student"], assignment=row["assignment"],
                   submission=str(self.queue.folder(row["id"])),
                   release=str(self.course.release(row["assignment"])),
                   source=str(self.course.source(row["assignment"])),
                   cell_timeout=self.cell_timeout)

    def _submit(self, row):
        from autograder.run import pool
        try:
            future = self.pool.pool.submit(self.pool.grade, self._job(row))
        except BrokenProcessPool:
            self.pool.pool = pool.Pool(self.workers, self.pool.warm_up)
            future = self.pool.pool.submit(self.pool.grade, self._job(row))
        self.in_flight[future] = row
        asyncio.wrap_future(future).add_done_callback(functools.partial(self._graded, future))

    def _graded(self, future, _):
        from autograder.run import pool
        row = self.in_flight.pop(future)
        alone, self.alone = self.alone, False
        error = None if future.cancelled() else future.exception()
        if future.cancelled() or self.stopping:
            return     # it stays queued for the next start
        if isinstance(error, BrokenProcessPool):
            if self.pool.pool is not None and getattr(self.pool.pool, "_broken", False):
                self.pool.pool = pool.Pool(self.workers, self.pool.warm_up)
            self.strikes[row["id"]] = self.strikes.get(row["id"], 0) + 1
            if alone or self.strikes[row["id"]] > 1:
                self._record_later(row, None, "the grading process died on this submission")
            else:
                self.suspects.append(row)
        elif error is not None:
            self._record_later(row, None, f"the grader failed: {type(error).__name__}: {error}")
        else:
            self._record_later(row, future.result(), None)
        self.wakeup.set()

    def _record_later(self, row, record, failure):
        loop = asyncio.get_running_loop()
        loop.run_in_executor(self.recording, self._record, row, record, failure, loop)

    def _record(self, row, record, failure, loop):
        """(recorder thread) Record ``row`` and write its verdict; tell the waiting clients
        (on ``loop``), then rewrite the CSVs and the report if it is time."""
        self.books.record(row, record, failure)
        loop.call_soon_threadsafe(self._notify, row["id"])
        try:
            self.books.report(idle=not (self.pending or self.in_flight or self.suspects))
        except GraderError as error:
            log.error("the CSVs and the report could not be written: %s", error)

    # -- verdicts -------------------------------------------------------------------------

    def _notify(self, submission_id):
        for waiter in self.waiters.pop(submission_id, []):
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, submission_id, seconds):
        """The row of ``submission_id`` once graded, or after ``seconds``."""
        row = self.queue.get(submission_id)
        if row["state"] != QUEUED or seconds <= 0:
            return row
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.setdefault(submission_id, []).append(waiter)
        row = self.queue.get(submission_id)   # graded meanwhile?
        if row["state"] == QUEUED:
            try:
                await asyncio.wait_for(asyncio.shield(waiter), seconds)
            except asyncio.TimeoutError:
                pass
            row = self.queue.get(submission_id)
        return row

    def view(self, row):
        """What the API shows of a row (its attempt number among the student's, too)."""
        policy = self.policies[row["assignment"]]
        mine = [r for r in self.queue.rows(row["student"], row["assignment"])
                if r["limited"] and r["state"] != FAILED]
        return {"id": row["id"], "student": row["student"], "assignment": row["assignment"],
                "state": row["state"], "received": row["received"], "late": bool(row["late"]),
                "counted": bool(row["counted"]), "attempts_used": len(mine),
                "attempts": policy.attempts, "counts": policy.counts,
                "verdict": json.loads(row["verdict"]) if row["verdict"] else None}
