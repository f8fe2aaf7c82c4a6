"""The worker's template process (the *zygote*, ``autograder.engine.student.zygote``): a fresh
interpreter that imported torch once and forks one sandbox per notebook on request."""
import functools
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

from autograder.engine import sandbox, wire
from autograder.engine.wire import Op

ZYGOTE_START_SECONDS = 300


class SandboxError(RuntimeError):
    """The grader could not start or talk to a sandbox (not the submission's fault)."""


def _die_with(parent):
    """In the template's process before its exec: die with the worker ``parent`` from now on,
    not only once its imports (torch: seconds to minutes) are done (the signal survives exec)."""
    sandbox.set_parent_death_signal()
    if os.getppid() != parent:
        os._exit(1)


class Zygote:
    """A fresh interpreter with torch imported that forks one sandbox per request, confined
    by the isolation ``layer`` (see ``autograder.engine.isolation``).

    It starts in the background; :meth:`wait_ready` waits for its greeting.
    """

    def __init__(self, layer):
        self.layer = layer
        ours, theirs = socket.socketpair()
        env = {key: value for key, value in os.environ.items()
               if key in ("PATH", "LANG", "LC_ALL", "VIRTUAL_ENV", "PYTHONPATH")}
        env["MPLBACKEND"] = "Agg"
        env["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=1"   # malloc's memory in huge pages
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder.engine.student.zygote", str(theirs.fileno()),
             layer],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self.log, cwd="/", env=env,
            preexec_fn=functools.partial(_die_with, os.getpid()))
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
        if header.get("op") != Op.READY:
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
                wire.send(self.sock, {"op": Op.FORK}, fds=[theirs.fileno(), status_write])
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
