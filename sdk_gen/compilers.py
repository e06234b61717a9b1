"""Compiling generated sources for their packages: TypeScript to ES modules with declarations, Java to classes.

Each compiler is used only where it exists on the machine (Node with the project's pinned ``typescript``
package, a JDK); without it the package carries the sources alone and says so in its README.

Both compilers are kept warm: a long-lived process per compiler and per worker process
(``compiler_servers/``: a JVM calling javac through ``javax.tools``, a Node process calling the
TypeScript API) compiles one SDK after another. A cold ``tsc`` or ``javac`` spends most of its 2-4 CPU
seconds starting, loading and JIT-compiling itself, and tsc parsing its 50,000-line standard library;
warm, a 50-class SDK takes about 0.4 CPU s in each. The TypeScript runtime (the same for every app)
is compiled once per Hangar version and cached; each SDK then compiles only its generated module
against the runtime's declarations. Every request has a deadline; a process that died or went idle
is started again.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings

COMPILE_TIMEOUT_SECONDS = 120
# A warm compiler exits after this long without work (its memory back: a JVM holds ~100 MB).
IDLE_SECONDS = 600
SERVERS_DIR = Path(__file__).resolve().parent / "compiler_servers"
# C1 only and the serial collector: javac runs in short bursts, where C2's compilations cost more CPU
# than they return (measured: 0.35-0.4 CPU s per warm 50-class compile with C1 alone, 0.9-1.3 with C2).
_JVM_FLAGS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto")


class CompileError(RuntimeError):
    """The generated code did not compile, or the compiler did not answer in time."""


def _tsc() -> Path | None:
    tsc = Path(settings.REPO_DIR) / "node_modules" / "typescript" / "bin" / "tsc"
    return tsc if tsc.exists() and shutil.which("node") else None


def typescript_available() -> bool:
    return _tsc() is not None


def java_available() -> bool:
    return shutil.which("javac") is not None and shutil.which("java") is not None


class WarmCompiler:
    """One long-lived compiler process of this (OS) process, started on first use; one request at a time."""

    def __init__(self, name: str, command: Callable[[], list[str]]) -> None:
        self.name = name
        self._command = command
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._owner = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._owner == os.getpid() else None

    def ask(self, request: bytes, *, timeout: float = COMPILE_TIMEOUT_SECONDS) -> bytes:
        """The one-line answer to a one-line request."""
        with self._lock:
            for attempt in (1, 2):
                process = self._running()
                try:
                    assert process.stdin is not None
                    process.stdin.write(request + b"\n")
                    process.stdin.flush()
                    return self._answer(process, deadline=time.monotonic() + timeout)
                except (BrokenPipeError, EOFError):
                    # Gone between two requests (its idle time, a crash): a request is safe to repeat, once.
                    self._stop()
                    if attempt == 2:
                        raise CompileError(f"the {self.name} process ended without answering") from None
        raise AssertionError("unreachable")

    def stop(self) -> None:
        with self._lock:
            self._stop()

    def _running(self) -> subprocess.Popen[bytes]:
        if self._owner != os.getpid():
            # A forked child (a Celery prefork worker) must not share its parent's pipes: its own process.
            self._process, self._owner = None, os.getpid()
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                self._command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                bufsize=0, start_new_session=True,
            )  # fmt: skip
        return self._process

    def _answer(self, process: subprocess.Popen[bytes], *, deadline: float) -> bytes:
        assert process.stdout is not None
        fd, buffer = process.stdout.fileno(), bytearray()
        while not buffer.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._stop()
                raise CompileError(f"the {self.name} did not answer within {COMPILE_TIMEOUT_SECONDS} s")
            if select.select([fd], [], [], remaining)[0]:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise EOFError
                buffer += chunk
        return bytes(buffer[:-1])

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None or self._owner != os.getpid():
            return
        if process.stdin is not None:
            process.stdin.close()  # the server ends on its own when its input closes
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _cache_dir(kind: str, *parts: str) -> Path:
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
    return Path(settings.VAR_DIR) / "sdk_gen" / f"{kind}-{digest}"


def _publish(target: Path, build: Callable[[Path], None]) -> Path:
    """``target`` made once by ``build`` into a fresh directory renamed into place (concurrent makers agree)."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        build(work)
        try:
            work.rename(target)
        except OSError:  # another process published it first
            pass
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _javac_server_command() -> list[str]:
    source = SERVERS_DIR / "SdkJavac.java"

    def build(out: Path) -> None:
        subprocess.run(
            ["javac", "--release", "11", "-d", str(out), str(source)], check=True, capture_output=True,
            timeout=COMPILE_TIMEOUT_SECONDS,
        )  # fmt: skip

    classes = _publish(_cache_dir("javac-server", source.read_text()), build)
    return ["java", *_JVM_FLAGS, "-cp", str(classes), "SdkJavac", str(IDLE_SECONDS)]


