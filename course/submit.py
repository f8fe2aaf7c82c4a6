"""Check your notebook with the course's grading service, from inside the notebook::

    from course.submit import check; check()

submits the notebook as last saved (save it first: Ctrl-S) and shows the hidden tests'
verdicts: each test's points and message (or only the score, as your instructor chose). Each
check uses one of the assignment's checked submissions; a check that is retried after a
network error does not use a second one.

Where the service is and who you are: ``AUTOGRADE_URL`` (default ``http://127.0.0.1:8787/``)
and ``AUTOGRADE_TOKEN`` (in JupyterHub, your server's ``JUPYTERHUB_API_TOKEN``), or the
``url``/``token`` arguments.
"""
import html
import json
import os
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8787/"


class ServiceError(RuntimeError):
    """The service answered with an error (``status``, its message), or could not be reached."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def request(method, url, token, body=None, key=None, timeout=90.0, tries=4):
    """One JSON request to the service: the answer's JSON. A network failure is tried again
    (``tries`` in all; with the same ``key``, a submission is not made twice); an answer
    with an error status raises ``ServiceError`` with the service's message."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    for attempt in range(tries):
        try:
            with urllib.request.urlopen(urllib.request.Request(
                    url, data=data, method=method, headers=headers), timeout=timeout) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:
            try:
                message = json.loads(error.read()).get("error") or str(error)
            except ValueError:
                message = str(error)
            raise ServiceError(error.code, message) from None
        except (urllib.error.URLError, OSError) as error:
            if attempt == tries - 1:
                raise ServiceError(None, f"cannot reach the grading service at {url}: "
                                         f"{getattr(error, 'reason', error)}") from None
            time.sleep(0.5 * 2 ** attempt)


def submit(assignment, notebooks, *, url=None, token=None, key=None, timeout=300.0):
    """Send ``notebooks`` (``{stem: notebook JSON}``) of ``assignment`` and wait for the
    verdict: the submission as the service shows it (``Verdict``)."""
    url, token = _where(url, token)
    key = key or uuid.uuid4().hex
    sent = request("POST", f"{url}api/submissions", token,
                   {"assignment": assignment, "notebooks": notebooks}, key)
    return Verdict(wait(url, token, sent, timeout))


def wait(url, token, submission, timeout):
    """Wait for the verdict of ``submission`` (as the service showed it)."""
    deadline = time.monotonic() + timeout
    while submission["state"] == "queued" and time.monotonic() < deadline:
        submission = request("GET", f"{url}api/submissions/{submission['id']}?wait=30", token)
    return submission


def check(notebook=None, *, assignment=None, url=None, token=None, timeout=300.0):
    """Submit ``notebook`` (default: this notebook, as saved) of ``assignment`` (default: its
    folder's name) and return its verdict, shown in the notebook."""
    path = Path(notebook or os.environ.get("JPY_SESSION_NAME") or "")
    if not notebook and not path.is_file():   # a path from the server's root: the kernel
        path = Path(path.name)                # runs in the notebook's folder
    if path.suffix != ".ipynb" or not path.is_file():
        return Verdict({"error": "cannot tell which notebook this is: call "
                                 "check('path/to/notebook.ipynb')"})
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        return submit(assignment or path.resolve().parent.name, {path.stem: content},
                      url=url, token=token, timeout=timeout)
    except ValueError:
        return Verdict({"error": f"{path} is not a notebook file (save it again)"})
    except ServiceError as error:
        return Verdict({"error": str(error)})


def _where(url, token):
    url = url or os.environ.get("AUTOGRADE_URL") or DEFAULT_URL
    token = token or os.environ.get("AUTOGRADE_TOKEN") or os.environ.get("JUPYTERHUB_API_TOKEN")
    if not token:
        raise ServiceError(None, "no token: set AUTOGRADE_TOKEN to the token your instructor "
                                 "gave you, or pass check(token=...)")
    return url.rstrip("/") + "/", token


class Verdict(dict):
    """A submission as the service shows it, or ``{"error": message}``; shown in the notebook
    as a table of the hidden tests' verdicts."""

    def _repr_html_(self):
        if "error" in self:
            return f'<p style="color:#b00"><b>Not checked:</b> {html.escape(self["error"])}</p>'
        found = self.get("verdict")
        if self.get("state") == "queued" or not found:
            return "<p>Still being graded: run <code>check()</code>'s cell again later.</p>"
        left = '<td style="text-align:left">'   # JupyterLab right-aligns table cells
        rows = "".join(
            f"<tr><td>{'&#x2714;' if t['status'] == 'passed' else '&#x2718;'}</td>"
            f"{left}<code>{html.escape(t['test'])}</code></td>"
            f"<td>{(t['points'] or 0):g}/{t['max_points']:g}</td>"
            f"{left}{html.escape(t['message'])}</td></tr>" for t in found.get("tests", []))
        table = ('<table><tr><th></th><th style="text-align:left">test</th><th>points</th>'
                 f'<th style="text-align:left">message</th></tr>{rows}</table>') if rows else ""
        note = f"<p>{html.escape(found['reason'])}</p>" if found.get("reason") else ""
        return f"<p>{html.escape(self._headline())}</p>{table}{note}"

    def _headline(self):
        found = self["verdict"]
        if "score" not in found:
            return found.get("reason", "not graded")
        limit = "" if self.get("attempts") is None else f" of {self['attempts']}"
        pending = f" (+{found['pending']:g} written, graded by hand)" if found["pending"] else ""
        return (f"{self['assignment']}: {found['score']:g}/{found['max_score']:g} points"
                f"{pending}; checked submission {self['attempts_used']}{limit}"
                f"{'; after the deadline' if self.get('late') else ''}")

    def __str__(self):
        if "error" in self:
            return f"Not checked: {self['error']}"
        if not self.get("verdict"):
            return "Still being graded"
        lines = [self._headline()] + [
            f"  {t['test']}: {(t['points'] or 0):g}/{t['max_points']:g} {t['message']}"
            for t in self["verdict"].get("tests", [])]
        return "\n".join(lines)
