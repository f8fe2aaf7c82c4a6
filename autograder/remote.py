"""The trusted side: sandboxed student sessions, and the proxies the hidden tests call.

A :class:`Session` runs one notebook's code cells in a sandbox forked by the worker's
:class:`Zygote`. If a cell kills its process or runs past its timeout, the sandbox is killed,
the cell is marked crashed/timeout, and a fresh sandbox replays the cells before it (the
cell itself is skipped): a dead or hung cell costs only itself.

The hidden tests run in *this* process, never in the sandbox, in a namespace where each
graded name is a proxy: :class:`RemoteFunction` sends the arguments with ``torch.save`` to
a fork of the student's final state (one for the notebook's tests, another after a crash or
timeout) and rebuilds the answer with ``autograder.wire.load_value``, so only genuine
tensors and plain values reach the test.
Objects (a ``Conv2D`` layer) stay in the sandbox behind a :class:`StudentObject` handle whose
parameters are mirrored here, so tests can read, set and differentiate them.
"""
import builtins
import itertools
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

import torch

from autograder import wire

ZYGOTE_START_SECONDS = 300
OUTPUT_TYPES = {"stream", "display_data", "execute_result", "error"}
KEPT_MIMETYPES = {"text/plain", "image/png", "image/jpeg",
                  "application/vnd.jupyter.widget-view+json"}


class SandboxError(RuntimeError):
    """The grader could not start or talk to a sandbox (not the submission's fault)."""


class StudentCrashed(BaseException):
    """The student's process died while serving a test (a BaseException: tests cannot catch it)."""


class StudentTimeout(BaseException):
    """The student's code used up the test cell's time."""


# ------------------------------------------------------------------------------------------
# The zygote: this worker's clean template process
# ------------------------------------------------------------------------------------------


class Zygote:
    """A fresh interpreter with torch imported that forks one sandbox per request, confined
    by the isolation ``layer`` (see ``autograder.isolation``).

    It starts in the background; :meth:`wait_ready` waits for its greeting.
    """

    def __init__(self, layer):
        self.layer = layer
        ours, theirs = socket.socketpair()
        env = {key: value for key, value in os.environ.items()
               if key in ("PATH", "LANG", "LC_ALL", "VIRTUAL_ENV", "PYTHONPATH")}
        env["MPLBACKEND"] = "Agg"
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder.student", str(theirs.fileno()), layer],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self.log, cwd="/", env=env)
        theirs.close()
        self.sock = ours
        self.sandboxes = itertools.count()
        self.lock = threading.Lock()   # a threaded worker (Dask) may grade concurrently

    def wait_ready(self):
        try:
            header, _ = wire.recv(self.sock, deadline=time.monotonic() + ZYGOTE_START_SECONDS)
        except (wire.Closed, wire.Timeout, wire.ProtocolError) as error:
            self.process.kill()
            self.log.seek(0)
            tail = self.log.read()[-2000:].decode(errors="replace")
            raise SandboxError(f"the sandbox template process did not start ({error!r}): "
                               f"{tail}") from None
        if header.get("op") != "ready":
            raise SandboxError(f"unexpected greeting from the template process: {header}")
        return self

    def next_uid(self):
        """A fresh unprivileged uid for the next sandbox: unique among this machine's live
        workers (their pids differ), and different from the last 32 sandboxes of this one,
        whose processes may still be dying (the process limit counts per uid)."""
        return (1 << 20) + os.getpid() * 32 + next(self.sandboxes) % 32

    def alive(self):
        return self.process.poll() is None

    def fork(self):
        """A new sandbox parent: ``(control socket, status pipe's read end)``."""
        ours, theirs = socket.socketpair()
        wire.listen_for_credentials(ours)
        status_read, status_write = os.pipe()
        try:
            with self.lock:
                wire.send(self.sock, {"op": "fork"}, fds=[theirs.fileno(), status_write])
        except OSError as error:
            raise SandboxError(f"the sandbox template process is gone: {error}") from None
        finally:
            theirs.close()
            os.close(status_write)
        return ours, status_read

    def close(self):
        self.sock.close()
        self.process.kill()
        self.process.wait()


