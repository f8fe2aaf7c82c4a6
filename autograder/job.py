"""Grading one submission: a self-contained job, from the student's notebooks to a record.

``grade(Job(...))`` runs in a worker process that imported torch once (``warm_up``), and
returns a JSON-serialisable record (see ``brief``: status, score, flags, per-notebook cells,
the autograded notebook, timings). It never raises because of what a submission contains;
it writes no file. The coordinator alone writes the gradebook, feedback and reports.

Trust: the student's cells run in a sandbox (``autograder.student``, ``autograder.sandbox``);
the hidden tests run here, on proxies of the graded names (``autograder.remote``); the
graded notebook's locked cells come from the release (``autograder.tamper``); solution cells
that reach the library routine that is their answer score 0 (``autograder.library``).
"""
import ast
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder import library, remote, tamper

_zygote = None
_warming = threading.Lock()
MAX_NOTEBOOK_BYTES = 32 << 20


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


def warm_up():
    """Pool initializer: import torch once (one thread) and start the sandbox template."""
    global _zygote
    with _warming:
        starting = remote.Zygote() if _zygote is None or not _zygote.alive() else None
        import torch
        torch.set_num_threads(1)
        import course.checks  # noqa: F401 (the hidden tests' helpers)
        if starting is not None:
            _zygote = starting.wait_ready()


def grade(job):
    """Grade ``job``; the results record (never raises because of the submission)."""
    started = time.perf_counter()
    timings = {"fork": 0.0, "student_code": 0.0, "tests": 0.0}
    record = {"student_id": job.student_id, "assignment": job.assignment, "status": "graded",
              "reason": "", "score": 0.0, "max_score": 0.0, "flags": [], "notebooks": []}
    release = Path(job.release)
    stems = sorted(path.stem for path in release.glob("*.ipynb"))
    if not stems:
        record.update(status="error", reason=f"no release notebook in {release}")
    for stem in stems:
        try:
            notebook = _grade_notebook(job, stem, timings)
        except remote.SandboxError as error:
            notebook = _error_notebook(stem, f"the grader could not run the sandbox: {error}",
                                       _read(release / f"{stem}.ipynb")[0])
        except Exception as error:  # noqa: BLE001 (a grader bug must not stop the batch)
            notebook = _error_notebook(stem, f"internal grader error: {type(error).__name__}: "
                                             f"{_one_line(str(error), 300)}",
                                       _read(release / f"{stem}.ipynb")[0])
        record["notebooks"].append(notebook)
        for cell in notebook["cells"]:
            record["score"] += cell["points"] or 0.0
            record["max_score"] += cell["max_points"]
        record["flags"] += [f"{stem}: {flag}" for flag in notebook.pop("flags", [])]
    errors = [nb for nb in record["notebooks"] if nb["status"] == "error"]
    if errors:
        record["status"] = "error"
        record["reason"] = "; ".join(f"{nb['name']}: {nb['reason']}" for nb in errors)
    elif record["flags"]:
        record["status"] = "flagged"
        record["reason"] = "; ".join(record["flags"])[:2000]
    timings["total"] = time.perf_counter() - started
    record["timings"] = {key: round(value, 4) for key, value in timings.items()}
    return record


def _read(path, student=False):
    """A notebook file as a dict, or an error message. A student's notebook must be a
    regular file (a symlink could point at the source notebook)."""
    try:
        if student and os.path.islink(path):
            return None, f"{path.name} is a symbolic link, not a notebook"
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return None, f"{path.name} is larger than {MAX_NOTEBOOK_BYTES >> 20} MB"
        flags = os.O_RDONLY | (os.O_NOFOLLOW if student else 0)
        with open(os.open(path, flags), encoding="utf-8") as file:
            notebook = json.load(file)
    except FileNotFoundError:
        return None, f"{path.name} is missing from the submission"
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, f"{path.name} is not a valid notebook (not JSON)"
    except OSError as error:
        return None, f"{path.name} cannot be read: {error.strerror}"
    if not isinstance(notebook, dict) or notebook.get("nbformat") != 4 \
            or not isinstance(notebook.get("cells"), list):
        return None, f"{path.name} is not an nbformat 4 notebook"
    return notebook, None


