"""Killing every process a submission started, without a PID namespace (the Landlock layer).

S, the trusted parent of the sandbox, is a child subreaper: whatever the submission forks,
double-forks or detaches with ``setsid`` is re-parented to S when its parent dies, never
to the machine's init. Once I (the submission's first process) is gone, ``kill_children``
kills S's children until none is left; a pid cannot be reused while it is S's unreaped
child, so no other process can be hit. (Inside the sandbox, I kills its strays with
``kill(-1)``: Landlock's signal scope keeps that signal to the sandbox's own processes.)
"""
import os
import signal

from autograder.engine.isolation import kernel


def become_subreaper():
    kernel.prctl(kernel.PR_SET_CHILD_SUBREAPER, 1, "PR_SET_CHILD_SUBREAPER")


def children():
    """The pids of this (single-threaded) process's children."""
    pid = os.getpid()
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        return [int(word) for word in listing.read().split()]


def kill_children():
    """SIGKILL and reap children until none is left (a dying child's orphans become ours
    before it can be reaped); how many there were."""
    killed = 0
    while pids := children():
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        for pid in pids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        killed += len(pids)
    return killed