# ------------------------------------------------------------------------------------------
# A session: one notebook's student process
# ------------------------------------------------------------------------------------------


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
    """Runs a notebook's cells in a sandbox and serves its final state to the checker."""

    def __init__(self, zygote, submission, cells, *, cell_timeout, memory_mb):
        self.zygote, self.submission, self.cells = zygote, str(submission), cells
        self.cell_timeout, self.memory_mb = cell_timeout, memory_mb
        self.runs = {}          # cell index -> CellRun
        self.skip = set()       # cells that crashed or timed out: never run again
        self.ctrl = self.status = self.pidfd = self.peer = None
        self.status_buffer = b""
        self.ready = False
        self.server = None         # the Channel serving the test cells
        self.start_seconds = 0.0   # time spent forking and setting up sandboxes

    # -- lifecycle --------------------------------------------------------------------------

    def _start(self):
        begin = time.perf_counter()
        self.ctrl, self.status = self.zygote.fork()
        cpu = int(self.cell_timeout * (len(self.cells) + 20)) + 30
        try:
            wire.send(self.ctrl, {"op": "job", "submission": self.submission,
                                  "uid": self.zygote.next_uid(),
                                  "memory_mb": self.memory_mb, "cpu_seconds": cpu,
                                  "skip": sorted(self.skip), "cells": self.cells},
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
        return f": {header.get('error', '')}" if header.get("op") == "fatal" else ""

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

    def kill(self, wait=True):
        """Kill the sandbox (its PID 1, hence every process in it).

        Returns its wait status if ``wait`` (read from S, which saw it die), else None.
        """
        if self.server is not None:
            self.server.sock.close()
            self.server = None
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

    def run(self):
        """Run every cell (replaying after crashes) until the final state is ready.

        Anything unexpected is blamed on the cell that was running, or, between cells, on the
        last one that finished (its code may have left a thread or a forked process behind).
        """
        while not self.ready:
            pending = [cell["index"] for cell in self.cells if cell["index"] not in self.skip]
            self._start()
            current = last = None
            started = time.monotonic()
            try:
                while True:
                    header, _ = wire.recv(self.ctrl, deadline=time.monotonic() + self.cell_timeout,
                                          peer=self.peer)
                    op = header.get("op")
                    if op == "start" and current is None and pending \
                            and header.get("cell") == pending[0]:
                        current, started = pending.pop(0), time.monotonic()
                    elif op == "done" and current is not None and header.get("cell") == current:
                        self.runs[current] = _cell_run(header, time.monotonic() - started)
                        current, last = None, current
                    elif op == "ready" and current is None and not pending:
                        self.ready = True
                        break
                    elif op == "fatal" and current is None and last is None:
                        self.kill()
                        raise SandboxError(f"the sandbox failed: {header.get('error', '')}")
                    else:
                        raise wire.ProtocolError(f"unexpected message {op!r}")
            except wire.Timeout:
                self.kill(wait=False)
                self._lost(_blame(current, last, pending), CellRun(
                    "timeout", message=f"timed out after {self.cell_timeout:g} s "
                                       "(an infinite loop?) and was stopped"))
            except (wire.Closed, wire.ProtocolError) as error:
                status = self.kill()
                why = describe_exit(status) if isinstance(error, wire.Closed) else \
                    f"it sent a malformed message: {error}"
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
        """The :class:`Channel` to a server process (a fork of the final state) for a test
        cell whose calls may take ``seconds`` in all. The server is forked for the first test
        cell and again after a test cell crashed or timed out."""
        if self.server is not None and not self.server.broken:
            self.server.budget = seconds
            return self.server
        for _ in range(2):
            if not self.ready:
                self.run()
            ours, theirs = socket.socketpair()
            wire.listen_for_credentials(ours)
            try:
                soon = time.monotonic() + 10
                wire.send(self.ctrl, {"op": "serve"}, fds=[theirs.fileno()], deadline=soon)
                theirs.close()
                header, _ = wire.recv(self.ctrl, deadline=soon, peer=self.peer)
                server = wire.Peer()   # the server's first words, before any student code
                hello, _ = wire.recv(ours, deadline=soon, peer=server)
                if header.get("op") == "serving" and hello.get("op") == "hello":
                    self.server = Channel(ours, seconds, self, server)
                    return self.server
            except (OSError, wire.Closed, wire.Timeout, wire.ProtocolError):
                pass
            theirs.close()
            ours.close()
            self.kill()
        raise StudentCrashed("the student's process could not be restarted")


def _blame(current, last, pending):
    """The cell to blame for a failure: running, else last finished, else next."""
    for index in (current, last, pending[0] if pending else None):
        if index is not None:
            return index
    return None


def _text(value, limit=wire.MAX_HEADER):
    return value[:limit] if isinstance(value, str) else ""


def _output(output):
    """A student-sent output rebuilt as a clean nbformat output (None if malformed)."""
    if not isinstance(output, dict) or output.get("output_type") not in OUTPUT_TYPES:
        return None
    kind = output["output_type"]
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return {"output_type": "stream", "name": name, "text": _text(output.get("text"))}
    if kind == "error":
        traceback = output.get("traceback")
        return {"output_type": "error", "ename": _text(output.get("ename"), 200),
                "evalue": _text(output.get("evalue"), 4000),
                "traceback": [_text(line, 4000) for line in traceback[:40]]
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
                   _text(header.get("evalue"), 300), dropped if type(dropped) is int else 0,
                   header.get("strays") is True)


# ------------------------------------------------------------------------------------------
# The checker's proxies
# ------------------------------------------------------------------------------------------


class Channel:
    """The checker's line to one server process (a fork of the student's final state)."""

    def __init__(self, sock, budget, session, peer):
        self.sock, self.budget, self.session, self.peer = sock, budget, session, peer
        self.counter = itertools.count(1)
        self.broken = False

    def request(self, header, blob=b""):
        """Send one request, wait for its reply; the wait counts against ``budget`` (seconds
        of the student's time left for this test cell; the checker's own work is free)."""
        if self.broken:
            raise StudentCrashed("the student's process is gone")
        began = time.monotonic()
        deadline = began + self.budget
        try:
            wire.send(self.sock, header, blob, deadline=deadline)
            return wire.recv(self.sock, deadline=deadline, peer=self.peer)
        except wire.Timeout:
            self.broken = True
            self.session.kill(wait=False)
            raise StudentTimeout() from None
        except (OSError, wire.Closed, wire.ProtocolError) as error:
            self.broken = True
            self.sock.close()
            raise StudentCrashed(str(error)) from None
        finally:
            self.budget -= time.monotonic() - began

    def call(self, target, args, kwargs, *, trace=False, owner=None):
        """Call the student's ``target`` on ``args``; ``(result, ops)``."""
        mirrors = owner.mirrors if owner is not None else {}
        grad_inputs = [a for a in list(args) + list(kwargs.values())
                       if isinstance(a, torch.Tensor) and a.requires_grad]
        grad_inputs += [m for m in mirrors.values() if m.requires_grad]
        call = next(self.counter)
        blob = wire.dump_value((_encode(args), _encode(kwargs),
                                {name: m.detach().clone().requires_grad_(m.requires_grad)
                                 for name, m in mirrors.items()}))
        header, data = self.request({"op": "call", "target": target, "call": call,
                                     "trace": trace}, blob)
        result, extra = self.answer(header, data)
        after, after_kw = extra if isinstance(extra, tuple) and len(extra) == 2 else ([], {})
        _copy_back(args, after)
        _copy_back(kwargs, after_kw)
        if header.get("grad") is True and grad_inputs and isinstance(result, torch.Tensor):
            result = _RemoteGrad.apply(self, call, result, *grad_inputs)
        ops = header.get("ops") if isinstance(header.get("ops"), list) else []
        return result, {op for op in ops if isinstance(op, str)}

    def answer(self, header, data):
        """The value (or :class:`StudentObject`) a reply carries, and its extra part."""
        if header.get("ok") is not True:
            raise _exception(header.get("type"), header.get("message"))
        try:
            value, extra = wire.load_value(data)
        except (wire.ProtocolError, TypeError, ValueError) as error:
            raise TypeError(f"the result could not be read back: {error}") from None
        handle = header.get("handle")
        if handle is not None:
            names = header.get("parameters") if isinstance(header.get("parameters"), list) else []
            tensors = value if isinstance(value, list) else []
            mirrors = {name: torch.nn.Parameter(t) for name, t in zip(names, tensors)
                       if isinstance(name, str) and isinstance(t, torch.Tensor)
                       and t.is_floating_point()}
            value = StudentObject(self, handle, _text(header.get("type"), 100), mirrors)
        return value, extra


def _encode(value):
    """Checker values ready for ``torch.save``: detached tensors, handles for student objects."""
    if isinstance(value, StudentObject):
        return {"__handle__": object.__getattribute__(value, "handle")}
    if isinstance(value, torch.Tensor):
        tensor = value.detach().clone()
        return tensor.requires_grad_(value.requires_grad and value.is_floating_point())
    if isinstance(value, (list, tuple)):
        return type(value)(_encode(item) for item in value)
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    return value


def _copy_back(original, after):
    """Copy the student's in-place changes of tensor arguments into the checker's tensors."""
    pairs = original.items() if isinstance(original, dict) else enumerate(original)
    for key, tensor in pairs:
        try:
            new = after[key]
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(tensor, torch.Tensor) and isinstance(new, torch.Tensor):
            with torch.no_grad():
                if new.shape == tensor.shape and new.dtype == tensor.dtype:
                    if not torch.equal(new, tensor.detach()):
                        tensor.copy_(new)
                else:
                    tensor.data = new


def _exception(name, message):
    """The student's exception as the same builtin type (other types become RuntimeError)."""
    name = name if isinstance(name, str) else "Exception"
    message = _text(message, 2000)
    kind = getattr(builtins, name, None)
    if isinstance(kind, type) and issubclass(kind, Exception) and kind is not StopIteration:
        try:
            return kind(message)
        except Exception:  # noqa: BLE001 (builtins with other signatures)
            pass
    return RuntimeError(f"{name}: {message}")


class _RemoteGrad(torch.autograd.Function):
    """Connects a remote result to the checker's inputs; backward asks the sandbox."""

    @staticmethod
    def forward(ctx, channel, call, result, *inputs):
        ctx.channel, ctx.call = channel, call
        ctx.shapes = [(tuple(t.shape), t.dtype) for t in inputs]
        return result.clone()

    @staticmethod
    def backward(ctx, grad_output):
        header, data = ctx.channel.request({"op": "backward", "call": ctx.call},
                                           wire.dump_value(grad_output.detach()))
        grads, _ = ctx.channel.answer(header, data)
        if not isinstance(grads, list) or len(grads) != len(ctx.shapes):
            raise RuntimeError("the student's process returned malformed gradients")
        clean = []
        for grad, (shape, dtype) in zip(grads, ctx.shapes):
            if grad is not None and (not isinstance(grad, torch.Tensor)
                                     or tuple(grad.shape) != shape):
                raise RuntimeError("the student's process returned a gradient of the wrong shape")
            clean.append(None if grad is None else grad.to(dtype))
        return (None, None, None, *clean)


class RemoteFunction:
    """A graded function (or class) of the student, called in the sandbox."""

    def __init__(self, channel, name):
        self._channel, self.__name__, self.__qualname__ = channel, name, name

    def __call__(self, *args, **kwargs):
        return self._channel.call({"name": self.__name__}, args, kwargs)[0]

    def __traced_call__(self, *args, **kwargs):
        return self._channel.call({"name": self.__name__}, args, kwargs, trace=True)

    def __repr__(self):
        return f"<student's {self.__name__}>"


class StudentObject:
    """An object that lives in the sandbox (e.g. a ``Conv2D`` layer).

    Its parameters are mirrored here as ``nn.Parameter``s: reading ``layer.weight`` gives the
    mirror; calling the object first sends the mirrors' values, and gradients flow back into
    them. Other attributes are read from the sandbox.
    """

    def __init__(self, channel, handle, type_name, mirrors):
        object.__setattr__(self, "channel", channel)
        object.__setattr__(self, "handle", handle)
        object.__setattr__(self, "type_name", type_name)
        object.__setattr__(self, "mirrors", mirrors)

    def __getattr__(self, name):
        mirrors = object.__getattribute__(self, "mirrors")
        if name in mirrors:
            return mirrors[name]
        channel = object.__getattribute__(self, "channel")
        header, data = channel.request({"op": "getattr", "name": name,
                                        "handle": object.__getattribute__(self, "handle")})
        return channel.answer(header, data)[0]

    def __setattr__(self, name, value):
        mirrors = object.__getattribute__(self, "mirrors")
        if name in mirrors and isinstance(value, torch.Tensor):
            mirrors[name] = value if isinstance(value, torch.nn.Parameter) else \
                torch.nn.Parameter(value.detach().clone())
            return
        channel = object.__getattribute__(self, "channel")
        header, data = channel.request(
            {"op": "setattr", "name": name, "handle": object.__getattribute__(self, "handle")},
            wire.dump_value(_encode(value)))
        channel.answer(header, data)

    def __call__(self, *args, **kwargs):
        return self.__traced_call(args, kwargs, False)[0]

    def __traced_call__(self, *args, **kwargs):
        return self.__traced_call(args, kwargs, True)

    def __traced_call(self, args, kwargs, trace):
        channel = object.__getattribute__(self, "channel")
        return channel.call({"handle": object.__getattribute__(self, "handle")}, args, kwargs,
                            trace=trace, owner=self)

    def parameters(self):
        return iter(list(object.__getattribute__(self, "mirrors").values()))

    def named_parameters(self):
        return iter(list(object.__getattribute__(self, "mirrors").items()))

    def __bool__(self):
        raise TypeError(f"{self!r} has no truth value here: return a bool, a number or a tensor")

    def __repr__(self):
        return f"<student's {object.__getattribute__(self, 'type_name')} object>"
