"""Grading on a Dask cluster: ``autograde SUBMISSIONS --out OUT --scheduler ADDRESS``.

The address may also come from Dask's own configuration (``DASK_SCHEDULER_ADDRESS``, the
``scheduler-address`` key). The workers are plain ``dask worker ADDRESS`` processes started in
the course's environment; they need nothing else, not even a shared file system:

- ``GraderPlugin`` (a Dask worker plugin) sets the grader up once on every worker, including
  workers that join later: it warms the engine up (torch, the sandbox template process) and
  notes the worker's isolation layer. A worker that cannot start is a fatal error of the run,
  with its message, never a class of error records. A worker lost before or during its set-up
  costs only itself: the run goes on once the grader is ready on the workers that remain.
- A task carries the submission's files (``pack``: regular files, and symlinks as symlinks so
  that the engine refuses them as it does locally) and the assignment's release and source
  notebooks (``assignment_bundle``: compressed once per run, about 80 KB), which a worker
  unpacks once into its local directory, under the digest of their content. Nothing is
  scattered: data held only by workers is lost with them, a task whose input was lost is
  cancelled, and submitting it again would reset the count of workers it killed (a submission
  that kills its workers would go on killing them).
- Back-pressure: at most ``in_flight`` tasks are out at a time; a submission is read only when
  its task is submitted, so the coordinator's memory does not grow with the class.
- Faults: when a worker is lost, the scheduler runs its tasks again elsewhere; a submission
  whose task was running on ``distributed.scheduler.allowed-failures`` + 1 lost workers
  fails with ``KilledWorker`` and gets an error record (tried again on the next run). A
  result lost with its worker before it got here is graded again by the scheduler.

The coordinator stays the only writer: records come back here and are recorded as they come.
"""
import asyncio
import concurrent.futures
import dataclasses
import functools
import hashlib
import itertools
import os
import pickle
import shutil
import tempfile
import time
import uuid
import zlib
from pathlib import Path

import dask.config
import distributed
from tqdm import tqdm

from autograder import GraderError
from autograder.record import feedback

CONNECT_SECONDS = 30
SETUP_SECONDS = 900   # the longest the grader's set-up may take on the workers that remain
RESUBMISSIONS = 3   # times a cancelled task is submitted again before the run stops


class WorkerUnfit(RuntimeError):
    """This worker cannot grade (its grader did not start); says why."""


def scheduler_address(option=None):
    """``option`` (``--scheduler``), else Dask's ``scheduler-address`` (``DASK_SCHEDULER_ADDRESS``),
    else None: grade in the local pool."""
    return option or dask.config.get("scheduler-address", None)


class GraderPlugin(distributed.WorkerPlugin):
    """The grader on one worker: ``warm_up`` and the feedback pages' renderer
    (``feedback.warm``) once at start (in a thread, not blocking the worker), then ``grade``
    for each task. ``error`` says why it could not start."""
    idempotent = True   # registered again by every run: kept, not restarted

    def __init__(self, grade, warm_up):
        self.grade, self.warm_up = grade, warm_up
        self.error, self.isolation, self.ready = None, None, False

    async def setup(self, worker):
        try:
            if self.warm_up is not None:
                await asyncio.get_running_loop().run_in_executor(None, self.warm_up)
            await asyncio.get_running_loop().run_in_executor(None, feedback.warm)
        except Exception as error:
            self.error = f"{type(error).__name__}: {error}"
            raise
        from autograder.engine import job
        self.isolation = job.isolation_layer()   # the layer warm_up chose on this machine
        self.ready = True


def pack(folder, max_bytes=None):
    """The submission folder as ``{relative path: bytes or ("symlink", target)}``: the regular
    files the sandbox copies (``sandbox.copied_files``, ``max_bytes`` in all), the notebooks the
    engine reads (cut just past the reader's size limit, which still refuses them) and, where
    those are read, symlinks as such (so that the engine refuses them as it does locally)."""
    from autograder.engine.sandbox import COPY_MB, copied_files
    from autograder.intake.reader import MAX_NOTEBOOK_BYTES
    regular, _ = copied_files(folder, max_bytes=COPY_MB << 20 if max_bytes is None else max_bytes)
    files = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_symlink():
                files[entry.name] = ("symlink", os.readlink(entry.path))
            elif entry.name.endswith(".ipynb") and entry.is_file():
                with open(entry.path, "rb") as handle:
                    files[entry.name] = handle.read(MAX_NOTEBOOK_BYTES + 1)
    for relative in regular:
        if relative not in files:
            files[relative] = Path(folder, relative).read_bytes()
    return files


