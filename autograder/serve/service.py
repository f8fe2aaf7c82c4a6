"""``autograde serve``: the warm grading service.

    autograde serve [--course DIR] [--out OUT] [--state DIR] [--port 8787] [--workers N]
                    [--timeout SECONDS] [--db URL] [--isolation ...] (--tokens FILE | --hub)
    autograde serve token USER [--grader] --tokens FILE     (prints USER's new token)

The batch's parts, kept up: the pool's workers (``autograder.run.pool``: forked from the
forkserver that imported the grader, each with its sandbox template warm), the engine
(``autograder.engine.job.grade``) and the recorder (``autograder.record.recorder``: the
gradebook, ``autograded/``, ``OUT/feedback``, the journal ``OUT/records``; the CSVs and the
report rewritten when the queue is empty, or every ``REPORT_SECONDS`` in a rush). The
submission that counts (``policy``) is also put in ``submitted/<student>/<assignment>/``, as
``nbgrader collect`` does, so a later ``autograde submitted`` finds it graded and the
formgrader shows it.

HTTP API (JSON; ``Authorization: token <token>``, see ``identity``):

- ``POST api/submissions`` ``{"assignment", "notebooks": {stem: notebook}}`` (a grader may
  add ``"student"``, and ``"from_submitted": true`` to grade ``submitted/<student>/<assignment>``
  instead), header ``Idempotency-Key``: 202 with the submission; 429/403 when the policy refuses;
- ``GET api/submissions/<id>?wait=SECONDS``: the submission and, once graded, its verdict
  (the wait ends early when it is graded); a student sees only their own (404 otherwise);
- ``GET api/submissions?assignment=A[&student=S]``: a student's own, or everyone's for a grader;
- ``GET api/health``.

Exactly once: a submission leaves the queue (``queue``) only when its verdict is written,
after it was recorded. A service killed in between finds, when it starts again, the journal
entry of the submission's own files (``Journal.lookup``: the key digests them, timestamp
included) and writes the verdict from it without grading again; one killed before recording
grades it again (grading writes nothing).
"""
import argparse
import asyncio
import copy
import functools
import json
import logging
import os
import shutil
import signal
import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timezone
from pathlib import Path

import tornado.netutil
import tornado.web
from tornado.httpserver import HTTPServer

from autograder import GraderError
from autograder.intake.names import Ignored, id_problem
from autograder.record import results
from autograder.serve import identity
from autograder.serve.policy import PolicyError, policies
from autograder.serve.queue import DONE, FAILED, QUEUED, Queue, Refused

log = logging.getLogger("autograde.serve")
MAX_BODY = 32 << 20          # bytes of one request: a few notebooks with their outputs
REPORT_SECONDS = 60.0        # in a rush, the CSVs and the class report rewritten this often
IDLE_REPORT_SECONDS = 5.0    # and when the queue is empty, at most this often
WAIT_MAX = 60.0              # seconds a GET may wait for a verdict


