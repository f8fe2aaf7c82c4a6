"""The trusted side of a sandbox: one notebook's session.

A :class:`Session` runs one notebook's code cells in a sandbox forked by the worker's
template process (``autograder.engine.template.Zygote``). At each checkpoint (where test cells
stand) the student's process pauses and its state there serves that position's tests through a
:class:`~autograder.engine.proxies.Channel`, as nbgrader runs a test cell where it stands: a
later cell cannot change an earlier test's verdict. If a cell kills its process or runs past
its timeout, the sandbox is killed, the cell is marked crashed/timeout, and a fresh sandbox
replays the cells before it (the cell itself is skipped): a dead or hung cell costs only
itself. A test that kills the sandbox costs only itself too: the replay stops at the
checkpoints not yet judged.
"""
import functools
import os
import select
import signal
import socket
import time
from dataclasses import dataclass, field

from autograder.engine import wire
from autograder.engine.proxies import Channel, StudentCrashed
from autograder.engine.template import SandboxError
from autograder.engine.wire import Op

OUTPUT_TYPES = {"stream", "display_data", "execute_result", "error"}
KEPT_MIMETYPES = {"text/plain", "image/png", "image/jpeg",
                  "application/vnd.jupyter.widget-view+json"}


@dataclass
class CellRun:
    """What happened to one code cell of the submission."""
    status: str                  # "ok", "error", "crashed", "timeout"
    outputs: list = field(default_factory=list)
    execution_count: int | None = None
    seconds: float = 0.0
    error: str | None = None     # exception name, for status "error"
    message: str = ""
    dropped: int = 0             # bytes of output beyond the limit
    strays: bool = False         # it left processes running (they were killed)


def describe_exit(status):
    """A wait status in words: 'killed by signal 11 (segmentation fault)', 'exit code 3'."""
    if status is None:
        return "the process disappeared"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        names = {signal.SIGSEGV: "segmentation fault", signal.SIGKILL: "killed",
                 signal.SIGXCPU: "CPU time limit", signal.SIGXFSZ: "file size limit",
                 signal.SIGABRT: "aborted", signal.SIGBUS: "bus error"}
        return f"killed by signal {number} ({names.get(number, signal.Signals(number).name)})"
    return f"exit code {os.WEXITSTATUS(status)}"


