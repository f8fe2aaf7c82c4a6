"""The student side: a clean template process, and the sandbox that runs one submission.

``python -m autograder.student FD`` is the *zygote*: a fresh interpreter (it never saw a
submission, the answer key or a source notebook) that imports torch, d2l, matplotlib and
IPython once, then forks one *sandbox* per request on the socket FD. In a sandbox:

    S (root, no student code)   unshares namespaces, builds the sandbox root, forks I, and
                                reports I's pid and exit status on a pipe only it holds
    I (PID 1, unprivileged)     runs the submission's code cells in an IPython shell, one
                                message per cell, then forks a server T on request
    T                           calls the student's functions for the trusted checker

All the student processes die with I (the PID namespace). Nothing I or T send is trusted by
the grader (see ``autograder.wire``).
"""
import gc
import io
import json
import os
import signal
import socket
import sys
import time
import traceback
import types

from autograder import sandbox, wire

OUTPUT_LIMIT = 64 << 10       # bytes of output kept per cell
MESSAGE_LIMIT = 2000          # characters of an exception message sent back


# ------------------------------------------------------------------------------------------
# Output capture
# ------------------------------------------------------------------------------------------


class CellOutput:
    """The outputs of one cell in nbformat v4 form, at most ``OUTPUT_LIMIT`` bytes kept."""

    DROPPED = {"text/plain": "(output too large, dropped)"}

    def __init__(self):
        self.outputs = []
        self.kept = 0
        self.dropped = 0

    def _room(self, size):
        if self.kept + size > OUTPUT_LIMIT:
            self.dropped += size
            return False
        self.kept += size
        return True

    def stream(self, name, text):
        if not self._room(len(text)):
            text = text[:max(0, OUTPUT_LIMIT - self.kept)]
            self.kept += len(text)
            if not text:
                return
        last = self.outputs[-1] if self.outputs else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def data(self, output_type, data, metadata, execution_count=None):
        data = {key: value for key, value in data.items() if isinstance(value, (str, dict, list))}
        size = len(json.dumps(data, default=str))
        if not self._room(size):
            if self.outputs and self.outputs[-1].get("data") == self.DROPPED:
                return
            data = self.DROPPED
        output = {"output_type": output_type, "data": data, "metadata": metadata or {}}
        if output_type == "execute_result":
            output["execution_count"] = execution_count
        self.outputs.append(output)


class Stream(io.TextIOBase):
    """``sys.stdout`` / ``sys.stderr`` of the student's cells."""

    def __init__(self, name, sink):
        self.name, self.sink = name, sink

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.sink.stream(self.name, text)
        return len(text)

    def isatty(self):
        return False


def make_shell():
    """The IPython shell that runs the cells: no history file, plain tracebacks."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class Hook(DisplayHook):
        """Records a cell's value as an ``execute_result``."""

        def __call__(self, result=None):
            if result is None or self.shell.capture is None:
                return
            self.check_for_underscore()
            self.update_user_ns(result)
            data, metadata = self.shell.display_formatter.format(result)
            self.shell.capture.data("execute_result", data, metadata,
                                    self.shell.execution_count)

    class Publisher(DisplayPublisher):
        """Records ``display()`` calls as ``display_data``."""

        def publish(self, data, metadata=None, source=None, *, transient=None, update=False):
            if self.shell.capture is not None:
                self.shell.capture.data("display_data", data, metadata)

        def clear_output(self, wait=False):
            if self.shell.capture is not None:
                self.shell.capture.outputs.clear()

    class GradingShell(InteractiveShell):
        capture = None
        error = None

        def _showtraceback(self, etype, evalue, stb):
            self.error = {"ename": str(getattr(etype, "__name__", "Exception")),
                          "evalue": _message(evalue),
                          "traceback": [line[:MESSAGE_LIMIT] for line in stb[-20:]]}

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "nocolor"
    config.InteractiveShell.xmode = "Plain"
    shell = GradingShell(config=config)
    shell.displayhook = Hook(shell=shell, cache_size=0)
    shell.display_trap.hook = shell.displayhook
    shell.display_pub = Publisher(shell=shell)
    return shell


