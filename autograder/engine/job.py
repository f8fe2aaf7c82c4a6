"""Grading one submission: a self-contained job, from the student's notebooks to a record.

``grade(Job(...))`` runs in a worker process that imported torch once (``warm_up``), and
returns a results record (``autograder.record.results``: status, score, flags, per-notebook
cells, the autograded notebook, timings). It never raises because of what a submission contains;
it writes no file. The coordinator alone writes the gradebook, feedback and reports.

Trust: the student's cells run in a sandbox (``autograder.engine.student``, ``autograder.engine.sandbox``);
the hidden tests run here, each test cell where it stands in the notebook (the sandbox pauses
there), on proxies of the graded names (``autograder.engine.proxies``); the
graded notebook's locked cells come from the release (``autograder.engine.tamper``); solution cells
that reach the library routine that is their answer score 0 and are flagged, whether the
code (``autograder.engine.library``) or the hidden tests' trace (``course.checks.LibraryCall``)
finds it, with the same words.
"""
import ast
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.engine import isolation as _isolation
from autograder.engine import library, proxies, session, tamper, template, wire
from autograder.engine.sandbox import COPY_FILES, COPY_MB, copied_files
from autograder.engine.cells import is_test, nbgrader, source
from autograder.intake import reader
from autograder.record import results
from course import checks

_zygote = None
_warming = threading.Lock()


@dataclass(frozen=True)
class Job:
    """One student's submission of one assignment."""
    student_id: str
    assignment: str
    submission: str     # folder holding the student's notebooks for this assignment
    release: str        # release/<assignment>/ (locked cells come from here)
    source: str         # source/<assignment>/ (test cells with their hidden tests)
    cell_timeout: float = 30.0   # seconds of wall time per cell; of student code per test cell
    memory_mb: int = 3072


def warm_up(isolation="auto"):
    """Pool initializer: choose the isolation layer (``autograder.engine.isolation.probe``:
    raises ``Unavailable`` if it cannot be set up), ``warm_torch`` and start the sandbox
    template."""
    global _zygote
    with _warming:
        layer = _isolation.chosen() if _isolation.chosen() and isolation == "auto" else \
            _isolation.probe(isolation)
        if _zygote is not None and _zygote.layer != layer:
            _zygote.close()
            _zygote = None
        starting = template.Zygote(layer) if _zygote is None or not _zygote.alive() else None
        warm_torch()
        if starting is not None:
            _zygote = starting.wait_ready()


def warm_torch():
    """torch on one thread, with its meta kernels loaded: the hidden tests' helpers run on the
    meta device, whose first op imports them (sympy and ~900 modules, 1.4 s): once per worker
    (or once for all, in the forkserver: ``autograder.run.preload``), not in a notebook."""
    import torch
    torch.set_num_threads(1)
    torch.nn.functional.unfold(torch.zeros(1, 1, 2, 2, device="meta"), 1)


def grade(job):
    """Grade ``job``; the results record (never raises because of the submission)."""
    started = time.perf_counter()
    timings = {"fork": 0.0, "student_code": 0.0, "tests": 0.0}
    record = results.new_record(job.student_id, job.assignment, isolation=isolation_layer())
    release = Path(job.release)
    stems = sorted(path.stem for path in release.glob("*.ipynb"))
    if not stems:
        record.update(status=results.ERROR, reason=f"no release notebook in {release}")
    for stem in stems:
        flags = []
        try:
            notebook, flags = _grade_notebook(job, stem, timings)
        except template.SandboxError as error:
            notebook = results.error_notebook(
                stem, f"the grader could not run the sandbox: {_last_line(str(error))}",
                _read(release / f"{stem}.ipynb")[0])
        except Exception as error:  # noqa: BLE001 (a grader bug must not stop the batch)
            notebook = results.error_notebook(
                stem, f"internal grader error: {type(error).__name__}: "
                      f"{_one_line(str(error), 300)}", _read(release / f"{stem}.ipynb")[0])
        results.add_notebook(record, notebook)
        record["flags"] += [f"{stem}: {flag}" for flag in flags]
    copied, left_out = copied_files(job.submission)
    if left_out:
        record["flags"].append(
            f"only {len(copied)} of its {len(copied) + left_out} files were copied into the "
            f"sandbox (at most {COPY_FILES} files and {COPY_MB} MB)")
    errors = [nb for nb in record["notebooks"] if nb["status"] == results.ERROR]
    if errors:
        record["status"] = results.ERROR
        record["reason"] = "; ".join(f"{nb['name']}: {nb['reason']}" for nb in errors)
    elif record["flags"]:
        record["status"] = results.FLAGGED
        record["reason"] = "; ".join(record["flags"])[:2000]
    timings["total"] = time.perf_counter() - started
    record["timings"] = {key: round(value, 4) for key, value in timings.items()}
    return record


def isolation_layer():
    """The isolation layer this worker grades under (None before ``warm_up``)."""
    return _zygote.layer if _zygote is not None else _isolation.chosen()


