"""Landlock through its three system calls (ctypes: the kernel interface is three calls and
two structures, and no maintained Python binding exists on PyPI).

``restrict`` confines the calling process and every process it starts, for good:

    read and execute    ``readable`` (the system, Python, ``course/``)
    read and write      ``devices`` (files such as /dev/null)
    everything          ``writable`` (the private scratch directory)
    nothing else        no other file or directory, no TCP bind or connect, no abstract Unix
                        socket and no signal outside the sandbox (Landlock's scopes)

The scopes need Landlock ABI 6 (Linux 6.12); :data:`MIN_ABI` says so.
"""
import ctypes
import os
import stat

from autograder.engine.isolation import kernel

MIN_ABI = 6
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
TRUNCATE = 1 << 14
FS_RIGHTS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1,
                    5: (1 << 16) - 1}
NET_TCP = 1 | 2              # LANDLOCK_ACCESS_NET_BIND_TCP | CONNECT_TCP (ABI 4)
SCOPES = 1 | 2               # LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | SIGNAL (ABI 6)
READ_EXECUTE = EXECUTE | READ_FILE | READ_DIR
FILE_READ_WRITE = READ_FILE | WRITE_FILE | TRUNCATE
FILE_RIGHTS = EXECUTE | FILE_READ_WRITE | 1 << 15   # IOCTL_DEV: the rights a file's rule may hold

_syscall_function = kernel.libc.syscall
_syscall_function.restype = ctypes.c_long


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64),
                ("handled_access_net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _syscall(number, *args):
    result = _syscall_function(ctypes.c_long(number), *args)
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, f"landlock: {os.strerror(error)}")
    return result


def abi():
    """The kernel's Landlock ABI version (0: no Landlock, or it is disabled)."""
    try:
        return _syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0),
                        ctypes.c_uint32(CREATE_RULESET_VERSION))
    except OSError:
        return 0


def restrict(readable, writable, devices=(), listed=()):
    """Confine this process to the given paths (lists of paths that exist; ``listed``:
    folders whose names may be read, and nothing else of them)."""
    version = abi()
    if version < MIN_ABI:
        found = f"Landlock ABI {version} is too old" if version else "no Landlock in this kernel"
        raise OSError(f"{found} (the sandbox needs ABI {MIN_ABI}: Linux 6.12 or later, "
                      "with landlock in the lsm= list)")
    handled = FS_RIGHTS_BY_ABI[min(version, 5)]
    attr = _RulesetAttr(handled, NET_TCP, SCOPES)
    ruleset = _syscall(SYS_CREATE_RULESET, ctypes.byref(attr),
                       ctypes.c_size_t(ctypes.sizeof(attr)), ctypes.c_uint32(0))
    try:
        for paths, access in ((readable, READ_EXECUTE), (writable, handled),
                              (devices, FILE_READ_WRITE), (listed, READ_DIR)):
            for path in paths:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                try:
                    folder = stat.S_ISDIR(os.fstat(fd).st_mode)   # a file takes file rights
                    rule = _PathBeneath(access & handled & (~0 if folder else FILE_RIGHTS), fd)
                    _syscall(SYS_ADD_RULE, ctypes.c_int(ruleset),
                             ctypes.c_int(RULE_PATH_BENEATH), ctypes.byref(rule),
                             ctypes.c_uint32(0))
                finally:
                    os.close(fd)
        kernel.prctl(kernel.PR_SET_NO_NEW_PRIVS, 1, "PR_SET_NO_NEW_PRIVS")
        _syscall(SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
