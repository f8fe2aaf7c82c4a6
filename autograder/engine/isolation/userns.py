"""The user-namespace layer: what an ordinary user needs to build today's private root.

``enter`` (in S, a freshly forked single-threaded process) unshares a new user namespace
together with the mount, PID, network, IPC and UTS namespaces, and maps one id inside,
:data:`STUDENT_ID`, to the caller's uid and gid outside: the namespace has no root and no
other user, and files of the machine show up as ``nobody``. S keeps the namespace's
capabilities, which are enough to mount a tmpfs, bind the system read-only and chroot.
``drop_capabilities`` (in I, before any student code) gives them all up for good.
"""
import ctypes
import errno
import itertools
import os

from autograder.engine.isolation import kernel

STUDENT_ID = 1000
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
NAMESPACES = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID
PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
CAPABILITY_VERSION_3 = 0x20080522


def enter(namespaces=NAMESPACES):
    """Unshare a user namespace with ``namespaces``; map :data:`STUDENT_ID` to us."""
    uid, gid = os.getuid(), os.getgid()
    kernel.unshare(CLONE_NEWUSER | namespaces, "unshare(CLONE_NEWUSER)")
    for name, text in (("setgroups", "deny"), ("gid_map", f"{STUDENT_ID} {gid} 1"),
                       ("uid_map", f"{STUDENT_ID} {uid} 1")):
        with open(f"/proc/self/{name}", "w") as control:
            control.write(text)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_capabilities():
    """Empty the bounding, ambient, effective, permitted and inheritable sets."""
    for capability in itertools.count():
        if kernel.libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            if ctypes.get_errno() == errno.EINVAL:   # past the kernel's last capability
                break
            kernel.check(-1, "drop the bounding set")
    kernel.check(kernel.libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0),
                 "clear the ambient set")
    header, data = _CapHeader(CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    kernel.check(kernel.libc.capset(ctypes.byref(header), data), "capset")
