"""Running a build's tools: one step at a time, each with its log, a deadline and cancellation.

A tool runs in its own session so that a kill takes its whole process group (the Debian
wrappers start a JVM under a shell). Its output is read on a thread and handed back to the
caller's thread, which writes the log: database connections belong to the thread that opened them.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from hangar.builds.errors import BuildCancelledError, BuildTimedOutError, ToolchainError, ToolchainMissingError

POLL_SECONDS = 0.05
OUTPUT_LINE_MAX = 2000
REDACTED = "********"
_STACK_FRAME = re.compile(r"^\s+(at |\.\.\. \d+ more)|^Picked up JAVA_TOOL_OPTIONS")

LineSink = Callable[[str, str], None]  # (step, line)
StepSink = Callable[[str, str, str], None]  # (step, "started" | "succeeded" | "failed", detail)


class StepRunner:
    """Runs tools for one build until ``deadline`` (time.monotonic()); ``cancelled()`` is asked while waiting."""

    def __init__(
        self,
        *,
        deadline: float,
        cancelled: Callable[[], bool] = lambda: False,
        on_line: LineSink | None = None,
        on_step: StepSink | None = None,
        cancel_check_seconds: float = 0.5,
    ) -> None:
        self.deadline = deadline
        self._cancelled = cancelled
        self._on_line = on_line or (lambda step, line: None)
        self._on_step = on_step or (lambda step, state, detail: None)
        self._cancel_check_seconds = cancel_check_seconds
        self._secrets: list[str] = []
        self.step_name = ""
        self.durations: dict[str, float] = {}

    def redact(self, value: str) -> None:
        """Never let ``value`` reach a log line (a password a tool might echo back)."""
        if value:
            self._secrets.append(value)

    def log(self, line: str) -> None:
        for secret in self._secrets:
            line = line.replace(secret, REDACTED)
        self._on_line(self.step_name, line[:OUTPUT_LINE_MAX])

    def check(self) -> None:
        if self._cancelled():
            raise BuildCancelledError("The build was cancelled.")
        if time.monotonic() >= self.deadline:
            raise BuildTimedOutError("The build ran over its time limit.")

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.check()
        self.step_name = name
        started = time.monotonic()
        self._on_step(name, "started", "")
        try:
            yield
        except BaseException as exc:
            self.durations[name] = time.monotonic() - started
            self._on_step(name, "failed", str(exc)[:OUTPUT_LINE_MAX])
            raise
        self.durations[name] = time.monotonic() - started
        self._on_step(name, "succeeded", "")

    def run(self, args: Sequence[str | Path], *, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> str:
        """Run one tool to completion; its output (also logged line by line); ToolchainError on a non-zero exit."""
        argv = [str(arg) for arg in args]
        self.log("$ " + " ".join(argv))
        try:
            process = subprocess.Popen(
                argv, cwd=cwd, env={**tool_environment(), **(env or {})}, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, text=True, errors="replace",
            )  # fmt: skip
        except FileNotFoundError as exc:
            raise ToolchainMissingError(f"{argv[0]} is not installed (make toolchains)", step=self.step_name) from exc
        lines: queue.Queue[str | None] = queue.Queue()
        reader = threading.Thread(target=_pump, args=(process, lines), daemon=True)
        reader.start()
        output: list[str] = []
        try:
            self._wait(process, lines, output)
        except BaseException:
            _kill_group(process)
            raise
        finally:
            reader.join(timeout=5)
        self._drain(lines, output)
        if process.returncode != 0:
            text = "".join(output)
            for secret in self._secrets:
                text = text.replace(secret, REDACTED)
            # A JVM tool ends with its stack trace: the lines that say something are those not "at ..." or "... N more".
            said = [line.strip() for line in text.splitlines() if line.strip() and not _STACK_FRAME.match(line)]
            raise ToolchainError(
                f"{Path(argv[0]).name} exited with {process.returncode}: {' | '.join(said[-3:])[:OUTPUT_LINE_MAX]}",
                step=self.step_name, output=text,
            )  # fmt: skip
        return "".join(output)

    def _wait(self, process: subprocess.Popen[str], lines: queue.Queue[str | None], output: list[str]) -> None:
        next_cancel_check = time.monotonic() + self._cancel_check_seconds
        while process.poll() is None:
            self._drain(lines, output)
            now = time.monotonic()
            if now >= self.deadline:
                raise BuildTimedOutError("The build ran over its time limit.")
            if now >= next_cancel_check:
                next_cancel_check = now + self._cancel_check_seconds
                if self._cancelled():
                    raise BuildCancelledError("The build was cancelled.")
            try:
                process.wait(timeout=min(POLL_SECONDS, max(0.0, self.deadline - now)))
            except subprocess.TimeoutExpired:
                pass

    def _drain(self, lines: queue.Queue[str | None], output: list[str]) -> None:
        while True:
            try:
                line = lines.get_nowait()
            except queue.Empty:
                return
            if line is None:
                return
            output.append(line)
            self.log(line.rstrip("\n"))


def _pump(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)
    lines.put(None)


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def tool_environment() -> dict[str, str]:
    """A small, fixed environment: tools see no platform secret (DATABASE_URL, keys) from ours."""
    passed = ("PATH", "HOME", "LANG", "JAVA_HOME", "ANDROID_HOME")
    env = {name: os.environ[name] for name in passed if name in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    # One JIT tier: these tools run for a second or two, and C2 would only cost CPU.
    env["JAVA_TOOL_OPTIONS"] = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto"
    env["TZ"] = "UTC"
    return env