def run_cell(shell, source):
    """Run ``source`` in ``shell``; the cell's record for the grader."""
    sink = CellOutput()
    shell.capture, shell.error = sink, None
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Stream("stdout", sink), Stream("stderr", sink)
    try:
        shell.run_cell(source, store_history=True)
    finally:
        sys.stdout, sys.stderr = stdout, stderr
        shell.capture = None
    error = shell.error
    if error:
        sink.outputs.append({"output_type": "error", **error})
    return {"outputs": sink.outputs, "error": error and error["ename"],
            "evalue": error and error["evalue"][:300], "dropped": sink.dropped,
            "execution_count": shell.execution_count - 1}


# ------------------------------------------------------------------------------------------
# The server: calls the student's functions for the checker
# ------------------------------------------------------------------------------------------


class Server:
    """Serves the checker on ``sock``: calls, attribute access, gradients."""

    def __init__(self, namespace, sock, tracer):
        self.namespace, self.sock, self.tracer = namespace, sock, tracer
        self.handles = {}
        self.calls = {}

    def loop(self):
        wire.send(self.sock, {"op": "hello"})   # the grader learns this process's pid
        while True:
            try:
                header, blob = wire.recv(self.sock)
            except (wire.Closed, wire.ProtocolError):
                return
            try:
                reply, data = self.answer(header, blob)
            except BaseException as error:  # noqa: BLE001 (student code raised: report it)
                reply, data = {"ok": False, "type": type(error).__name__,
                               "message": _message(error)}, b""
            try:
                wire.send(self.sock, reply, data)
            except (TypeError, ValueError) as error:
                wire.send(self.sock, {"ok": False, "type": "TypeError",
                                      "message": f"cannot send the result: {error}"})

    def answer(self, header, blob):
        op = header["op"]
        if op == "call":
            return self.call(header, blob)
        if op == "backward":
            return self.backward(header, blob)
        if op == "getattr":
            return self.reply(getattr(self.handles[header["handle"]], header["name"]))
        if op == "setattr":
            setattr(self.handles[header["handle"]], header["name"], _load(blob))
            return self.reply(None)
        raise ValueError(f"unknown request {op!r}")

    def resolve(self, value):
        """Checker values with student objects (``{"__handle__": id}``) put back."""
        if isinstance(value, dict) and set(value) == {"__handle__"}:
            return self.handles[value["__handle__"]]
        if isinstance(value, (list, tuple)):
            return type(value)(self.resolve(item) for item in value)
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        return value

    def call(self, header, blob):
        import torch
        args, kwargs, mirrors = _load(blob)
        args, kwargs = self.resolve(args), self.resolve(kwargs)
        target = header["target"]
        if "name" in target:
            if target["name"] not in self.namespace:
                raise NameError(f"name '{target['name']}' is not defined")
            function = self.namespace[target["name"]]
        else:
            function = self.handles[target["handle"]]
        parameters = dict(function.named_parameters()) if isinstance(
            function, torch.nn.Module) else {}
        for name, value in mirrors.items():
            if name in parameters and parameters[name].shape == value.shape:
                with torch.no_grad():
                    parameters[name].copy_(value)
                parameters[name].requires_grad_(value.requires_grad)
            else:
                parameters[name] = value
        if header.get("trace"):
            result, ops = self.tracer(function, *args, **kwargs)
        else:
            result, ops = function(*args, **kwargs), ()
        inputs = [a for a in list(args) + list(kwargs.values())
                  if isinstance(a, torch.Tensor) and a.requires_grad]
        inputs += [parameters[name] for name, value in mirrors.items() if value.requires_grad]
        grad = isinstance(result, torch.Tensor) and result.requires_grad and bool(inputs)
        if grad:
            self.calls[header["call"]] = (result, inputs)
        after = [a.detach() if isinstance(a, torch.Tensor) else None for a in args]
        after_kw = {k: v.detach() for k, v in kwargs.items() if isinstance(v, torch.Tensor)}
        reply, data = self.reply(result, (after, after_kw))
        reply.update(grad=grad, ops=sorted(str(op) for op in ops)[:1000])
        return reply, data

    def backward(self, header, blob):
        import torch
        result, inputs = self.calls.pop(header["call"])
        grads = torch.autograd.grad(result, inputs, _load(blob), allow_unused=True)
        return self.reply([None if g is None else g.detach() for g in grads])

    def reply(self, value, extra=None):
        """The reply header and blob for ``value``: plain data, or a handle to the object."""
        import torch
        plain, value = _plain(value)
        if plain:
            return {"ok": True}, wire.dump_value((value, extra))
        handle = len(self.handles) + 1
        self.handles[handle] = value
        parameters = {}
        if isinstance(value, torch.nn.Module):
            parameters = {name: p.detach().requires_grad_(p.requires_grad)
                          for name, p in value.named_parameters()}
        header = {"ok": True, "handle": handle, "type": type(value).__name__,
                  "parameters": list(parameters)}
        return header, wire.dump_value(([parameters[n] for n in parameters], extra))