class Service:
    """The queue, the warm pool and the recorder of one course (see the module)."""

    def __init__(self, course_root, out, state, *, db_url=None, workers=2, cell_timeout=30.0,
                 isolation="auto"):
        from autograder.coursedir import CourseDir
        from autograder.record.journal import Journal
        self.course, self.out, self.state = CourseDir(Path(course_root).resolve()), \
            Path(out).resolve(), Path(state).resolve()
        self.db_url, self.workers, self.cell_timeout = db_url, workers, cell_timeout
        self.isolation = isolation
        self.released = self.course.released()
        if not self.released:
            raise GraderError(f"no release found in {self.course.root / 'release'}: release "
                              "the assignments first, or point --course at the course")
        self.queue = Queue(self.state / "queue.db")
        self.journal = Journal.of_grading(self.out, self.course, cell_timeout)
        self.recording = ThreadPoolExecutor(1, thread_name_prefix="record")
        self.recorder, self.policies = None, {}
        self.pending, self.suspects, self.in_flight = deque(), deque(), {}
        self.strikes, self.alone = {}, False
        self.waiters, self.dirty, self.reported = {}, False, 0.0
        self.pool, self.wakeup, self.stopping = None, None, False

    # -- start and stop -------------------------------------------------------------------

    async def start(self):
        """Open the recorder, warm the pool, queue what a killed service left."""
        loop = asyncio.get_running_loop()
        self.wakeup = asyncio.Event()
        self.pool = self._new_pool()
        await loop.run_in_executor(self.recording, self._open)
        await loop.run_in_executor(None, self._wait_warm)
        for row in self.queue.rows(state=QUEUED):
            done = await loop.run_in_executor(self.recording, self._recover, row)
            if not done:
                self.pending.append(row)
        self.dispatcher = asyncio.ensure_future(self._dispatch())
        log.info("ready: %d workers warm, %d submissions queued", self.workers, len(self.pending))

    def _new_pool(self):
        from autograder.run import pool
        from autograder.engine import job as engine
        return pool.LocalPool(self.workers, engine.grade,
                              functools.partial(engine.warm_up, self.isolation))

    def _wait_warm(self):
        for future in self.pool.pool.ready:
            future.exception()   # waits
        self.pool.pool.check_started()

    def _open(self):
        """(recorder thread) The recorder, the policies and the deadlines."""
        from autograder.record.recorder import Recorder
        if self.recorder is not None:
            self.recorder.__exit__(None, None, None)
        self.recorder = Recorder(self.course, self.out, self.db_url, self.journal,
                                 sorted(self.released), self.course.root / "submitted")
        try:
            found = policies(self.recorder.gradebook.config, sorted(self.released))
        except PolicyError as error:
            raise GraderError(str(error)) from None
        self.policies = {a: p if p.deadline else _with_duedate(p, self.recorder, a)
                         for a, p in found.items()}

    async def stop(self):
        """Stop grading (what was running stays queued for the next start), write the CSVs
        and the report, close the gradebook."""
        self.stopping = True
        if self.pool is not None:
            self.pool.close()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.recording, self._close)
        self.recording.shutdown()

    def _close(self):
        if self.recorder is not None:
            self._report(force=True)
            self.recorder.__exit__(None, None, None)
            self.recorder = None

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
        """(recorder thread) Record a graded ``row`` (``record``; or its grader ``failure``),
        then write its verdict: the queue's row last; tell the waiting clients (on ``loop``),
        then rewrite the CSVs and the report if it is time."""
        try:
            self._record_one(row, record, failure)
        except Exception as error:  # noqa: BLE001 (say so to the student; the service goes on)
            log.exception("%s/%s #%d could not be recorded", row["student"], row["assignment"],
                          row["id"])
            self.queue.finish(row["id"], FAILED, {
                "status": results.ERROR, "reason": f"it could not be recorded ({error}); this "
                "did not use an attempt: submit again later"})
        loop.call_soon_threadsafe(self._notify, row["id"])
        try:
            self._report()
        except GraderError as error:
            log.error("the CSVs and the report could not be written: %s", error)

    def _record_one(self, row, record, failure):
        if failure is not None:
            log.error("%s/%s #%d: %s", row["student"], row["assignment"], row["id"], failure)
            self.queue.finish(row["id"], FAILED, {
                "status": results.ERROR, "reason": f"{failure}: this did not use an attempt; "
                "submit again, and tell your instructor if it happens again"})
            return
        started = time.perf_counter()
        policy = self.policies[row["assignment"]]
        counted = not (row["late"] and policy.after_deadline == "feedback") and \
            self.queue.counts(row, record["score"], policy)
        view = verdict(record, policy)
        if counted:
            self._record_counted(row, record)
        self.queue.finish(row["id"], DONE, view, counted, record["score"], record["max_score"])
        log.info("%s/%s #%d: %s %g/%g%s (graded in %.2f s, recorded in %.2f s)", row["student"],
                 row["assignment"], row["id"], record["status"], record["score"],
                 record["max_score"], " (counted)" if counted else "",
                 record["timings"].get("total", 0), time.perf_counter() - started)

    def _record_counted(self, row, record):
        """Put the submission in ``submitted/`` and record it (a second try with the
        gradebook opened again: another program may have changed it)."""
        folder = self.course.root / "submitted" / row["student"] / row["assignment"]
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(self.queue.folder(row["id"]), folder, symlinks=True)
        key = self.journal.key(row["assignment"], folder)
        for attempt in (1, 2):
            try:
                self.recorder.record(copy.deepcopy(record), folder, key)   # it takes the pages
                self.recorder.flush()
                break
            except GraderError:
                if attempt == 2:
                    raise
                self._open()
        self.dirty = True

    def _recover(self, row):
        """(recorder thread) Whether a queued ``row`` was recorded before the service was
        killed (its verdict then written from the journal); else it is graded again."""
        key = self.journal.key(row["assignment"], self.queue.folder(row["id"]))
        record = self.journal.lookup(row["student"], row["assignment"], key)
        if record is None:
            return False
        self.queue.finish(row["id"], DONE, verdict(record, self.policies[row["assignment"]]),
                          True, record["score"], record["max_score"])
        log.info("%s/%s #%d: recorded before the service stopped: verdict from the journal",
                 row["student"], row["assignment"], row["id"])
        return True

    def _report(self, force=False):
        """(recorder thread) The CSVs and the class report, from the journal (as the batch):
        when nothing is left to grade (at most every ``IDLE_REPORT_SECONDS``), or every
        ``REPORT_SECONDS`` in a rush."""
        idle = not (self.pending or self.in_flight or self.suspects)
        since = time.monotonic() - self.reported
        if self.dirty and (force or since > REPORT_SECONDS or
                           (idle and since > IDLE_REPORT_SECONDS)):
            from autograder.run.coordinator import write_outputs
            write_outputs(self.out, self.journal.records(), Ignored(), self.course.root / "release",
                          self.recorder.gradebook.formgrader_averages())
            self.dirty, self.reported = False, time.monotonic()

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


