"""One check per isolation piece, each in a throw-away child process:
``python -m tests.isolation_checks NAME`` exits 0 when the check holds (run by
``tests/test_isolation.py`` as root and as an ordinary user, see ``tests/as_user.py``)."""
import ctypes
import errno
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

from autograder.engine import isolation, sandbox
from autograder.engine.isolation import kernel, landlock, reaper, seccomp, userns

REPO = Path(__file__).resolve().parent.parent


def in_child(check):
    """Run ``check()`` in a fork (it may confine itself for good); raise if it failed."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            check()
            code = 0
        except BaseException as error:  # noqa: BLE001 (sent to the parent)
            os.write(write, f"{type(error).__name__}: {error}".encode())
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    assert os.waitpid(pid, 0)[1] == 0, message


def denied(call, *args, code=errno.EPERM):
    try:
        call(*args)
    except OSError as error:
        assert error.errno == code, (call, args, error)
        return
    raise AssertionError(f"{call.__name__}{args} was allowed")


def check_seccomp():
    """Sockets but AF_UNIX, namespaces, ptrace and mounts fail; threads, forks, pipes, Unix
    socket pairs and numpy still work."""
    def confined():
        kernel.prctl(kernel.PR_SET_NO_NEW_PRIVS, 1, "no_new_privs")
        seccomp.install()
        denied(socket.socket, socket.AF_INET, socket.SOCK_STREAM)
        denied(socket.socket, socket.AF_INET6, socket.SOCK_DGRAM)
        denied(socket.socket, socket.AF_NETLINK, socket.SOCK_RAW)
        denied(kernel.unshare, userns.CLONE_NEWUSER)
        denied(kernel.unshare, userns.CLONE_NEWNET)
        denied(kernel.mount, "tmpfs", "/tmp", "tmpfs", 0)
        assert kernel.libc.ptrace(0, 0, 0, 0) == -1 and ctypes.get_errno() == errno.EPERM
        left, right = socket.socketpair()
        left.sendall(b"x")
        assert right.recv(1) == b"x"
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()
        import threading
        import numpy
        thread = threading.Thread(target=lambda: None)
        thread.start()
        thread.join()
        child = os.fork()
        if child == 0:
            os._exit(7)
        assert os.WEXITSTATUS(os.waitpid(child, 0)[1]) == 7
        assert numpy.arange(4).sum() == 6
    in_child(confined)


def check_seccomp_strict_unix():
    """The Landlock layer's filter: no connect, no datagram sockets; socket pairs work."""
    def confined():
        kernel.prctl(kernel.PR_SET_NO_NEW_PRIVS, 1, "no_new_privs")
        seccomp.install(strict_unix=True)
        denied(socket.socket, socket.AF_UNIX, socket.SOCK_DGRAM)
        stream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        denied(stream.connect, "/run/postgresql/.s.PGSQL.5432")
        left, right = socket.socketpair()
        left.sendall(b"ok")
        assert right.recv(2) == b"ok"
    in_child(confined)


