"""The sandbox's system-call filter: a BPF program compiled with the system's libseccomp, given to bubblewrap.

Namespaces already hide the host; the filter shrinks the kernel surface a tenant can
reach from inside them (most kernel privilege escalations go through a few rarely
needed calls: io_uring, bpf, userfaultfd, keyctl, perf_event_open, new namespaces and
mounts) and refuses tracing and sockets other than Unix ones. Everything else is
allowed: the filter is a deny list, so an ordinary interpreter keeps working.

libseccomp (``libseccomp.so.2``) is a C library present on every Debian-based system
(apt depends on it); it is called through ``ctypes`` because its Python binding is
not on PyPI. bubblewrap reads the compiled program from a file descriptor
(``--seccomp FD``) and installs it right before it runs the interpreter.
https://man7.org/linux/man-pages/man3/seccomp_export_bpf.3.html
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import threading

_ALLOW = 0x7FFF0000  # SCMP_ACT_ALLOW
_CMP_NE = 1  # SCMP_CMP_NE
_AF_UNIX = 1

# Calls a handler written in Python never needs, refused with EPERM.
DENIED_CALLS = (
    # Looking into or steering another process (inside the sandbox: bubblewrap's own init).
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    # New namespaces, mounts and roots: the sandbox's view of the filesystem is fixed.
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "mount_setattr", "move_mount",
    "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "open_by_handle_at", "name_to_handle_at",
    # Large kernel surfaces behind many privilege escalations.
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "keyctl", "add_key", "request_key", "fanotify_init", "lookup_dcookie",
    # Machine-wide operations (refused anyway without capabilities; denied before the kernel looks).
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon",
    "swapoff", "acct", "quotactl", "syslog", "iopl", "ioperm", "personality", "vhangup", "settimeofday",
    "clock_settime", "clock_adjtime", "adjtimex", "sethostname", "setdomainname",
)  # fmt: skip


class SeccompUnavailableError(RuntimeError):
    """libseccomp cannot be loaded or refused the program."""


class _ArgCompare(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


_program: bytes | None = None
_lock = threading.Lock()


def _errno_action(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)  # SCMP_ACT_ERRNO(code)


def _library() -> ctypes.CDLL:
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        library = ctypes.CDLL(name, use_errno=True)
    except OSError as exc:
        raise SeccompUnavailableError(f"libseccomp is not installed ({exc})") from exc
    library.seccomp_init.restype = ctypes.c_void_p
    library.seccomp_init.argtypes = [ctypes.c_uint32]
    library.seccomp_release.argtypes = [ctypes.c_void_p]
    library.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    library.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(_ArgCompare),
    ]  # fmt: skip
    library.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return library


def _compile() -> bytes:
    library = _library()
    context = library.seccomp_init(_ALLOW)
    if not context:
        raise SeccompUnavailableError("seccomp_init failed")
    try:
        for name in DENIED_CALLS:
            number = library.seccomp_syscall_resolve_name(name.encode())
            if number < 0:
                continue  # not a call on this architecture
            if library.seccomp_rule_add_array(context, _errno_action(errno.EPERM), number, 0, None) < 0:
                raise SeccompUnavailableError(f"libseccomp refused the rule for {name}")
        # Sockets: Unix ones only (the interpreter's own event loop uses a socket pair); the network
        # namespace has no interface anyway, this makes the refusal immediate and explicit.
        socket_call = library.seccomp_syscall_resolve_name(b"socket")
        other_family = (_ArgCompare * 1)(_ArgCompare(0, _CMP_NE, _AF_UNIX, 0))
        if library.seccomp_rule_add_array(context, _errno_action(errno.EPERM), socket_call, 1, other_family) < 0:
            raise SeccompUnavailableError("libseccomp refused the rule for socket")
        read_end, write_end = os.pipe()
        try:
            if library.seccomp_export_bpf(context, write_end) < 0:
                raise SeccompUnavailableError("seccomp_export_bpf failed")
            os.close(write_end)
            write_end = -1
            chunks = []
            while chunk := os.read(read_end, 65536):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)
    finally:
        library.seccomp_release(context)


def program() -> bytes:
    """The compiled filter (made once per process)."""
    global _program
    with _lock:
        if _program is None:
            _program = _compile()
        return _program


def program_fd() -> int:
    """A readable descriptor holding the program, for bubblewrap's ``--seccomp``; the caller closes it."""
    compiled = program()
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, compiled)  # a few hundred bytes: far below a pipe's buffer
    finally:
        os.close(write_end)
    return read_end
