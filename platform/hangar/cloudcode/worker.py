"""One sandboxed worker seen from the platform: start it, invoke it, answer its data calls, kill it.

A worker serves one invocation at a time. Every wait has a deadline: the start (the
bundle's import included) and each invocation (its data calls included). A worker
that times out, crashes, or breaks the channel is killed and never reused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import struct
import subprocess
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from hangar.cloudcode import sandbox

logger = logging.getLogger(__name__)

_HEADER = struct.Struct(">I")
MAX_FRAME_BYTES = 32 * 1024 * 1024
_STDERR_LINES = 50

_reaping: set[asyncio.Future[None]] = set()  # kills in progress, kept from the garbage collector
DataCall = Callable[[str, dict[str, Any], bool], Awaitable[Any]]


class SandboxError(Exception):
    """The worker could not start, or died, or broke the channel."""


class InvocationTimeoutError(SandboxError):
    pass


class BundleLoadError(Exception):
    """The bundle failed to import: the error, and the file and line it points at."""

    def __init__(self, error: str, file: str | None, line: int | None) -> None:
        super().__init__(error)
        self.error, self.file, self.line = error, file, line

    def describe(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file and self.line else (f"{self.file}: " if self.file else "")
        return f"{where}{self.error}"


class CallError(Exception):
    """A data call refused by the platform: sent back to the handler as a ParseError."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class SandboxWorker:
    def __init__(self, process: asyncio.subprocess.Process, handlers: dict[str, Any]) -> None:
        self.process = process
        self.handlers = handlers
        self.started_at = time.monotonic()
        self.last_used = self.started_at
        self.invocations = 0
        self.broken = False
        self._stderr: deque[str] = deque(maxlen=_STDERR_LINES)
        self._stderr_task = asyncio.ensure_future(self._drain_stderr())
        self._next_id = 0

    @classmethod
    async def start(cls, *, bundle: Path, env: dict[str, str], limits: sandbox.Limits, timeout: float) -> SandboxWorker:
        """Start a worker on an unpacked bundle; raises BundleLoadError or SandboxError."""
        user = sandbox.host_user()
        filter_fd = sandbox.seccomp_fd()
        try:
            # preexec_fn rather than user=/group=: uvloop (the server's loop) supports only the former.
            process = await asyncio.create_subprocess_exec(
                *sandbox.command(bundle, filter_fd=filter_fd), stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=sandbox.SANDBOX_ENVIRONMENT,
                limit=MAX_FRAME_BYTES, preexec_fn=sandbox.drop_to(user) if user is not None else None,
                start_new_session=True, pass_fds=() if filter_fd is None else (filter_fd,),
            )  # fmt: skip
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            raise SandboxError(f"the sandbox could not be started: {exc}") from exc
        finally:
            if filter_fd is not None:
                os.close(filter_fd)
        worker = cls(process, {})
        try:
            async with asyncio.timeout(timeout):
                await worker._send(
                    {"op": "init", "bundle": sandbox.BUNDLE_MOUNT, "env": env, "limits": limits.as_message()}
                )
                hello = await worker._receive()
        except TimeoutError as exc:
            worker.kill()
            raise SandboxError(f"the bundle did not load within {timeout:g} s") from exc
        except SandboxError:
            worker.kill()
            await worker._stderr_settled()
            raise SandboxError(f"the sandbox stopped while loading: {worker.stderr_tail() or 'no output'}") from None
        if hello.get("op") == "load_error":
            worker.kill()
            raise BundleLoadError(str(hello.get("error")), hello.get("file"), hello.get("line"))
        if hello.get("op") != "ready" or not isinstance(hello.get("handlers"), dict):
            worker.kill()
            raise SandboxError("the sandbox answered its start with an unknown message")
        worker.handlers = hello["handlers"]
        return worker

    async def invoke(self, message: dict[str, Any], *, timeout: float, on_call: DataCall) -> dict[str, Any]:
        """Run one invocation; the data calls it makes are answered by ``on_call`` meanwhile."""
        if self.broken:
            raise SandboxError("worker is not usable")
        self._next_id += 1
        self.invocations += 1
        invocation_id = self._next_id
        try:
            async with asyncio.timeout(timeout):
                await self._send({**message, "op": "invoke", "id": invocation_id})
                while True:
                    frame = await self._receive()
                    op = frame.get("op")
                    if op == "done" and frame.get("id") == invocation_id:
                        self.last_used = time.monotonic()
                        if frame.pop("retire", False):
                            self.broken = True  # the pool stops it on release
                        return frame
                    if op != "call":
                        raise SandboxError(f"unexpected frame {op!r} from the sandbox")
                    await self._send(await self._answer_call(frame, on_call))
        except TimeoutError as exc:
            self.kill()
            raise InvocationTimeoutError(f"timed out after {timeout:g} s") from exc
        except SandboxError:
            self.kill()
            raise

    async def _answer_call(self, frame: dict[str, Any], on_call: DataCall) -> dict[str, Any]:
        reply: dict[str, Any] = {"op": "reply", "id": frame.get("id")}
        arguments = frame.get("args")
        try:
            if not isinstance(arguments, dict):
                raise CallError(107, "Invalid data call.")
            reply["result"] = await on_call(str(frame.get("call")), arguments, bool(frame.get("master")))
        except CallError as exc:
            reply.update({"code": exc.code, "error": exc.message})
        return reply

    async def _send(self, message: dict[str, Any]) -> None:
        stdin = self.process.stdin
        if stdin is None or stdin.is_closing():
            raise SandboxError("the sandbox's channel is closed")
        body = orjson.dumps(message)
        try:
            stdin.write(_HEADER.pack(len(body)) + body)
            await stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise SandboxError("the sandbox's channel is closed") from exc

    async def _receive(self) -> dict[str, Any]:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            (size,) = _HEADER.unpack(await stdout.readexactly(4))
            if size > MAX_FRAME_BYTES:
                raise SandboxError("the sandbox sent an oversized frame")
            message = orjson.loads(await stdout.readexactly(size))
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise SandboxError("the sandbox stopped") from exc
        except orjson.JSONDecodeError as exc:
            raise SandboxError("the sandbox sent a malformed frame") from exc
        if not isinstance(message, dict):
            raise SandboxError("the sandbox sent a malformed frame")
        return message

    async def _drain_stderr(self) -> None:
        stderr = self.process.stderr
        if stderr is None:
            return
        # Read in chunks, not lines: a sandbox writing one endless line must not grow a buffer here.
        pending = b""
        with contextlib.suppress(Exception):
            while chunk := await stderr.read(4096):
                *lines, pending = (pending + chunk).split(b"\n")
                pending = pending[-2000:]
                for line in lines:
                    self._stderr.append(line[:2000].decode(errors="replace").rstrip())
        if pending:
            self._stderr.append(pending.decode(errors="replace").rstrip())

    async def _stderr_settled(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self._stderr_task), 1.0)

    def stderr_tail(self) -> str:
        return "\n".join(self._stderr)

    def kill(self) -> None:
        """Kill the whole sandbox (bubblewrap's session): its pid namespace goes with it."""
        self.broken = True
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        reaping = asyncio.ensure_future(self._reap())
        _reaping.add(reaping)
        reaping.add_done_callback(_reaping.discard)

    async def _reap(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.process.wait(), 5)
        self._stderr_task.cancel()

    async def stop(self) -> None:
        self.kill()
        await self._reap()