def _tsc_server_command() -> list[str]:
    typescript = Path(settings.REPO_DIR) / "node_modules" / "typescript"
    # A larger young generation: each compilation allocates ~100 MB that dies with it (fewer scavenges).
    return ["node", "--max-semi-space-size=64", str(SERVERS_DIR / "tsc_server.cjs"), str(typescript), str(IDLE_SECONDS)]


JAVAC = WarmCompiler("javac", _javac_server_command)
TSC = WarmCompiler("TypeScript compiler", _tsc_server_command)
atexit.register(JAVAC.stop)
atexit.register(TSC.stop)


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _read_tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root.parent)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def _tsc_run(root: Path, root_names: list[str], options: dict[str, object]) -> dict[str, str]:
    """Compile ``root_names`` of the project at ``root``; its ``dist/`` outputs."""
    request = json.dumps({"project": str(root), "rootNames": root_names, "options": options})
    answer = json.loads(TSC.ask(request.encode()))
    if not answer["ok"]:
        raise CompileError(f"the generated TypeScript did not compile: {answer['diagnostics'][-2000:]}")
    return _read_tree(root / "dist")


def _typescript_runtime(files: dict[str, str], runtime: list[str], options: dict[str, object]) -> dict[str, str]:
    """The runtime's ``dist/`` outputs (``.js`` and ``.d.ts``), compiled once per Hangar version and cached."""
    tsc = _tsc()
    assert tsc is not None
    compiler = (tsc.parent.parent / "package.json").read_text()
    parts = [compiler, json.dumps(options, sort_keys=True), *(f"{path}\0{files[path]}" for path in runtime)]
    cache = _cache_dir("ts-runtime", *parts) / "outputs.json"

    def build(out: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="hangar-sdk-ts-") as work:
            root = Path(work)
            # Only the module kind matters to the runtime's compilation (NodeNext: ES modules).
            _write(root, {"package.json": '{"type": "module"}\n', **{path: files[path] for path in runtime}})
            (out / "outputs.json").write_text(json.dumps(_tsc_run(root, runtime, options)))

    return dict(json.loads((_publish(cache.parent, build) / "outputs.json").read_text()))


def typescript_compile(files: dict[str, str], *, runtime: Iterable[str] = ()) -> dict[str, str] | None:
    """``dist/*.js`` and ``dist/*.d.ts`` of the SDK (its own tsconfig: strict), or None without a compiler.

    ``runtime`` names the sources that are the same for every app: compiled once, then each SDK's own
    sources are checked and emitted against their declarations (``.d.ts`` beside them in ``src/``).
    """
    if _tsc() is None:
        return None
    options = json.loads(files["tsconfig.json"])["compilerOptions"]
    fixed = sorted(runtime)
    outputs = _typescript_runtime(files, fixed, options) if fixed else {}
    generated = [path for path in files if path.startswith("src/") and path.endswith(".ts") and path not in fixed]
    declarations = {
        "src/" + path.removeprefix("dist/"): text for path, text in outputs.items() if path.endswith(".d.ts")
    }
    with tempfile.TemporaryDirectory(prefix="hangar-sdk-ts-") as work:
        root = Path(work)
        _write(root, {"package.json": files["package.json"], **{p: files[p] for p in generated}, **declarations})
        return {**outputs, **_tsc_run(root, generated, options)}


def java_compile(files: dict[str, str]) -> dict[str, bytes] | None:
    """The SDK's ``.class`` files by jar path (compiled for Java 11), or None without a JDK."""
    if not java_available():
        return None
    with tempfile.TemporaryDirectory(prefix="hangar-sdk-java-") as work:
        root = Path(work)
        _write(root / "src", files)
        out = root / "classes"
        sources = [str(p) for p in sorted((root / "src").rglob("*.java"))]
        arguments = ["--release", "11", "-encoding", "UTF-8", "-d", str(out), *sources]
        code, _, messages = JAVAC.ask("\t".join(arguments).encode()).partition(b"\t")
        if code != b"0":
            text = base64.b64decode(messages).decode(errors="replace")
            raise CompileError(f"the generated Java did not compile: {text[-2000:]}")
        return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.class"))}