def _error_notebook(stem, reason, release=None):
    cells = []
    for cell in (release or {}).get("cells", []):
        meta = tamper.nbgrader(cell)
        if meta.get("grade"):
            cells.append({"grade_id": meta.get("grade_id"), "kind": _kind(cell),
                          "points": 0.0, "max_points": float(meta.get("points", 0)),
                          "status": "missing", "message": reason})
    return {"name": stem, "status": "error", "reason": reason, "notebook": None,
            "cells": cells, "flags": []}


def _kind(cell):
    return "autograded" if tamper.is_test(cell) else "manual"


def _graded_names(source_notebook):
    """The names the solution cells define (functions and classes)."""
    names = set()
    for cell in source_notebook.get("cells", []):
        if cell.get("cell_type") == "code" and tamper.nbgrader(cell).get("solution"):
            try:
                tree = ast.parse(tamper.source(cell))
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    names.add(node.name)
    return names


def _grade_notebook(job, stem, timings):
    release, problem = _read(Path(job.release) / f"{stem}.ipynb")
    if problem:
        return _error_notebook(stem, f"the release is unusable: {problem}")
    source, problem = _read(Path(job.source) / f"{stem}.ipynb")
    if problem:
        return _error_notebook(stem, f"the source notebook is unusable: {problem}", release)
    submission, problem = _read(Path(job.submission) / f"{stem}.ipynb", student=True)
    if problem:
        return _error_notebook(stem, problem, release)

    merged = tamper.merge(release, submission)
    flags = [f"tampering: {p}" for p in merged.problems]
    cells = merged.cells
    # The tests' code comes from the instructor's notebooks only (hidden parts from source/),
    # never from the submission.
    tests = {tamper.nbgrader(c)["grade_id"]: tamper.source(c)
             for nb in (release, source) for c in nb.get("cells", []) if tamper.is_test(c)}
    graded_names = _graded_names(source)
    code = [{"index": i, "source": tamper.source(c)} for i, c in enumerate(cells)
            if c["cell_type"] == "code" and not tamper.is_test(c)]
    violations = library.violations(
        [(tamper.source(c), not tamper.nbgrader(c).get("locked")) for c in cells
         if c["cell_type"] == "code" and not tamper.is_test(c)], graded_names)

    session = remote.Session(_ensure_zygote(), job.submission, code,
                             cell_timeout=job.cell_timeout, memory_mb=job.memory_mb)
    try:
        begin = time.perf_counter()
        runs = session.run()
        timings["student_code"] += time.perf_counter() - begin
        flags += _run_flags(runs)
        for index, run in runs.items():
            cells[index]["outputs"] = run.outputs + _lost_output(run)
            cells[index]["execution_count"] = run.execution_count
        begin = time.perf_counter()
        results = []
        for cell in cells:
            meta = tamper.nbgrader(cell)
            if not meta.get("grade"):
                continue
            grade_id = meta["grade_id"]
            max_points = float(meta.get("points", 0))
            if not tamper.is_test(cell):
                results.append(_manual(cell, grade_id in merged.missing, max_points))
                continue
            status, message = _verdict(session, job, grade_id, tests[grade_id], graded_names,
                                       violations)
            if status == "crashed" or status == "timeout":
                flags.append(f"{grade_id}: {message}")
            if grade_id in violations:
                flags.append(f"library: {violations[grade_id]}")
            passed = status == "passed"
            cell["outputs"] = _verdict_outputs(passed, status, message, max_points)
            results.append({"grade_id": grade_id, "kind": "autograded",
                            "points": max_points if passed else 0.0, "max_points": max_points,
                            "status": status, "message": message})
        timings["tests"] += time.perf_counter() - begin
    finally:
        session.close()
        timings["fork"] += session.start_seconds
    notebook = dict(release)
    notebook["cells"] = cells
    return {"name": stem, "status": "graded", "reason": "", "notebook": notebook,
            "cells": results, "flags": flags}


