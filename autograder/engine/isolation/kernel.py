"""The few Linux system calls the sandbox makes that Python's ``os`` lacks (ctypes)."""
import ctypes
import os

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 0x400, 0x800, 0x200000
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 1, 38, 36

libc = ctypes.CDLL(None, use_errno=True)


def check(result, what):
    """Raise OSError (naming ``what``) if a libc call returned non-zero."""
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def mount(source, target, fstype, flags, data=None):
    check(libc.mount(source and source.encode(), str(target).encode(),
                     fstype and fstype.encode(), ctypes.c_ulong(flags),
                     data and data.encode()), f"mount {target}")


def locked_flags(path):
    """The mount flags of ``path``'s mount that a bind remount inside a user namespace must
    keep (the kernel refuses to clear them there)."""
    flags = os.statvfs(path).f_flag
    kept = flags & (os.ST_NOSUID | os.ST_NODEV | os.ST_NOEXEC | os.ST_NOATIME
                    | os.ST_NODIRATIME)
    return kept | (MS_RELATIME if flags & os.ST_RELATIME else 0)


def unshare(flags, what="unshare"):
    check(libc.unshare(ctypes.c_int(flags)), what)


def prctl(option, value, what):
    check(libc.prctl(option, value, 0, 0, 0), what)