class Session:
    """Runs a notebook's cells in a sandbox, serving its state at each checkpoint to the
    checker. ``checkpoints``: the notebook indices of the test cells' positions."""

    def __init__(self, zygote, submission, cells, *, cell_timeout, memory_mb, checkpoints=()):
        self.zygote, self.submission, self.cells = zygote, str(submission), cells
        self.cell_timeout, self.memory_mb = cell_timeout, memory_mb
        self.checkpoints = sorted(checkpoints)
        self.runs = {}          # cell index -> CellRun
        self.skip = set()       # cells that crashed or timed out: never run again
        self.judged = set()     # checkpoints whose tests all have a verdict
        self.ctrl = self.status = self.pidfd = self.peer = None
        self.status_buffer = b""
        self.ready = False
        self.server = None         # the Channel serving the test cells
        self.start_seconds = 0.0   # time spent forking and setting up sandboxes

    # -- lifecycle --------------------------------------------------------------------------

    def _start(self, stops):
        begin = time.perf_counter()
        self.ctrl, self.status = self.zygote.fork()
        cpu = int(self.cell_timeout * (len(self.cells) + 20)) + 30
        try:
            wire.send(self.ctrl, {"op": Op.JOB, "submission": self.submission,
                                  "uid": self.zygote.next_uid(),
                                  "memory_mb": self.memory_mb, "cpu_seconds": cpu,
                                  "skip": sorted(self.skip), "cells": self.cells,
                                  "checkpoints": stops},
                      deadline=time.monotonic() + 60)
        except (OSError, wire.Timeout) as error:
            raise SandboxError(f"the sandbox did not take its job: {error!r}") from None
        line = self._status_line(time.monotonic() + 60)
        if line is None:
            raise SandboxError(f"the sandbox ({self.zygote.layer} layer) did not start"
                               f"{self._fatal_text()}")
        try:
            self.peer = wire.Peer(int(line))   # I: only its messages count
            self.pidfd = os.pidfd_open(self.peer.pid)
        except (ValueError, ProcessLookupError):
            self.pidfd = None
        self.start_seconds += time.perf_counter() - begin

    def _fatal_text(self):
        try:
            header, _ = wire.recv(self.ctrl, deadline=time.monotonic() + 1)
        except (wire.Closed, wire.Timeout, wire.ProtocolError):
            return ""
        return f": {header.get('error', '')}" if header.get("op") == Op.FATAL else ""

    def _status_line(self, deadline):
        while b"\n" not in self.status_buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.status], [], [], left)[0]:
                return None
            chunk = os.read(self.status, 64)
            if not chunk:
                return None
            self.status_buffer += chunk
        line, self.status_buffer = self.status_buffer.split(b"\n", 1)
        return line.decode()

    @property
    def alive(self):
        """Whether the sandbox is running (a test that timed out killed it)."""
        return self.ctrl is not None

    def kill(self, wait=True):
        """Kill the sandbox (its PID 1, hence every process in it).

        Returns its wait status if ``wait`` (read from S, which saw it die), else None.
        """
        self._stop_server()
        if self.ctrl is None:
            return None
        if self.pidfd is not None:
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.close(self.pidfd)
        line = self._status_line(time.monotonic() + 2) if wait else None
        self.ctrl.close()
        os.close(self.status)
        self.ctrl = self.status = self.pidfd = None
        self.status_buffer = b""
        self.ready = False
        return int(line) if line and line.lstrip("-").isdigit() else None

    def close(self):
        """Kill the sandbox without waiting for it to be torn down."""
        self.kill(wait=False)

    # -- running the cells ------------------------------------------------------------------

    def run(self, judge=None):
        """Run every cell (replaying after crashes), calling ``judge(at)`` while the student's
        process is paused at the checkpoint ``at`` (``judge`` serves the tests there through
        :meth:`channel`, and says whether every one has its verdict; if the sandbox died
        first, a replay stops there again).

        Anything unexpected is blamed on the cell that was running, or, between cells, on the
        last one that finished (its code may have left a thread or a forked process behind).
        """
        while not self.ready:
            pending = [cell["index"] for cell in self.cells if cell["index"] not in self.skip]
            stops = [at for at in self.checkpoints if at not in self.judged]
            self._start(stops)
            current = last = None
            started = time.monotonic()
            try:
                while True:
                    header, _ = wire.recv(self.ctrl, deadline=time.monotonic() + self.cell_timeout,
                                          peer=self.peer)
                    op = header.get("op")
                    if op == Op.START and current is None and pending \
                            and header.get("cell") == pending[0] \
                            and not (stops and stops[0] < pending[0]):
                        current, started = pending.pop(0), time.monotonic()
                    elif op == Op.DONE and current is not None and header.get("cell") == current:
                        self.runs[current] = _cell_run(header, time.monotonic() - started)
                        current, last = None, current
                    elif op == Op.CHECKPOINT and current is None and stops \
                            and header.get("at") == stops[0] \
                            and not (pending and pending[0] < stops[0]):
                        at = stops.pop(0)
                        if judge is None or judge(at):
                            self.judged.add(at)
                        if not self.alive:   # a test killed the sandbox: replay
                            break
                        self._stop_server()
                        wire.send(self.ctrl, {"op": Op.CONTINUE},
                                  deadline=time.monotonic() + self.cell_timeout)
                    elif op == Op.READY and current is None and not pending and not stops:
                        self.ready = True
                        break
                    elif op == Op.FATAL and current is None and last is None:
                        self.kill()
                        raise SandboxError(f"the sandbox failed: {header.get('error', '')}")
                    else:
                        raise wire.ProtocolError(f"unexpected message {op!r}")
            except wire.Timeout:
                self.kill(wait=False)
                self._lost(_blame(current, last, pending), CellRun(
                    "timeout", message=f"timed out after {self.cell_timeout:g} s "
                                       "(an infinite loop?) and was stopped"))
            except (wire.Closed, wire.ProtocolError, OSError) as error:
                status = self.kill()
                why = describe_exit(status) if isinstance(error, wire.Closed) else \
                    f"it sent a malformed message: {error}" if isinstance(
                        error, wire.ProtocolError) else f"its socket failed: {error}"
                self._lost(_blame(current, last, pending), CellRun(
                    "crashed", message=f"the kernel died while running this cell ({why})"))
        return self.runs

    def _lost(self, index, run):
        if index is None:
            raise SandboxError(f"the sandbox died outside any cell: {run.message}")
        run.seconds = self.cell_timeout if run.status == "timeout" else 0.0
        self.runs[index] = run
        self.skip.add(index)

    # -- serving the tests ------------------------------------------------------------------

    def channel(self, seconds):
        """The :class:`Channel` to a server process (a fork of the student's process, paused
        at a checkpoint) for a test cell whose calls may take ``seconds`` in all. The server
        is forked for the checkpoint's first test cell and again after one crashed; if that
        fails, the sandbox is killed (``run`` replays it for the next checkpoint)."""
        if self.server is not None and not self.server.broken:
            self.server.budget = seconds
            return self.server
        if self.ctrl is not None:
            ours, theirs = socket.socketpair()
            wire.listen_for_credentials(ours)
            try:
                soon = time.monotonic() + 10
                wire.send(self.ctrl, {"op": Op.SERVE}, fds=[theirs.fileno()], deadline=soon)
                theirs.close()
                header, _ = wire.recv(self.ctrl, deadline=soon, peer=self.peer)
                server = wire.Peer()   # the server's first words, before any student code
                hello, _ = wire.recv(ours, deadline=soon, peer=server)
                if header.get("op") == Op.SERVING and hello.get("op") == Op.HELLO:
                    self.server = Channel(ours, seconds, server,
                                          stop=functools.partial(self.kill, wait=False))
                    return self.server
            except (OSError, wire.Closed, wire.Timeout, wire.ProtocolError):
                pass
            theirs.close()
            ours.close()
            self.kill()
        raise StudentCrashed("the student's process could not serve the tests")

    def _stop_server(self):
        if self.server is not None:
            self.server.sock.close()
            self.server = None