def unpack(files, folder):
    """Write what ``pack`` made into ``folder``."""
    for relative, content in sorted(files.items()):
        if Path(relative).is_absolute() or ".." in Path(relative).parts:
            raise ValueError(f"unsafe path in a submission: {relative!r}")
        target = Path(folder, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, tuple):
            os.symlink(content[1], target)
        elif not target.exists():
            target.write_bytes(content)


def assignment_bundle(course_root, assignment):
    """``{"digest", "files"}`` of an assignment: its release and source folders (``pack``ed as
    ``{"release": files, "source": files}``, pickled, compressed) and the digest naming them."""
    folders = {"release": pack(Path(course_root, "release", assignment), max_bytes=1 << 40),
               "source": pack(Path(course_root, "source", assignment), max_bytes=1 << 40)}
    digest = hashlib.sha256()
    for part in ("release", "source"):
        for relative, content in sorted(folders[part].items()):
            if isinstance(content, bytes) and "__pycache__" not in relative:
                digest.update(f"{part}/{relative}".encode() + b"\0" + content)
    return {"digest": digest.hexdigest(), "files": zlib.compress(pickle.dumps(folders))}


def _materialized(worker, bundle):
    """The worker-local folder holding ``bundle``'s release/ and source/, written once."""
    folder = Path(worker.local_directory, "autograde-assignments", bundle["digest"])
    if not folder.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(dir=folder.parent))
        for part, files in pickle.loads(zlib.decompress(bundle["files"])).items():
            unpack(files, partial / part)
        try:
            os.rename(partial, folder)
        except OSError:   # another thread of this worker wrote it first
            shutil.rmtree(partial)
    return folder


def plugin_name(grade, warm_up):
    """The plugin's name on the cluster: one per grader (a run with another one adds its own)."""
    return "autograde:" + ":".join(_qualified(f) for f in (grade, warm_up))


def _qualified(function):
    """``module.name``, with a ``functools.partial``'s arguments (``warm_up`` in a layer)."""
    if function is None:
        return "-"
    if isinstance(function, functools.partial):
        return f"{_qualified(function.func)}({','.join(map(repr, function.args))})"
    return f"{function.__module__}.{function.__qualname__}"


def grade_task(plugin, job, files, bundle):
    """On a worker: grade ``job`` (a ``Job`` whose paths are the coordinator's) from the
    submission's ``files`` and the assignment ``bundle``, with the grader of the ``plugin``
    named so; the ``finish``ed record."""
    worker = distributed.get_worker()
    plugin = worker.plugins.get(plugin)
    if plugin is None or plugin.error:
        raise WorkerUnfit(f"the grader could not start on the worker {worker.address}: "
                          f"{plugin.error if plugin else 'the autograde plugin is missing'}")
    assignment = _materialized(worker, bundle)
    with tempfile.TemporaryDirectory(prefix="submission-", dir=worker.local_directory) as folder:
        unpack(files, folder)
        local = dataclasses.replace(job, submission=folder, release=str(assignment / "release"),
                                    source=str(assignment / "source"))
        record = feedback.grade_and_finish(plugin.grade, local)
    record["worker"] = {"address": worker.address, "isolation": plugin.isolation}
    return record