def _ensure_zygote():
    if _zygote is None or not _zygote.alive():
        warm_up()
    return _zygote


def _manual(cell, deleted, max_points):
    """A written answer's record: needs manual grading, or 0 if there is no answer (the
    cell is the release's, as nbgrader's own ``determine_grade`` decides)."""
    from nbgrader.utils import compute_checksum
    unchanged = tamper.nbgrader(cell).get("checksum") == compute_checksum(nbformat.from_dict(cell))
    if deleted or unchanged:
        return {"grade_id": tamper.nbgrader(cell)["grade_id"], "kind": "manual", "points": 0.0,
                "max_points": max_points, "status": "missing",
                "message": "the answer cell was deleted" if deleted else "no answer written"}
    return {"grade_id": tamper.nbgrader(cell)["grade_id"], "kind": "manual", "points": None,
            "max_points": max_points, "status": "manual", "message": "needs manual grading"}


def _run_flags(runs):
    """Flags for the student cells' crashes, timeouts, memory bombs, exits and huge outputs."""
    flags = []
    for index, run in sorted(runs.items()):
        where = f"cell {index + 1}"
        if run.status in ("crashed", "timeout"):
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
    if run.status in ("crashed", "timeout"):
        name = "TimeoutError" if run.status == "timeout" else "KernelDied"
        return [{"output_type": "error", "ename": name, "evalue": run.message,
                 "traceback": [f"{name}: {run.message}"]}]
    return []


def _verdict(session, job, grade_id, code, graded_names, violations):
    """Run one test cell's ``code`` on the student's final state: ``(status, message)``."""
    function = grade_id[len("test_"):] if grade_id.startswith("test_") else None
    if grade_id in violations:
        return "failed", violations[grade_id]
    try:
        channel = session.channel(job.cell_timeout)
    except remote.StudentCrashed as error:
        return "crashed", f"the student's process could not serve the tests ({error})"
    # The tests' own prints ("passes the visible tests") are not the verdict: dropped (a
    # namespace-level print, so that threads grading side by side do not share a redirect).
    namespace = {"__name__": "__main__", "print": _quiet}
    namespace.update({name: remote.RemoteFunction(channel, name) for name in graded_names})
    try:
        exec(compile(code, f"<tests {grade_id}>", "exec"), namespace)  # noqa: S102 (trusted)
    except remote.StudentTimeout:
        return "timeout", (f"{function or 'your code'} did not finish within "
                           f"{job.cell_timeout:g} s (an infinite loop?)")
    except remote.StudentCrashed:
        return "crashed", f"the kernel died while the tests called {function or 'your code'}"
    except AssertionError as error:
        return "failed", _one_line(str(error)) or "a hidden test failed"
    except Exception as error:  # noqa: BLE001 (any other failure of the student's code)
        return "error", _one_line(f"{type(error).__name__}: {error}")
    return "passed", "passed"


def _quiet(*args, **kwargs):
    """``print`` for the hidden tests: prints nothing."""


def _one_line(text, limit=500):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _verdict_outputs(passed, status, message, max_points):
    if passed:
        return [{"output_type": "stream", "name": "stdout",
                 "text": f"passed ({max_points:g}/{max_points:g} points)\n"}]
    name = {"failed": "AssertionError", "timeout": "TimeoutError",
            "crashed": "KernelDied"}.get(status)
    if name is None:  # an error's message starts with its type: "TypeError: ..."
        name, _, message = message.partition(": ")
    return [{"output_type": "error", "ename": name or "Error", "evalue": message,
             "traceback": [f"{name or 'Error'}: {message}"]}]