def _load(blob):
    import torch
    return torch.load(io.BytesIO(blob), weights_only=True)


def _plain(value, depth=0):
    """``(True, value)`` with numpy numbers converted if ``value`` is plain data, else False."""
    import torch
    if depth > wire.MAX_DEPTH:
        return False, value
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return True, value
    if kind in (torch.Tensor, torch.nn.Parameter):
        return True, value.detach()
    if kind is torch.Size:
        return True, tuple(value)
    if isinstance(value, types.GeneratorType):
        value = list(value)
        kind = list
    if kind in (list, tuple, dict):
        items = value.items() if kind is dict else enumerate(value)
        converted = {}
        for key, item in items:
            ok, item = _plain(item, depth + 1)
            if not ok:
                return False, value
            converted[key] = item
        if kind is dict:
            return True, converted
        return True, kind(converted[i] for i in range(len(value)))
    module = getattr(kind, "__module__", "")
    if module == "numpy" and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return True, value.item()
    if module == "numpy" and hasattr(value, "shape"):
        try:
            return True, torch.as_tensor(value.copy())
        except (TypeError, ValueError, RuntimeError):
            return False, value
    return False, value


def _message(error):
    try:
        return str(error)[:MESSAGE_LIMIT]
    except BaseException:  # noqa: BLE001 (a hostile __str__)
        return "(the exception's message could not be read)"


# ------------------------------------------------------------------------------------------
# The sandbox: S (root) and I (PID 1 of the sandbox)
# ------------------------------------------------------------------------------------------


def sandbox_main(shell, tracer, ctrl_fd, status_fd, layer):
    """S: set up the sandbox from the job on ``ctrl_fd``, fork I, report I's life on ``status_fd``."""
    ctrl = socket.socket(fileno=ctrl_fd)
    try:
        job, _ = wire.recv(ctrl, deadline=time.monotonic() + 60)
        os.setsid()
        place = sandbox.prepare(layer, job["submission"], job["uid"])
        pid = os.fork()
    except BaseException:  # noqa: BLE001 (report any setup failure, then die)
        _fatal(ctrl, traceback.format_exc())
        os._exit(70)
    if pid == 0:
        try:
            os.close(status_fd)
            child_main(shell, tracer, ctrl, job, place, layer)
        except BaseException:  # noqa: BLE001
            _fatal(ctrl, traceback.format_exc())
        os._exit(0)
    ctrl.close()
    os.write(status_fd, f"{pid}\n".encode())
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    sandbox.release(layer, place)
    os.write(status_fd, f"{status}\n".encode())
    os._exit(0)


def _fatal(ctrl, text):
    try:
        wire.send(ctrl, {"op": "fatal", "error": text[-4000:]})
    except OSError:
        pass


