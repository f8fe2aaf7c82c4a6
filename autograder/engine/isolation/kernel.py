"""The few Linux system calls the sandbox makes that Python's ``os`` lacks (ctypes)."""
import ctypes
import os

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 0x400, 0x800, 0x200000
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 1, 38, 36
MADV_HUGEPAGE, MADV_COLLAPSE = 14, 25
HUGE_PAGE = 2 << 20

libc = ctypes.CDLL(None, use_errno=True)
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


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


def collapse_huge_pages():
    """Back this process's private anonymous memory (the heap, the mappings of no file) with
    2 MB transparent huge pages (``MADV_COLLAPSE``, Linux 6.1+), where whole aligned 2 MB
    ranges allow: a fork then copies, and an exit frees, one page-table entry per 2 MB, not
    512 (a forked child's first write to a page still copies only its 4 KB). Returns the bytes
    collapsed; 0 where the kernel cannot (an older one, THP off): nothing else changes."""
    collapsed = 0
    with open("/proc/self/maps") as maps:
        regions = [line.split() for line in maps]
    for fields in regions:
        perms, path = fields[1], fields[5] if len(fields) > 5 else ""
        if not perms.startswith("rw") or perms[3] != "p" or path not in ("", "[heap]"):
            continue
        start, end = (int(address, 16) for address in fields[0].split("-"))
        low = -(-start // HUGE_PAGE) * HUGE_PAGE
        high = end // HUGE_PAGE * HUGE_PAGE
        if high > low and libc.madvise(low, high - low, MADV_HUGEPAGE) == 0 \
                and libc.madvise(low, high - low, MADV_COLLAPSE) == 0:
            collapsed += high - low
    return collapsed