def _blame(current, last, pending):
    """The cell to blame for a failure: running, else last finished, else next."""
    for index in (current, last, pending[0] if pending else None):
        if index is not None:
            return index
    return None


def _output(output):
    """A student-sent output rebuilt as a clean nbformat output (None if malformed)."""
    if not isinstance(output, dict) or output.get("output_type") not in OUTPUT_TYPES:
        return None
    kind = output["output_type"]
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return {"output_type": "stream", "name": name, "text": wire.text(output.get("text"))}
    if kind == "error":
        traceback = output.get("traceback")
        return {"output_type": "error", "ename": wire.text(output.get("ename"), 200),
                "evalue": wire.text(output.get("evalue"), 4000),
                "traceback": [wire.text(line, 4000) for line in traceback[:40]]
                if isinstance(traceback, list) else []}
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    data = {mime: value for mime, value in data.items()
            if mime in KEPT_MIMETYPES and isinstance(value, (str, dict))}
    if "text/plain" not in data:
        data["text/plain"] = ""
    clean = {"output_type": kind, "data": data, "metadata": {}}
    if kind == "execute_result":
        count = output.get("execution_count")
        clean["execution_count"] = count if type(count) is int else None
    return clean


def _cell_run(header, seconds):
    outputs = header.get("outputs") if isinstance(header.get("outputs"), list) else []
    outputs = [clean for clean in map(_output, outputs[:200]) if clean is not None]
    error = header.get("error") if isinstance(header.get("error"), str) else None
    count = header.get("execution_count")
    dropped = header.get("dropped")
    return CellRun("error" if error else "ok", outputs,
                   count if type(count) is int else None, seconds, error and error[:200],
                   wire.text(header.get("evalue"), 300), dropped if type(dropped) is int else 0,
                   header.get("strays") is True)