def child_main(shell, tracer, ctrl, job, place, layer):
    """I: confine itself, run the cells, then fork a server for the tests on request."""
    scratch = sandbox.confine(layer, place, job["uid"], job["memory_mb"], job["cpu_seconds"])
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, ctrl.fileno())
    os.closerange(ctrl.fileno() + 1, 1 << 16)
    os.environ.clear()
    os.environ.update({"HOME": scratch, "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg",
                       "MPLCONFIGDIR": f"{scratch}/.matplotlib", "NBGRADER_EXECUTION": "autograde",
                       "LANG": "C.UTF-8", "TMPDIR": scratch})
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for name in [n for n in sys.modules if n == "autograder" or n.startswith("autograder.")]:
        del sys.modules[name]
    skip = set(job["skip"])
    for cell in job["cells"]:
        if cell["index"] in skip:
            continue
        wire.send(ctrl, {"op": "start", "cell": cell["index"]})
        record = run_cell(shell, cell["source"])
        record["strays"] = sandbox.kill_strays(layer)
        _reap()
        wire.send(ctrl, {"op": "done", "cell": cell["index"], **record})
    wire.send(ctrl, {"op": "ready"})
    namespace = shell.user_ns
    while True:
        header, fds = wire.recv_fds(ctrl, 1)
        if header.get("op") != "serve" or len(fds) != 1:
            os._exit(0)
        pid = os.fork()
        if pid == 0:
            ctrl.close()
            Server(namespace, socket.socket(fileno=fds[0]), tracer).loop()
            os._exit(0)
        os.close(fds[0])
        wire.send(ctrl, {"op": "serving"})
        _reap()


def _reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


# ------------------------------------------------------------------------------------------
# The zygote
# ------------------------------------------------------------------------------------------


def make_tracer():
    """``tracer(f, *args) -> (result, ops)``, bound before any student code runs."""
    from course.checks import _numpy_recorder, _OpRecorder

    def tracer(function, *args, **kwargs):
        ops = set()
        with _numpy_recorder(ops), _OpRecorder() as recorder:
            result = function(*args, **kwargs)
        return result, ops | recorder.ops
    return tracer


def warm_imports():
    """What every chapter needs, loaded once: torch (one thread), d2l, matplotlib (with its
    fonts and text layout warmed by one figure), IPython, the course's student package."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import torch
    torch.set_num_threads(1)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from d2l import torch as d2l  # noqa: F401
    import numpy  # noqa: F401
    import scipy.signal  # noqa: F401
    import scipy.ndimage  # noqa: F401
    import course.checks  # noqa: F401
    import IPython  # noqa: F401
    try:
        import course.explorers  # noqa: F401 (the chapters' widgets)
    except ImportError:
        pass
    figure, axes = plt.subplots(1, 2, figsize=(3, 2))
    axes[0].imshow([[0.0, 1.0], [1.0, 0.0]])
    axes[1].plot([0, 1], [1, 0])
    figure.suptitle("warm-up $x_{i,j}$")
    figure.savefig(io.BytesIO(), format="png")
    plt.close(figure)


def zygote_main(fd, layer):
    sandbox.set_parent_death_signal()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warm_imports()
    shell = make_shell()
    tracer = make_tracer()
    gc.freeze()  # the warm objects are never collected: forks do not copy their pages
    sock = socket.socket(fileno=fd)
    wire.send(sock, {"op": "ready", "pid": os.getpid()})
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # sandboxes are reaped automatically
    while True:
        try:
            header, fds = wire.recv_fds(sock, 2)
        except (wire.Closed, OSError):
            os._exit(0)
        if header.get("op") != "fork" or len(fds) != 2:
            os._exit(0)
        pid = os.fork()
        if pid == 0:
            sock.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            sandbox.set_parent_death_signal()
            sandbox_main(shell, tracer, *fds, layer)
        for descriptor in fds:
            os.close(descriptor)


if __name__ == "__main__":
    zygote_main(int(sys.argv[1]), sys.argv[2])
