"""The student side: a clean template process, and the sandbox that runs one submission.

``python -m autograder.engine.student.zygote FD LAYER`` is the *zygote*: a fresh interpreter
(it never saw a submission, the answer key or a source notebook) that imports torch, d2l,
matplotlib and IPython once, then forks one *sandbox* per request on the socket FD, confined
by the isolation LAYER (``autograder.engine.sandbox``). In a sandbox:

    S (no student code)         prepares the sandbox (namespaces and its root, or a scratch
                                directory), forks I, reports I's pid and exit status on a
                                pipe only it holds, and cleans up after I
    I (confined)                runs the submission's code cells in an IPython shell, one
                                message per cell; where a test cell stands (a checkpoint)
                                it pauses and forks a server T per request, until told to
                                continue
    T                           calls the student's functions, as they are at that test
                                cell, for the trusted checker
                                (``server``; the cells run in ``shell``)

All the student processes die with I (the PID namespace, or I and S as subreapers). Nothing
I or T send is trusted by the grader (see ``autograder.engine.wire``).
"""
import gc
import io
import os
import signal
import socket
import sys
import time
import traceback

from autograder.engine import sandbox, wire
from autograder.engine.isolation import kernel
from autograder.engine.student.server import Server
from autograder.engine.student.shell import make_shell, run_cell
from autograder.engine.wire import Op


def sandbox_main(shell, tracer, ctrl_fd, status_fd, layer):
    """S: set up the sandbox from the job on ``ctrl_fd``, fork I, report I's life on ``status_fd``.
    If the template dies (its worker, the coordinator did), S kills the sandbox and goes: no
    PID namespace takes the submission's processes along in the landlock and none layers."""
    place = None

    def orphaned(signum, frame):
        if place is not None:
            sandbox.release(layer, place)   # I is killed as S exits (its parent-death signal)
        os._exit(0)
    signal.signal(signal.SIGTERM, orphaned)
    sandbox.set_parent_death_signal(signal.SIGTERM)
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
    _report(status_fd, pid)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    sandbox.release(layer, place)
    _report(status_fd, status)
    os._exit(0)


def _report(status_fd, number):
    """Tell the grader a line on the status pipe, unless it has stopped listening (it closes
    a finished sandbox without waiting for its exit status)."""
    try:
        os.write(status_fd, f"{number}\n".encode())
    except OSError:
        pass


def _fatal(ctrl, text):
    try:
        wire.send(ctrl, {"op": Op.FATAL, "error": text[-4000:]})
    except OSError:
        pass


def child_main(shell, tracer, ctrl, job, place, layer):
    """I: confine itself, run the cells, pausing at each checkpoint to serve its tests."""
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
    checkpoints = sorted(job["checkpoints"])
    servers = []   # killed at the checkpoint; reaped while the next cell runs
    for cell in job["cells"]:
        while checkpoints and checkpoints[0] < cell["index"]:
            servers += _pause(ctrl, checkpoints.pop(0), shell.user_ns, tracer)
        if cell["index"] in skip:
            continue
        wire.send(ctrl, {"op": Op.START, "cell": cell["index"]})
        record = run_cell(shell, cell["source"])
        _wait(servers)   # gone before the strays are counted: not this cell's
        record["strays"] = sandbox.kill_strays(layer)
        _reap()
        wire.send(ctrl, {"op": Op.DONE, "cell": cell["index"], **record})
    for at in checkpoints:
        _pause(ctrl, at, shell.user_ns, tracer)
    wire.send(ctrl, {"op": Op.READY})


def _pause(ctrl, at, namespace, tracer):
    """At the test cell ``at``: fork a server from the state here for each SERVE request,
    until the grader says CONTINUE; then kill the servers, and return their pids."""
    wire.send(ctrl, {"op": Op.CHECKPOINT, "at": at})
    servers = []
    while True:
        header, fds = wire.recv_fds(ctrl, 1)
        if header.get("op") == Op.CONTINUE and not fds:
            break
        if header.get("op") != Op.SERVE or len(fds) != 1:
            os._exit(0)
        pid = os.fork()
        if pid == 0:
            ctrl.close()
            Server(namespace, socket.socket(fileno=fds[0]), tracer).loop()
            os._exit(0)
        servers.append(pid)
        os.close(fds[0])
        wire.send(ctrl, {"op": Op.SERVING})
    for pid in servers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return servers


def _wait(pids):
    """Reap ``pids`` (killed children), emptying the list."""
    while pids:
        try:
            os.waitpid(pids.pop(), 0)
        except ChildProcessError:
            pass


def _reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


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
    from course.checks import trace as tracer   # bound before any student code runs
    gc.freeze()  # the warm objects are never collected: forks do not copy their pages
    kernel.collapse_huge_pages()   # about 3x cheaper forks and exits of the sandboxes
    sock = socket.socket(fileno=fd)
    wire.send(sock, {"op": Op.READY, "pid": os.getpid()})
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # sandboxes are reaped automatically
    while True:
        try:
            header, fds = wire.recv_fds(sock, 2)
        except (wire.Closed, OSError):
            os._exit(0)
        if header.get("op") != Op.FORK or len(fds) != 2:
            os._exit(0)
        pid = os.fork()
        if pid == 0:
            sock.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                sandbox_main(shell, tracer, *fds, layer)
            finally:   # never back into the template's loop, nor through Python's exit
                os._exit(70)
        for descriptor in fds:
            os.close(descriptor)


if __name__ == "__main__":
    zygote_main(int(sys.argv[1]), sys.argv[2])