def _with_duedate(policy, recorder, assignment):
    from dataclasses import replace
    return replace(policy, deadline=recorder.gradebook.duedate(assignment))


def verdict(record, policy):
    """What a student sees of a results ``record`` under ``policy.show``: the score, the
    status and, for ``"tests"``, each hidden test's points and message (never its code)."""
    autograded = [(nb["name"], cell) for nb in record["notebooks"] for cell in nb["cells"]
                  if cell["kind"] == results.AUTOGRADED]
    shown = {"status": record["status"],
             "score": sum(cell["points"] or 0 for _, cell in autograded),
             "max_score": sum(cell["max_points"] for _, cell in autograded),
             "pending": sum(cell["max_points"] for nb in record["notebooks"]
                            for cell in nb["cells"] if cell["kind"] == results.MANUAL)}
    if record["status"] == results.ERROR:
        shown["reason"] = record["reason"]
    if policy.show == "tests":
        shown["tests"] = [{"notebook": name, "test": cell["grade_id"], "points": cell["points"],
                           "max_points": cell["max_points"], "status": cell["status"],
                           "message": cell["message"]} for name, cell in autograded]
        if record["status"] == results.FLAGGED:
            shown["reason"] = record["reason"]
    return shown


# -- HTTP -----------------------------------------------------------------------------------

class Handler(tornado.web.RequestHandler):
    def initialize(self, service, identities):
        self.service, self.identities = service, identities

    def prepare(self):
        header = self.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        self.user = self.identities.who(token.strip()) if scheme.lower() in (
            "token", "bearer") else None
        if self.user is None:
            self.fail(401, "no valid token: send `Authorization: token <your token>`")

    def fail(self, status, message):
        self.set_status(status)
        self.finish({"error": message})

    def visible(self, row):
        return row is not None and (self.user.grader or row["student"] == self.user.name)


class Submissions(Handler):
    def post(self):
        try:
            body = json.loads(self.request.body)
        except ValueError:
            return self.fail(400, "the request is not JSON")
        if not isinstance(body, dict):
            return self.fail(400, "the request must be a JSON object")
        key = self.request.headers.get("Idempotency-Key") or os.urandom(16).hex()
        try:
            row, new = self.service.accept(self.user, body, key[:200])
        except Refused as refused:
            return self.fail(refused.status, refused.message)
        self.set_status(202 if new else 200)
        self.finish(self.service.view(row))

    def get(self):
        student = self.get_argument("student", None)
        if not self.user.grader:
            if student not in (None, self.user.name):
                return self.fail(403, "you can read only your own submissions")
            student = self.user.name
        rows = self.service.queue.rows(student, self.get_argument("assignment", None))
        self.finish({"submissions": [self.service.view(row) for row in rows]})


class Submission(Handler):
    async def get(self, submission_id):
        row = self.service.queue.get(int(submission_id))
        if not self.visible(row):
            return self.fail(404, f"no submission {submission_id} of yours")
        try:
            wait = min(float(self.get_argument("wait", "0")), WAIT_MAX)
        except ValueError:
            return self.fail(400, "wait is a number of seconds")
        row = await self.service.wait(row["id"], wait)
        self.finish(self.service.view(row))


class Health(tornado.web.RequestHandler):
    def get(self):
        self.finish({"ok": True})