class DaskPool:
    """The coordinator's side: a client of the scheduler at ``address``; the grader plugin is
    registered in the background (the workers warm up while the gradebook is set up). The
    same interface as ``autograder.run.pool.LocalPool``: ``grade_all`` then ``close`` (or ``with``)."""

    def __init__(self, address, grade, warm_up, in_flight=None):
        try:
            self.client = distributed.Client(address, timeout=CONNECT_SECONDS,
                                             set_as_default=False)
        except (OSError, TimeoutError) as error:
            raise GraderError(f"cannot reach the Dask scheduler at {address}: {error}") from None
        self.address, self.in_flight, self.bundles = address, in_flight, {}
        self.plugin = plugin_name(grade, warm_up)
        self._starting = concurrent.futures.ThreadPoolExecutor(1)
        self.ready = self._starting.submit(self._start, GraderPlugin(grade, warm_up))

    def _start(self, plugin):
        """Wait for a worker (a batch queue may take its time), then set the grader up on every
        worker, now and as they join. A worker lost before or during its set-up breaks the
        scheduler's broadcast (``CommClosedError``, an ``OSError``) but not the others' set-up
        (the scheduler keeps the plugin): wait for theirs."""
        self.client.wait_for_workers(1)
        try:
            self.client.register_plugin(plugin, self.plugin)
        except OSError:
            self._await_setup()

    def _await_setup(self):
        """Return once the grader is set up on every worker connected (at least one); raise
        ``WorkerUnfit`` with the error of a worker that could not set it up."""
        deadline = time.monotonic() + SETUP_SECONDS
        while time.monotonic() < deadline:
            self.client.wait_for_workers(1, timeout=max(1.0, deadline - time.monotonic()))
            states = self.client.run(_setup_state, plugin=self.plugin, on_error="return")
            errors = [f"{address}: {state}" for address, state in states.items()
                      if isinstance(state, str) and state.startswith("error")]
            if errors:
                raise WorkerUnfit(f"the grader could not start on the worker {errors[0]}")
            if states and all(state == "ready" for state in states.values()):
                return
            time.sleep(0.5)   # still warming up, or a lost worker not yet noticed
        raise TimeoutError(f"the grader was not ready on the workers after {SETUP_SECONDS} s")

    def check_started(self):
        """Raise ``GraderError`` if the grader could not start on a worker."""
        try:
            self.ready.result()
        except Exception as error:  # noqa: BLE001 (whatever the worker's warm-up raised)
            self.client.unregister_worker_plugin(self.plugin)   # do not leave it on the cluster
            raise GraderError(f"the grading workers could not start on the Dask cluster at "
                              f"{self.address}: {type(error).__name__}: {error}") from None

    def workers(self):
        """``{worker address: isolation layer}`` of the workers connected now."""
        return self.client.run(_isolation, plugin=self.plugin)

    def grade_all(self, jobs, on_result, on_failure, progress=True):
        """Grade ``jobs`` on the cluster, at most ``in_flight`` at a time (default: two per
        worker thread), calling ``on_result(job, record)`` here as each record arrives and
        ``on_failure(job, reason)`` for a job the grader failed on (a lost worker included).
        A task the scheduler cancelled is submitted again (``RESUBMISSIONS`` times); a lost
        scheduler stops the run (what was recorded is kept)."""
        self.check_started()
        in_flight = self.in_flight or max(4, 2 * sum(self.client.nthreads().values()))
        queue, running, cancellations = iter(jobs), {}, {}
        done = distributed.as_completed(loop=self.client.loop)

        def submit(job):
            future = self.client.submit(
                grade_task, self.plugin, job, pack(job.submission), self._bundle(job),
                key=f"grade-{job.student_id}-{job.assignment}-{uuid.uuid4().hex[:8]}")
            running[future] = job
            done.add(future)

        for job in itertools.islice(queue, in_flight):
            submit(job)
        with tqdm(total=len(jobs), unit="submission", desc="grading",
                  disable=not progress or None) as bar:
            for future in done:
                job = running.pop(future)
                try:
                    record, reason = _outcome(future)
                except OSError:   # CommClosedError: the scheduler is gone
                    raise self._lost_scheduler() from None
                except distributed.client.FutureCancelledError as cancelled:
                    if cancelled.reason == "scheduler-connection-lost":
                        raise self._lost_scheduler() from None
                    cancellations[job] = cancellations.get(job, 0) + 1
                    if cancellations[job] > RESUBMISSIONS:
                        raise GraderError(
                            f"the Dask scheduler at {self.address} keeps cancelling the grading "
                            f"of {job.student_id}'s {job.assignment}; run the same command "
                            "again to grade the rest") from None
                    submit(job)
                    continue
                if reason is None:
                    on_result(job, record)
                else:
                    on_failure(job, reason)
                bar.update()
                for job in itertools.islice(queue, 1):
                    submit(job)

    def _lost_scheduler(self):
        return GraderError(f"lost the Dask scheduler at {self.address}; run the same command "
                           "again to grade the rest")

    def _bundle(self, job):
        """The job's ``assignment_bundle``, made once per run."""
        if job.assignment not in self.bundles:
            self.bundles[job.assignment] = assignment_bundle(Path(job.release).parent.parent,
                                                             job.assignment)
        return self.bundles[job.assignment]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Leave the cluster (its workers keep running, the grader plugin on them)."""
        self._starting.shutdown(wait=False)
        self.client.close()


def _setup_state(dask_worker, plugin):
    """On a worker: "ready", "starting", "missing" or "error: <why>" of the grader plugin."""
    grader = dask_worker.plugins.get(plugin)
    if grader is None:
        return "missing"
    if grader.error:
        return f"error: {grader.error}"
    return "ready" if grader.ready else "starting"


def _isolation(dask_worker, plugin):
    return dask_worker.plugins[plugin].isolation


def _outcome(future):
    """``(record, None)`` of a finished task, or ``(None, reason)`` when a lost worker or the
    grader failed on it; a worker that cannot grade stops the run."""
    if future.status != "error":   # finished (or cancelled: raises FutureCancelledError)
        return future.result(), None
    error = future.exception()
    if isinstance(error, WorkerUnfit):
        raise GraderError(str(error))
    if isinstance(error, distributed.KilledWorker):
        return None, ("the grading process died on this submission (every worker that graded "
                      "it was lost)")
    return None, f"the grader failed: {type(error).__name__}: {error}"
