"""The seccomp filter every sandbox runs under, whatever its layer (defence in depth).

Built with ``pyseccomp`` (a ctypes binding of libseccomp, which every Debian, Ubuntu and
Fedora system has: apt and systemd depend on it). libseccomp writes the BPF program: it checks
the architecture (an i386 or x32 system call from a 64-bit process is killed, not judged by
the 64-bit numbers), knows each architecture's numbers, and compiles the argument tests
(``socket``'s address family, ``clone``'s namespace flags) that a hand-written BPF program
would have to get right by itself.

Everything is allowed except what a submission never needs and an escape would:

    ptrace & co.        ptrace, process_vm_readv/writev, kcmp, pidfd_getfd
    mounts              mount, umount2, pivot_root, chroot, the new mount API
    namespaces          unshare, setns, clone with a CLONE_NEW* flag, clone3 (ENOSYS: its
                        flags sit in memory a filter cannot read, so glibc falls back to clone)
    kernel interfaces   bpf, keyctl, add_key, request_key, perf_event_open, io_uring_*,
                        userfaultfd, modules, kexec, reboot, swap, acct, quotas, syslog,
                        clocks, iopl/ioperm, handles, fanotify, personality, host names
    sockets             any address family but AF_UNIX

Denied calls fail with EPERM (ENOSYS for clone3), as Docker's profile does, so a submission
sees an error, not a killed process. ``strict_unix`` (the Landlock layer, where the machine's
own Unix sockets are still reachable) also denies ``connect`` and datagram sockets: the
submission can use socket pairs, nothing else. With no PID namespace, ``first_process``
stands in for PID 1's immunity: no process of the sandbox can signal its first process, its
process group or every process.
"""
import errno
import socket

import pyseccomp

# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME
CLONE_NAMESPACES = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                    0x40000000, 0x00000080)
SOCKET_TYPE_MASK = 0xF  # the type without SOCK_NONBLOCK / SOCK_CLOEXEC

DENIED = """
    ptrace process_vm_readv process_vm_writev kcmp pidfd_getfd
    mount umount2 pivot_root chroot move_mount open_tree fsopen fsconfig fsmount fspick
    mount_setattr
    unshare setns
    bpf keyctl add_key request_key perf_event_open io_uring_setup io_uring_enter
    io_uring_register userfaultfd
    kexec_load kexec_file_load init_module finit_module delete_module reboot swapon swapoff
    acct quotactl quotactl_fd syslog settimeofday clock_settime clock_adjtime adjtimex
    iopl ioperm open_by_handle_at name_to_handle_at lookup_dcookie uselib vhangup
    fanotify_init personality sethostname setdomainname
""".split()


def build(strict_unix=False, first_process=None):
    """The filter, ready to ``load()`` (after ``PR_SET_NO_NEW_PRIVS``); ``first_process``:
    the pid no process of the sandbox may signal, as if it were PID 1 of a namespace."""
    rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    deny = pyseccomp.ERRNO(errno.EPERM)
    for name in DENIED:
        rules.add_rule(deny, name)
    for flag in CLONE_NAMESPACES:
        rules.add_rule(deny, "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, flag, flag))
    rules.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
    for name in ("socket", "socketpair"):
        rules.add_rule(deny, name, pyseccomp.Arg(0, pyseccomp.NE, socket.AF_UNIX))
    if strict_unix:
        rules.add_rule(deny, "connect")
        rules.add_rule(deny, "socket", pyseccomp.Arg(1, pyseccomp.MASKED_EQ, SOCKET_TYPE_MASK,
                                                     socket.SOCK_DGRAM))
    if first_process is not None:
        _protect(rules, deny, first_process)
    return rules


def _protect(rules, deny, pid):
    """Deny signals to ``pid``, to process groups and to "all" (``kill`` with pid <= 0).
    pid_t is 32 bits: only the low half of the register is compared."""
    low = 0xFFFFFFFF
    for name in ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open"):
        rules.add_rule(deny, name, pyseccomp.Arg(0, pyseccomp.MASKED_EQ, low, pid))
    rules.add_rule(deny, "kill", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, low, 0))
    rules.add_rule(deny, "kill", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, 0x80000000, 0x80000000))


def install(strict_unix=False, first_process=None):
    """Load the filter into this process (its future children inherit it)."""
    build(strict_unix, first_process).load()