def check_landlock():
    """Reads only where allowed, writes only the scratch, signals only its own processes;
    ``kill(-1)`` from inside kills its own strays and nothing outside."""
    scratch = tempfile.mkdtemp()
    fd, secret_file = tempfile.mkstemp()   # another submission, a gradebook: outside the scratch
    os.close(fd)
    outside = os.fork()
    if outside == 0:
        time.sleep(30)
        os._exit(0)

    def confined():
        os.chdir(scratch)
        landlock.restrict([sys.base_prefix, sys.prefix, "/usr", "/etc", str(REPO / "course")],
                          [scratch], ["/dev/null"])
        assert (REPO / "course" / "__init__.py").read_text() is not None
        for secret in (REPO / "autograder" / "answer_key.py", REPO / "README.md",
                       secret_file, "/proc/self/environ"):
            denied(open, secret, code=errno.EACCES)
        denied(open, REPO / "course" / "x.txt", "w", code=errno.EACCES)
        denied(open, Path(tempfile.gettempdir()) / "escaped.txt", "w", code=errno.EACCES)
        Path("answer.txt").write_text("mine")
        denied(os.kill, outside, 0)
        stray = os.fork()
        if stray == 0:
            os.setsid()
            time.sleep(30)
            os._exit(0)
        os.kill(-1, signal.SIGKILL)
        assert os.WTERMSIG(os.waitpid(stray, 0)[1]) == signal.SIGKILL
    try:
        in_child(confined)
        assert os.waitpid(outside, os.WNOHANG) == (0, 0), "kill(-1) escaped the sandbox"
        assert (Path(scratch) / "answer.txt").read_text() == "mine"
    finally:
        os.kill(outside, signal.SIGKILL)
        os.waitpid(outside, 0)
        os.unlink(secret_file)
        shutil.rmtree(scratch)


def check_userns():
    """An ordinary user's namespaces: a tmpfs mounts, then the dropped capabilities make
    every privileged call fail; the id inside is the student's, not root."""
    assert os.geteuid() != 0, "root grades with the root layer: run this as an ordinary user"

    def confined():
        userns.enter()
        kernel.mount(None, "/", None, kernel.MS_REC | kernel.MS_PRIVATE)
        kernel.mount("tmpfs", "/tmp", "tmpfs", 0, "size=1m")
        assert os.getuid() == userns.STUDENT_ID and os.getgid() == userns.STUDENT_ID
        userns.drop_capabilities()
        status = dict(line.split(":", 1) for line in open("/proc/self/status"))
        assert int(status["CapEff"], 16) == int(status["CapBnd"], 16) == 0, status
        denied(kernel.mount, "tmpfs", "/tmp", "tmpfs", 0)
        denied(os.chroot, "/tmp")
        denied(os.setuid, 0, code=errno.EINVAL)   # no uid 0 exists in the namespace
    in_child(confined)


def check_sandbox_root():
    """The sandbox's root is mounted on this user's own directory, named by its real uid
    (inside a user namespace every user is the same id, 1000), holding the submission; a
    folder on the way to what it shows (``/home/ada`` for a clone in ``/home/ada/course``)
    holds only the next step of that way."""
    layer, uid = ("root", 1 << 20) if os.geteuid() == 0 else ("userns", None)
    submission = Path(tempfile.mkdtemp(prefix="autograde-check-"))
    (submission / "answer.ipynb").write_text("{}")
    shown = sandbox.visible_paths()
    on_the_way = {parent for path in shown for parent in path.parents} - {Path("/")}

    def build():
        place = sandbox.prepare(layer, str(submission), uid)
        assert place == Path(tempfile.gettempdir()) / f".sandbox-root-{real_uid}", place
        assert (place / "tmp" / "submission" / "answer.ipynb").read_text() == "{}"
        assert (place / "usr" / "bin").is_dir()
        assert (place / "home").exists() == (Path("/home") in on_the_way)
        for folder in on_the_way:
            steps = {path.relative_to(folder).parts[0] for path in shown + list(on_the_way)
                     if folder in path.parents}
            steps |= {"submission"} if folder == Path("/tmp") else set()   # the sandbox's own
            assert set(os.listdir(place / folder.relative_to("/"))) == steps, folder
    real_uid = os.getuid()
    try:
        in_child(build)
    finally:
        shutil.rmtree(submission)


def _installed_grader():
    """A venv-like tree with a grader installed in its site-packages: ``(tree, site, hidden)``."""
    tree = Path(tempfile.mkdtemp(prefix="autograde-installed-"))
    site = tree / "lib" / "python3" / "site-packages"
    for name, text in {"other.py": "X = 1", "pkg/mod.py": "Y = 2",
                       "autograder/answer_key.py": "SECRET = 3"}.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)
    (tree / "lib64").symlink_to("lib")
    return tree, site, site / "autograder"


