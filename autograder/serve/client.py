"""The instructors' side of the grading service: ``nbgrader autograde`` and the formgrader's
Autograde button grade through the running service (warm: about a second) instead of a cold
``autograde`` run.

``autograder.nbgrader_safe.SandboxedAutograde`` calls ``grade_via_service`` first and runs
``autograde`` itself only when it returns False (no service running).
"""
import json
import os
import uuid
from pathlib import Path

from course.submit import ServiceError, request, wait


def running(state):
    """``(url, instructor token)`` of the service whose state folder is ``state``, or None
    when none runs there."""
    try:
        info = json.loads(Path(state, "service.json").read_text())
        token = Path(state, "instructor.token").read_text().strip()
        os.kill(info["pid"], 0)
        request("GET", f"{info['url']}api/health", token, timeout=5, tries=1)
    except (OSError, ValueError, KeyError, ServiceError):
        return None
    return info["url"], token


def grade_via_service(course_root, student, assignment, state=None, timeout=600.0):
    """Grade ``<course_root>/submitted/<student>/<assignment>/`` with the running service and
    record it (gradebook, ``autograded/``, feedback, CSVs) as ``autograde`` would: True once
    recorded; False when no service runs (``state``: its folder, default ``<course>/serve``).
    Raises ``RuntimeError`` (with the service's reason) when it could not be graded."""
    found = running(state or Path(course_root) / "serve")
    if found is None:
        return False
    url, token = found
    try:
        sent = request("POST", f"{url}api/submissions", token,
                       {"assignment": assignment, "student": student, "from_submitted": True},
                       key=uuid.uuid4().hex)
        done = wait(url, token, sent, timeout)
    except ServiceError as error:
        raise RuntimeError(f"the grading service could not grade {student}/{assignment}: "
                           f"{error}") from None
    if done["state"] != "done":
        reason = (done.get("verdict") or {}).get("reason", "still queued after "
                                                           f"{timeout:g} s")
        raise RuntimeError(f"the grading service could not grade {student}/{assignment}: "
                           f"{reason}")
    return True