def application(service, identities, prefix="/"):
    args = {"service": service, "identities": identities}
    return tornado.web.Application([
        (rf"{prefix}api/health", Health),
        (rf"{prefix}api/submissions", Submissions, args),
        (rf"{prefix}api/submissions/(\d+)", Submission, args),
    ])


# -- command line ---------------------------------------------------------------------------

def parser():
    from autograder import coursedir
    from autograder.engine import isolation
    parser = argparse.ArgumentParser(
        prog="autograde serve",
        description="Grade each submission as it arrives, with warm workers; students see the "
                    "hidden tests' verdicts in seconds (docs/serve.md). "
                    "`autograde serve token USER --tokens FILE` issues a token.")
    coursedir.course_dir(parser)
    parser.add_argument("--out", metavar="OUT",
                        help="autograde's OUT folder (default: <course>/out, as the "
                             "formgrader's Autograde button uses)")
    parser.add_argument("--state", metavar="DIR",
                        help="the queue and the submissions received (default: <course>/serve)")
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787, help="0: any free port")
    parser.add_argument("--workers", type=coursedir.positive(int), default=os.cpu_count())
    parser.add_argument("--timeout", type=coursedir.positive(float), default=30.0, metavar="SECONDS",
                        help="wall time allowed per cell and per test cell (default: 30)")
    parser.add_argument("--db", type=coursedir.db_url_argument, metavar="URL")
    parser.add_argument("--isolation", choices=isolation.CHOICES, default="auto")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--tokens", metavar="FILE",
                     help="the users' tokens (issued with `autograde serve token`)")
    who.add_argument("--hub", action="store_true",
                     help="run as a JupyterHub service: the hub checks the tokens")
    parser.add_argument("--graders-group", default="instructors",
                        help="with --hub: the hub group whose members see everyone's "
                             "submissions (default: instructors)")
    return parser


def token_main(argv):
    parser = argparse.ArgumentParser(prog="autograde serve token",
                                     description="Issue a user's token (prints it; their "
                                                 "earlier token stops working).")
    parser.add_argument("user")
    parser.add_argument("--grader", action="store_true",
                        help="an instructor or TA: sees and submits for everyone, no limits")
    parser.add_argument("--tokens", required=True, metavar="FILE")
    args = parser.parse_args(argv)
    try:
        print(identity.Tokens(args.tokens).issue(args.user, args.grader))
    except ValueError as error:
        print(f"autograde serve token: error: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv):
    if argv[:1] == ["token"]:
        return token_main(argv[1:])
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s autograde serve: %(message)s")
    log.setLevel(logging.INFO)
    course = Path(args.course).resolve()
    state = Path(args.state or course / "serve")
    state.mkdir(parents=True, exist_ok=True)
    try:
        users = identity.Hub(args.graders_group) if args.hub else identity.Tokens(args.tokens)
    except (RuntimeError, ValueError) as error:
        print(f"autograde serve: error: {error}", file=sys.stderr)
        return 2
    from autograder.run import lifecycle
    from autograder.engine import isolation
    try:
        layer = lifecycle.start_local_grading(args.isolation)
    except isolation.Unavailable as error:
        print(f"autograde serve: error: {error}", file=sys.stderr)
        return 1
    service = Service(course, args.out or course / "out", state, db_url=args.db,
                      workers=args.workers, cell_timeout=args.timeout, isolation=layer)
    try:
        return asyncio.run(_serve(service, identity.Identities(users, state / "instructor.token"),
                                  args))
    except GraderError as error:
        print(f"autograde serve: error: {error}", file=sys.stderr)
        return 1


async def _serve(service, identities, args):
    prefix, ip, port = "/", args.ip, args.port
    if args.hub:   # the hub says where: JUPYTERHUB_SERVICE_URL and _PREFIX
        from urllib.parse import urlsplit
        url = urlsplit(os.environ.get("JUPYTERHUB_SERVICE_URL", f"http://{ip}:{port}"))
        ip, port = url.hostname, url.port
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/").rstrip("/") + "/"
    await service.start()
    server = HTTPServer(application(service, identities, prefix), max_body_size=MAX_BODY)
    sockets = tornado.netutil.bind_sockets(port, ip)
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    url = f"http://{ip}:{port}{prefix}"
    identity.write_private(service.state / "service.json",
                           json.dumps({"url": url, "pid": os.getpid()}))
    print(f"autograde serve: listening on {url}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.stop()
    (service.state / "service.json").unlink(missing_ok=True)
    await service.stop()
    print("autograde serve: stopped", file=sys.stderr, flush=True)
    return 0