def _read(path):
    """A notebook file as ``(nbformat 4 dict, None)``, or ``(None, a one-line reason)``; read
    with the one reader of submission files (``autograder.intake.reader``)."""
    try:
        return reader.read_notebook(path), None
    except reader.Unreadable as error:
        return None, str(error)


def _last_line(text):
    """The last line of ``text`` that says something (a traceback's exception)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return _one_line(lines[-1] if lines else text, 300)


def _too_much_code(code):
    """Why the code cells cannot be sent to the sandbox (more than the wire carries), or None."""
    size = len(json.dumps(code).encode())
    if size > wire.MAX_HEADER - (64 << 10):
        return (f"its code cells hold {size / (1 << 20):.1f} MB of code, more than the "
                f"{wire.MAX_HEADER >> 20} MB the grader runs")
    return None


def _graded_names(source_notebook):
    """The names the solution cells define (functions and classes)."""
    names = set()
    for cell in source_notebook.get("cells", []):
        if cell.get("cell_type") == "code" and nbgrader(cell).get("solution"):
            try:
                tree = ast.parse(source(cell))
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    names.add(node.name)
    return names


def _grade_notebook(job, stem, timings):
    """Grade one notebook of the submission: ``(notebook result, flags)``."""
    release, problem = _read(Path(job.release) / f"{stem}.ipynb")
    if problem:
        return results.error_notebook(stem, f"the release is unusable: {problem}"), []
    source_nb, problem = _read(Path(job.source) / f"{stem}.ipynb")
    if problem:
        return results.error_notebook(stem, f"the source notebook is unusable: {problem}",
                                      release), []
    submission, problem = _read(Path(job.submission) / f"{stem}.ipynb")
    if problem:
        return results.error_notebook(stem, problem, release), []

    merged = tamper.merge(release, submission)
    flags = [f"tampering: {p}" for p in merged.problems]
    cells = merged.cells
    # The tests' code comes from the instructor's notebooks only (hidden parts from source/),
    # never from the submission.
    tests = {nbgrader(c)["grade_id"]: source(c)
             for nb in (release, source_nb) for c in nb.get("cells", []) if is_test(c)}
    graded_names = _graded_names(source_nb)
    code = [{"index": i, "source": source(c)} for i, c in enumerate(cells)
            if c["cell_type"] == "code" and not is_test(c)]
    problem = _too_much_code(code)
    if problem:
        return results.error_notebook(stem, problem, release), []
    checkpoints = _checkpoints(cells)
    violations = library.violations(
        [(i + 1, source(c), not nbgrader(c).get("locked"))
         for i, c in enumerate(cells) if c["cell_type"] == "code" and not is_test(c)],
        graded_names, {nbgrader(c)["grade_id"]: i + 1 for i, c in enumerate(cells) if is_test(c)})

    sandbox = session.Session(_ensure_zygote(), job.submission, code,
                              cell_timeout=job.cell_timeout, memory_mb=job.memory_mb,
                              checkpoints=checkpoints)
    verdicts, testing = {}, [0.0]

    def judge(at):
        """Judge the test cells standing at checkpoint ``at``; whether all were judged."""
        begin = time.perf_counter()
        try:
            for index in checkpoints[at]:
                if index not in verdicts:
                    grade_id = nbgrader(cells[index])["grade_id"]
                    verdicts[index] = _verdict(sandbox, job, grade_id, tests[grade_id],
                                               graded_names, violations)
                    if not sandbox.alive:   # it killed the sandbox
                        return all(i in verdicts for i in checkpoints[at])
            return True
        finally:
            testing[0] += time.perf_counter() - begin

    try:
        begin = time.perf_counter()
        runs = sandbox.run(judge)
        timings["student_code"] += time.perf_counter() - begin - testing[0]
        timings["tests"] += testing[0]
        flags += _run_flags(runs)
        for index, run in runs.items():
            cells[index]["outputs"] = run.outputs + _lost_output(run)
            cells[index]["execution_count"] = run.execution_count
        graded = []
        for index, cell in enumerate(cells):
            meta = nbgrader(cell)
            if not meta.get("grade"):
                continue
            grade_id = meta["grade_id"]
            max_points = float(meta.get("points", 0))
            if not is_test(cell):
                graded.append(_manual(cell, grade_id in merged.missing, max_points))
                continue
            status, message = verdicts[index]
            if status in (results.CRASHED, results.TIMEOUT):
                flags.append(f"{grade_id}: {message}")
            if status == results.LIBRARY:
                flags.append(f"library: {message}")
                status = results.FAILED
            passed = status == results.PASSED
            cell["outputs"] = _verdict_outputs(passed, status, message, max_points)
            graded.append(results.cell(grade_id, results.AUTOGRADED,
                                       max_points if passed else 0.0, max_points, status,
                                       message))
    finally:
        sandbox.close()
        timings["fork"] += sandbox.start_seconds
    notebook = dict(release)
    notebook["cells"] = cells
    return results.graded_notebook(stem, notebook, graded), flags


def _checkpoints(cells):
    """``{checkpoint: indices of its test cells}``: test cells with no other code cell between
    them are judged at one checkpoint (the first one's index), on the same state."""
    checkpoints, at = {}, None
    for index, cell in enumerate(cells):
        if is_test(cell):
            at = index if at is None else at
            checkpoints.setdefault(at, []).append(index)
        elif cell.get("cell_type") == "code":
            at = None
    return checkpoints


def _ensure_zygote():
    if _zygote is None or not _zygote.alive():
        warm_up()
    return _zygote


def _manual(cell, deleted, max_points):
    """A written answer's record: needs manual grading, or 0 if there is no answer (the
    cell is the release's, as nbgrader's own ``determine_grade`` decides)."""
    from nbgrader.utils import compute_checksum
    unchanged = nbgrader(cell).get("checksum") == compute_checksum(nbformat.from_dict(cell))
    grade_id = nbgrader(cell)["grade_id"]
    if deleted or unchanged:
        return results.cell(grade_id, results.MANUAL, 0.0, max_points, results.MISSING,
                            "the answer cell was deleted" if deleted else "no answer written")
    return results.cell(grade_id, results.MANUAL, None, max_points, results.NEEDS_GRADING,
                        "needs manual grading")


def _run_flags(runs):
    """Flags for the student cells' crashes, timeouts, memory bombs, exits and huge outputs."""
    flags = []
    for index, run in sorted(runs.items()):
        where = f"cell {index + 1}"
        if run.status in (results.CRASHED, results.TIMEOUT):
            flags.append(f"{where}: {run.message}")
        elif run.error in ("MemoryError", "OutOfMemoryError") or "allocate" in run.message:
            flags.append(f"{where}: hit the memory cap ({run.error}: {run.message[:80]})")
        elif run.error == "SystemExit":
            flags.append(f"{where}: called sys.exit")
        elif run.error == "BlockingIOError" and "fork" in " ".join(
                line for output in run.outputs for line in output.get("traceback", [])):
            flags.append(f"{where}: hit the process limit (a fork bomb?)")
        if run.strays:
            flags.append(f"{where}: left processes running (they were killed)")
        if run.dropped:
            flags.append(f"{where}: printed {run.dropped} bytes of output too many (truncated)")
    return flags


def _lost_output(run):
    if run.status in (results.CRASHED, results.TIMEOUT):
        name = "TimeoutError" if run.status == results.TIMEOUT else "KernelDied"
        return [{"output_type": "error", "ename": name, "evalue": run.message,
                 "traceback": [f"{name}: {run.message}"]}]
    return []


def _verdict(sandbox, job, grade_id, code, graded_names, violations):
    """Run one test cell's ``code`` on the student's state at its checkpoint: ``(status, message)``;
    status ``LIBRARY`` when the code or the trace finds the library routine that is the answer."""
    function = grade_id[len("test_"):] if grade_id.startswith("test_") else None
    if grade_id in violations:
        return results.LIBRARY, violations[grade_id]
    try:
        channel = sandbox.channel(job.cell_timeout)
    except proxies.StudentCrashed as error:
        return results.CRASHED, f"the student's process could not serve the tests ({error})"
    # The tests' own prints ("passes the visible tests") are not the verdict: dropped (a
    # namespace-level print, so that threads grading side by side do not share a redirect).
    namespace = {"__name__": "__main__", "print": _quiet}
    namespace.update({name: proxies.RemoteFunction(channel, name) for name in graded_names})
    try:
        exec(compile(code, f"<tests {grade_id}>", "exec"), namespace)  # noqa: S102 (trusted)
    except proxies.StudentTimeout:
        return results.TIMEOUT, (f"{function or 'your code'} did not finish within "
                           f"{job.cell_timeout:g} s (an infinite loop?)")
    except proxies.StudentCrashed:
        return results.CRASHED, (f"the kernel died while the tests called "
                                 f"{function or 'your code'}")
    except checks.LibraryCall as error:
        return results.LIBRARY, _one_line(str(error))
    except AssertionError as error:
        return results.FAILED, _one_line(str(error)) or "a hidden test failed"
    except Exception as error:  # noqa: BLE001 (any other failure of the student's code)
        return results.ERROR, _one_line(f"{type(error).__name__}: {error}")
    return results.PASSED, "passed"


def _quiet(*args, **kwargs):
    """``print`` for the hidden tests: prints nothing."""


def _one_line(text, limit=500):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _verdict_outputs(passed, status, message, max_points):
    if passed:
        return [{"output_type": "stream", "name": "stdout",
                 "text": f"passed ({max_points:g}/{max_points:g} points)\n"}]
    name = {results.FAILED: "AssertionError", results.TIMEOUT: "TimeoutError",
            results.CRASHED: "KernelDied"}.get(status)
    if name is None:  # an error's message starts with its type: "TypeError: ...", "E:"
        name, _, message = message.partition(":")
        message = message.strip()
    return [{"output_type": "error", "ename": name or "Error", "evalue": message,
             "traceback": [f"{name or 'Error'}: {message}"]}]
