"""Which sandbox this machine allows: the strongest layer that can be set up, never a weaker
one without saying so.

    root      the grader runs as root: namespaces, a private root, a fresh uid per sandbox
    userns    an ordinary user with user namespaces: the same private root and PID, network,
              IPC and UTS namespaces, the student an unprivileged id inside
    landlock  no user namespaces (a container, Ubuntu's AppArmor restriction): Landlock keeps
              the submission to the system, Python, ``course/`` and its scratch directory,
              seccomp denies other sockets, rlimits bound it, a subreaper kills its processes
    none      no sandbox at all: only when asked for, for trusted code

Every layer also runs the submission under the seccomp filter of ``seccomp.py``.
``probe(requested)`` tries each candidate in a throw-away child process (exactly the
system calls the sandbox makes) and returns the layer's name, or raises
:class:`Unavailable` with what failed and what to do. ``chosen()`` is the layer this
process settled on (a Dask worker records it).
"""
import os

LAYERS = ("root", "userns", "landlock")
CHOICES = ("auto", *LAYERS, "none")
DESCRIPTIONS = {
    "root": "root: namespaces, a private root file system, a fresh uid per sandbox, seccomp",
    "userns": "user namespaces: a private root file system, PID, network, IPC and UTS "
              "namespaces, an unprivileged id inside, seccomp",
    "landlock": "Landlock and seccomp (no namespaces): the system, Python and course/ "
                "read-only, a private scratch directory, no network, rlimits",
    "none": "NONE: student code runs unconfined, as you (for trusted code only)",
}
ADVICE = """\
What to do (any one of these):
  - let ordinary users create user namespaces:
      sudo sysctl -w user.max_user_namespaces=15000
    and, on Ubuntu 23.10 or later, lift AppArmor's restriction for this machine
      sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0
    (or give this Python an AppArmor profile with the `userns,` rule);
  - in a container (a JupyterHub single-user pod, Docker), run it with a seccomp profile
    that allows user namespaces (Kubernetes: securityContext.seccompProfile, Docker:
    --security-opt seccomp=<profile allowing unshare and clone with CLONE_NEWUSER>);
  - use a kernel with Landlock ABI 6 (Linux 6.12 or later, landlock in the lsm= list);
  - run autograde as root;
  - only for code you trust: autograde --isolation none"""

_chosen = None


class Unavailable(RuntimeError):
    """No sandbox layer (or not the one asked for) can be set up here."""


def chosen():
    """The layer this process chose (``probe`` sets it), or None before the probe."""
    return _chosen


def probe(requested="auto"):
    """The layer to grade under: ``requested``, or for "auto" the strongest that works."""
    global _chosen
    if requested not in CHOICES:
        raise ValueError(f"unknown isolation {requested!r}: choose one of {', '.join(CHOICES)}")
    if requested == "none":
        _chosen = "none"
        return _chosen
    failures = {}
    for layer in LAYERS if requested == "auto" else (requested,):
        failure = _try(layer)
        if failure is None:
            _chosen = layer
            return layer
        failures[layer] = failure
    lines = "\n".join(f"  {layer}: {why}" for layer, why in failures.items())
    asked = "No sandbox" if requested == "auto" else f"The {requested!r} sandbox"
    raise Unavailable(f"{asked} can be set up on this machine, so no student code will run:\n"
                      f"{lines}\n{ADVICE}")


def _try(layer):
    """None if ``layer`` can be set up here, else why not (tried in a child process)."""
    if layer == "root" and os.geteuid() != 0:
        return "not running as root"
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            _rehearse(layer)
            code = 0
        except BaseException as error:  # noqa: BLE001 (report any failure, then exit)
            why = getattr(error, "strerror", None) or str(error) or type(error).__name__
            if layer == "userns":
                why += _userns_hint()
            os.write(write, why.encode()[:2000])
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if status == 0:
        return None
    return message or f"the trial process ended with status {status}"


def _userns_hint():
    """What a machine's settings say about unprivileged user namespaces."""
    for name, value, hint in (("user/max_user_namespaces", "0", "user.max_user_namespaces is 0"),
                              ("kernel/apparmor_restrict_unprivileged_userns", "1",
                               "AppArmor restricts unprivileged user namespaces")):
        try:
            if open(f"/proc/sys/{name}").read().strip() == value:
                return f" ({hint})"
        except OSError:
            pass
    return " (a seccomp profile, e.g. a container's, may forbid them)" if os.path.exists(
        "/.dockerenv") or os.environ.get("KUBERNETES_SERVICE_HOST") else ""


def _rehearse(layer):
    """In a child: the system calls ``layer`` needs (raises on the first that fails)."""
    from autograder.engine.isolation import kernel, landlock, seccomp, userns
    try:
        seccomp.build()
    except (ImportError, OSError, AttributeError) as error:
        raise OSError(f"seccomp is unavailable ({error}): install libseccomp2") from None
    if layer == "landlock":
        landlock.restrict(["/"], [])
    else:
        if layer == "userns":
            userns.enter()
        else:
            kernel.unshare(userns.NAMESPACES)
        kernel.mount(None, "/", None, kernel.MS_REC | kernel.MS_PRIVATE)
        kernel.mount("tmpfs", "/tmp", "tmpfs", 0, "size=1m")
        pid = os.fork()
        if pid == 0:   # PID 1 of the new PID namespace, as in the sandbox
            try:
                kernel.mount("proc", "/proc", "proc", 0)
                code = 0
            except OSError:
                code = 1
            os._exit(code)
        if os.waitpid(pid, 0)[1] != 0:
            raise OSError("mounting /proc for a new PID namespace failed")
    kernel.prctl(kernel.PR_SET_NO_NEW_PRIVS, 1, "PR_SET_NO_NEW_PRIVS")
    seccomp.install(strict_unix=layer == "landlock")


def announce(layer):
    """The first line of a run: the sandbox layer in force (shouted when there is none)."""
    text = f"autograde: sandbox: {DESCRIPTIONS[layer]}"
    return f"{'!' * 88}\n{text}\n{'!' * 88}" if layer == "none" else text