def _sees_all_but_the_grader(root, site):
    """What a sandbox of root ``root`` shows of the installed tree: every package but the
    grader's, whose files cannot be read by any way in."""
    inside = root / site.relative_to("/")
    assert (inside / "other.py").read_text() == "X = 1"
    assert (inside / "pkg" / "mod.py").read_text() == "Y = 2"
    assert {"other.py", "pkg"} <= set(os.listdir(inside))
    lib64 = root / site.parents[2].relative_to("/") / "lib64" / site.relative_to(
        site.parents[2] / "lib")
    for way in (inside, lib64):
        try:
            text = (way / "autograder" / "answer_key.py").read_text()
        except OSError:
            continue
        raise AssertionError(f"the grader's answer key was readable: {text!r}")


def check_hidden_grader():
    """A grader installed in what the sandbox shows (its wheel, in site-packages) is hidden:
    an empty folder covers it (root, userns layers) or Landlock lets its way down only be
    listed (landlock layer); the packages beside it stay readable."""
    tree, site, hidden = _installed_grader()
    assert sandbox.hidden_paths([tree]) == [] and sandbox.hidden_paths(
        [Path(sandbox.__file__).resolve().parents[2]]) != []   # a checkout's: not shown

    def landlocked():
        listed, readable = sandbox.landlock_paths([tree], [hidden])
        assert tree / "lib64" not in readable and hidden not in readable, readable
        landlock.restrict([str(path) for path in readable], [], [], [str(p) for p in listed])
        _sees_all_but_the_grader(Path("/"), site)

    def namespaced():
        layer, uid = ("root", 1 << 20) if os.geteuid() == 0 else ("userns", None)
        sandbox.visible_paths = lambda: [Path("/usr"), Path("/etc"), tree]
        sandbox.hidden_paths = lambda: [hidden]
        submission = Path(tempfile.mkdtemp(prefix="autograde-check-"))
        place = sandbox.prepare(layer, str(submission), uid)
        assert os.listdir(place / hidden.relative_to("/")) == []
        _sees_all_but_the_grader(place, site)
    try:
        in_child(landlocked)
        in_child(namespaced)
    finally:
        shutil.rmtree(tree)


def check_reaper():
    """A subreaper kills what its child left behind: a double fork, a new session."""
    def parent():
        reaper.become_subreaper()
        child = os.fork()
        if child == 0:
            for _ in range(3):
                if os.fork() == 0:
                    os.setsid()
                    if os.fork() == 0:
                        time.sleep(60)
                    os._exit(0)
            os._exit(0)
        os.waitpid(child, 0)
        time.sleep(0.2)
        assert len(reaper.children()) >= 3, reaper.children()
        assert reaper.kill_children() >= 3
        assert reaper.children() == []
    in_child(parent)


def check_probe():
    """The probe names the layer this identity should get (argv: the expected layer)."""
    assert isolation.probe() == sys.argv[2], isolation.chosen()
    assert isolation.chosen() == sys.argv[2]


def check_probe_message():
    """With no layer available, the probe says why for each layer and what to do."""
    try:
        isolation.probe()
    except isolation.Unavailable as error:
        text = str(error)
    else:
        raise AssertionError(f"a layer was chosen: {isolation.chosen()}")
    for expected in ("root: not running as root", "userns: unshare(CLONE_NEWUSER)",
                     "landlock: no Landlock", "user.max_user_namespaces",
                     "apparmor_restrict_unprivileged_userns", "seccomp profile",
                     "--isolation none"):
        assert expected in text, (expected, text)
    try:
        isolation.probe("landlock")
    except isolation.Unavailable as error:
        assert "'landlock' sandbox" in str(error) and "userns:" not in str(error)
    else:
        raise AssertionError("landlock was chosen without Landlock")


if __name__ == "__main__":
    globals()[f"check_{sys.argv[1]}"]()
