"""One sandboxed worker seen from the platform: start it, invoke it, answer its data calls, kill it.

A worker runs one invocation at a time, in the order they were sent. Under load the pool
may queue a few more behind the running one (pipelining, hangar.cloudcode.pool): the next
one is already in the channel when the current one ends, so neither process sleeps and
is woken between them (the cost that made a warm function slower than Parse's
in-process JavaScript). One reader task per worker reads every frame and routes it to the
invocation it belongs to; each invocation answers its own data calls in its own request's
task. Every wait has a deadline: the start (the bundle's import included) and each
invocation from the moment it runs (its data calls included); a queued invocation waits at
most until its predecessor's deadline, or is skipped by the sandbox after its ``start_by``.
A worker that times out, crashes, or breaks the channel is killed and never reused; what
was queued behind never ran and is sent elsewhere (NotStartedError).
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from hangar.cloudcode import sandbox

logger = logging.getLogger(__name__)

_HEADER = struct.Struct(">I")
MAX_FRAME_BYTES = 32 * 1024 * 1024
_STDERR_LINES = 50
# Frames queued up to this size wait for the end of the event loop's turn; a larger one is written at once.
_COALESCE_BYTES = 64 * 1024

_reaping: set[asyncio.Future[None]] = set()  # kills in progress, kept from the garbage collector
DataCall = Callable[[str, dict[str, Any], bool], Awaitable[Any]]


class SandboxError(Exception):
    """The worker could not start, or died, or broke the channel."""


class InvocationTimeoutError(SandboxError):
    pass


class NotStartedError(SandboxError):
    """The invocation never ran: the worker it was queued on stopped first. Safe to send elsewhere."""


class SkippedError(Exception):
    """The invocation waited behind others past its ``start_by`` and was not run: the pool is busy."""


@dataclass(eq=False)
class _Invocation:
    """One invocation sent to a worker, until its ``done`` frame is read."""

    id: int
    timeout: float
    # Frames for it, in order: ``_started`` (it is the one running now), its data calls, its done;
    # ``_gone`` when the worker stopped.
    inbox: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    abandoned: bool = False  # its request went away; the reader consumes its frames
    unanswered_call: Any = None  # the id of a data call it has not answered yet


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
        # Sent and not finished, in the order sent; the first is the one running.
        self._inflight: deque[_Invocation] = deque()
        self._reader: asyncio.Task[None] | None = None
        self._failure = ""  # why the reader stopped: what the running invocation reports
        self.running_since = self.started_at  # when the running invocation started (pool: worth queueing behind?)
        self.leases = 0  # requests holding this worker (hangar.cloudcode.pool)
        self.exclusive = False  # held by a job or a nested call: nothing is queued behind it
        # A moving average of how long its invocations run (None before the first): the pool
        # queues behind workers whose invocations are short before it starts another worker.
        self.typical_run_ms: float | None = None
        self._outgoing: list[bytes] = []  # frames to write at the end of this loop turn
        self._outgoing_bytes = 0
        self._flush_scheduled = False

    @property
    def queued(self) -> int:
        """Invocations sent and not finished (the running one included)."""
        return len(self._inflight)

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
        worker._reader = asyncio.ensure_future(worker._read_frames())
        return worker

    async def invoke(
        self, message: dict[str, Any], *, timeout: float, on_call: DataCall, start_by: float | None = None
    ) -> dict[str, Any]:
        """Run one invocation; the data calls it makes are answered by ``on_call`` meanwhile.

        ``start_by`` (epoch seconds): when queued behind others, run only if its turn comes by then.
        """
        if self.broken:
            raise NotStartedError("worker is not usable")
        self._next_id += 1
        self.invocations += 1
        invocation = _Invocation(self._next_id, timeout)
        self._inflight.append(invocation)
        if len(self._inflight) == 1:
            self.running_since = time.monotonic()
        frame_out = {**message, "op": "invoke", "id": invocation.id}
        if start_by is not None:
            frame_out["startBy"] = start_by
        try:
            await self._send(frame_out)
            if self._inflight and self._inflight[0] is not invocation:
                # Queued: no deadline of its own yet; the running one's deadline bounds this wait.
                if (await invocation.inbox.get())["op"] == "_gone":
                    raise NotStartedError("the worker stopped before this invocation's turn")
            async with asyncio.timeout(timeout):
                while True:
                    frame = await invocation.inbox.get()
                    op = frame.get("op")
                    if op == "_started":
                        continue  # it became the running one while its frame was being sent
                    if op == "done":
                        self.last_used = time.monotonic()
                        if frame.pop("skipped", False):
                            raise SkippedError
                        if frame.pop("retire", False):
                            self.broken = True  # the pool stops it on release
                        return frame
                    if op == "_gone":
                        raise SandboxError(self._failure or "the sandbox stopped")
                    invocation.unanswered_call = frame.get("id")
                    reply = await self._answer_call(frame, on_call)
                    invocation.unanswered_call = None
                    await self._send(reply)
        except TimeoutError as exc:
            self.kill()
            raise InvocationTimeoutError(f"timed out after {timeout:g} s") from exc
        except NotStartedError:
            raise
        except SandboxError:
            self.kill()
            raise
        except BaseException:
            # The request went away (cancelled): the sandbox still runs this invocation.
            self._abandon(invocation)
            raise

    def _abandon(self, invocation: _Invocation) -> None:
        if invocation not in self._inflight:
            return
        invocation.abandoned = True
        if invocation.unanswered_call is not None:
            self._reply_cancelled(invocation.unanswered_call)
        if self._inflight[0] is invocation:
            self._watch_deadline(invocation)

    def _watch_deadline(self, invocation: _Invocation) -> None:
        """An abandoned invocation that runs keeps its deadline: nobody else would enforce it."""
        remaining = self.running_since + invocation.timeout - time.monotonic()

        def kill_if_still_running() -> None:
            if self._inflight and self._inflight[0] is invocation:
                self.kill()

        asyncio.get_running_loop().call_later(max(0.0, remaining), kill_if_still_running)

    def _reply_cancelled(self, call_id: Any) -> None:
        """Answer a data call of an abandoned invocation (written at once: this may run while being cancelled)."""
        stdin = self.process.stdin
        if stdin is None or stdin.is_closing():
            return
        body = orjson.dumps({"op": "reply", "id": call_id, "code": 141, "error": "The request was cancelled."})
        self._outgoing.append(_HEADER.pack(len(body)) + body)  # after what is queued: frames keep their order
        self._outgoing_bytes += len(body) + 4
        self._flush()

    async def _read_frames(self) -> None:
        """Route every frame from the sandbox to the invocation running now."""
        try:
            while True:
                frame = await self._receive()
                running = self._inflight[0] if self._inflight else None
                op = frame.get("op")
                belongs = frame.get("id") if op == "done" else frame.get("inv") if op == "call" else None
                if running is None or belongs != running.id:
                    raise SandboxError(f"unexpected frame {op!r} from the sandbox")
                if running.abandoned:
                    if op == "call":
                        self._reply_cancelled(frame.get("id"))
                else:
                    running.inbox.put_nowait(frame)
                if op == "done":
                    self._inflight.popleft()
                    now = time.monotonic()
                    ran_ms = (now - self.running_since) * 1000
                    self.typical_run_ms = ran_ms if self.typical_run_ms is None else (
                        0.8 * self.typical_run_ms + 0.2 * ran_ms
                    )  # fmt: skip
                    self.running_since = now
                    if self._inflight:
                        following = self._inflight[0]
                        following.inbox.put_nowait({"op": "_started"})
                        if following.abandoned:
                            self._watch_deadline(following)
        except SandboxError as exc:
            self._failure = str(exc)
        except asyncio.CancelledError:
            pass
        finally:
            self.broken = True
            if self.process.returncode is None:
                self.kill()
            while self._inflight:
                self._inflight.popleft().inbox.put_nowait({"op": "_gone"})

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
        """Queue a frame; the frames queued during one turn of the event loop go out in one write.

        Several requests reaching their invocation in the same turn then wake the sandbox
        once. A large frame is written at once, waiting for the pipe to take it.
        """
        stdin = self.process.stdin
        if stdin is None or stdin.is_closing():
            raise SandboxError("the sandbox's channel is closed")
        body = orjson.dumps(message)
        self._outgoing.append(_HEADER.pack(len(body)) + body)
        self._outgoing_bytes += len(body) + 4
        if self._outgoing_bytes >= _COALESCE_BYTES:
            self._flush()
            try:
                await stdin.drain()
            except (ConnectionError, RuntimeError) as exc:
                raise SandboxError("the sandbox's channel is closed") from exc
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._outgoing:
            return
        frames, self._outgoing, self._outgoing_bytes = self._outgoing, [], 0
        stdin = self.process.stdin
        try:
            if stdin is None or stdin.is_closing():
                raise ConnectionError
            stdin.write(b"".join(frames))
        except (ConnectionError, RuntimeError):
            self.kill()  # the reader sees the end and fails what was sent

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
        if self._reader is not None:
            self._reader.cancel()

    async def stop(self) -> None:
        self.kill()
        await self._reap()
