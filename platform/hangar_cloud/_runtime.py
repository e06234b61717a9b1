"""The sandbox side of the RPC channel: load the bundle, then serve invocations one at a time.

Started by the platform inside bubblewrap as ``python3 -I -S -B -c "...; _runtime.main()"``.
The channel is the process's original stdin/stdout, taken over before any tenant code
runs; file descriptor 1 then points at stderr, so a stray ``print`` or C-level write can
never forge a frame. A frame is a 4-byte big-endian length and a UTF-8 JSON document.

Messages from the platform: ``init`` (first; environment, limits), ``invoke``, and the
``reply`` to each data call the handler made. To the platform: ``ready`` (the handlers)
or ``load_error`` (file and line), then per invocation any number of ``call`` frames
(naming their invocation) and one ``done``. Invocations run one at a time in the order
they arrive; an ``invoke`` may arrive while another runs (it waits in ``Channel.pending``),
and one whose ``startBy`` (epoch seconds) has passed when its turn comes is answered
``skipped`` without running.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime
import inspect
import io
import json
import os
import resource
import struct
import sys
import time
import traceback
from typing import Any, BinaryIO

from hangar_cloud import _data, _registry
from hangar_cloud._errors import SCRIPT_FAILED, ParseError
from hangar_cloud._request import CloudObject, CloudQuery, Request

_HEADER = struct.Struct(">I")
MAX_FRAME_BYTES = 32 * 1024 * 1024
MAX_CAPTURED_OUTPUT = 64 * 1024


class Channel:
    """The framed channel to the platform.

    The platform may queue the next invocations in the channel while one runs (pipelining:
    the process is not put to sleep and woken again between them). Frames are read in
    chunks, and an ``invoke`` read while waiting for a data call's reply is kept for later.
    """

    def __init__(self, reader: BinaryIO, writer: BinaryIO) -> None:
        self._reader = reader
        self._writer = writer
        self._buffer = bytearray()
        self._outgoing: list[bytes] = []
        self._next_call = 0
        self.pending: collections.deque[dict[str, Any]] = collections.deque()
        self.invocation_id: Any = None  # the invocation running now: its data calls name it

    def send(self, message: dict[str, Any]) -> None:
        self._write(json.dumps(message, default=_json_default, separators=(",", ":")).encode())

    def send_done(self, reply: dict[str, Any]) -> None:
        """An invocation's outcome, encoded once; a result that cannot be sent becomes the handler's error."""
        try:
            body = json.dumps(reply, default=_json_default, separators=(",", ":")).encode()
        except (TypeError, ValueError, RecursionError) as exc:
            failed = {
                "op": "done",
                "id": reply.get("id"),
                "code": SCRIPT_FAILED,
                "error": str(exc) or type(exc).__name__,
            }
            body = json.dumps({**failed, "logs": reply.get("logs") or []}, default=str).encode()
        if len(body) > MAX_FRAME_BYTES:
            # The platform would refuse the frame and kill the worker: say what went wrong instead.
            limit = MAX_FRAME_BYTES // (1024 * 1024)
            error = f"The result is too large ({len(body) // (1024 * 1024)} MB; the limit is {limit} MB)."
            body = json.dumps({"op": "done", "id": reply.get("id"), "code": SCRIPT_FAILED, "error": error}).encode()
        self._write(body)

    def _write(self, body: bytes) -> None:
        # Written before this process waits for the platform or runs tenant code (flush), so
        # that no frame waits behind a handler that may run until its deadline.
        self._outgoing.append(_HEADER.pack(len(body)) + body)

    def flush(self) -> None:
        if self._outgoing:
            frames, self._outgoing = self._outgoing, []
            self._writer.write(b"".join(frames))
            self._writer.flush()

    def _read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self.flush()
            chunk = self._reader.read(max(65536, size - len(self._buffer)))
            if not chunk:
                raise EOFError
            self._buffer += chunk
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def receive(self) -> dict[str, Any]:
        (size,) = _HEADER.unpack(self._read_exactly(4))
        if size > MAX_FRAME_BYTES:
            raise EOFError
        message = json.loads(self._read_exactly(size))
        if not isinstance(message, dict):
            raise EOFError
        return message

    def next_invocation(self) -> dict[str, Any]:
        return self.pending.popleft() if self.pending else self.receive()

    def call(self, operation: str, arguments: dict[str, Any], master: bool) -> Any:
        """One data call to the platform; its error is raised here as the ParseError it was."""
        self._next_call += 1
        self.send({
            "op": "call", "id": self._next_call, "inv": self.invocation_id, "call": operation, "args": arguments,
            "master": master,
        })  # fmt: skip
        while True:
            reply = self.receive()
            if reply.get("op") != "invoke":
                break
            self.pending.append(reply)  # queued behind this one
        if reply.get("op") != "reply" or reply.get("id") != self._next_call:
            raise EOFError
        if "error" in reply:
            raise ParseError(int(reply.get("code", SCRIPT_FAILED)), str(reply["error"]))
        return reply.get("result")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        iso = value.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {"__type": "Date", "iso": iso}
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _apply_limits(limits: dict[str, Any]) -> None:
    """Lower the rlimits before any tenant code runs (they can never be raised again)."""
    for name, attribute in (
        ("memory_bytes", resource.RLIMIT_AS), ("cpu_seconds", resource.RLIMIT_CPU),
        ("processes", resource.RLIMIT_NPROC), ("file_bytes", resource.RLIMIT_FSIZE),
        ("open_files", resource.RLIMIT_NOFILE),
    ):  # fmt: skip
        value = limits.get(name)
        if isinstance(value, int) and value > 0:
            resource.setrlimit(attribute, (value, value))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _load_error(exc: BaseException, bundle: str) -> dict[str, Any]:
    """Where a bundle failed to load: the innermost frame inside the bundle, or the syntax error's position."""
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, SyntaxError):
        filename = exc.filename or ""
        return {"op": "load_error", "error": message, "file": _relative(filename, bundle), "line": exc.lineno}
    file, line = None, None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(bundle + "/"):
            file, line = _relative(frame.filename, bundle), frame.lineno
    return {"op": "load_error", "error": message, "file": file, "line": line}


def _relative(filename: str, bundle: str) -> str:
    return filename[len(bundle) + 1 :] if filename.startswith(bundle + "/") else filename


class _Captured(io.StringIO):
    """A handler's print output, kept up to a bound."""

    def write(self, text: str) -> int:
        if self.tell() < MAX_CAPTURED_OUTPUT:
            super().write(text[: MAX_CAPTURED_OUTPUT - self.tell()])
        return len(text)


def _handler_for(message: dict[str, Any]) -> Any:
    kind = message.get("kind")
    if kind == "function":
        return _registry.functions.get(message.get("name") or "")
    if kind == "job":
        return _registry.jobs.get(message.get("name") or "")
    return _registry.triggers.get((message.get("trigger") or "", message.get("className") or ""))


# Per handler, its keyword-only parameters as (name, required): read once, not on every call.
_keyword_parameters: dict[Any, tuple[tuple[str, bool], ...]] = {}


def _keywords_of(handler: Any) -> tuple[tuple[str, bool], ...]:
    known = _keyword_parameters.get(handler)
    if known is None:
        try:
            parameters = inspect.signature(handler).parameters.values()
        except (TypeError, ValueError):
            parameters = []  # type: ignore[assignment]
        known = tuple(
            (p.name, p.default is inspect.Parameter.empty)
            for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY
        )  # fmt: skip
        _keyword_parameters[handler] = known
    return known


def _arguments_for(handler: Any, request: Request) -> dict[str, Any]:
    """Keyword-only parameters of a function are filled from its params (typed functions)."""
    keywords: dict[str, Any] = {}
    for name, required in _keywords_of(handler):
        if name in request.params:
            keywords[name] = request.params[name]
        elif required:
            raise ParseError(SCRIPT_FAILED, f"Missing parameter {name!r}.")
    return keywords


def _outcome(message: dict[str, Any], request: Request, returned: Any) -> dict[str, Any]:
    kind, trigger = message.get("kind"), message.get("trigger")
    if kind in ("function", "job"):
        return {"result": returned}
    if trigger == "beforeSave":
        if request.file is not None:  # a file's beforeSave may change its metadata and tags
            return {"file": dict(request.file)}
        if request.object is None:
            return {}
        return {"object": dict(request.object)}
    if trigger == "beforeFind":
        query = returned if isinstance(returned, dict) else request.query
        return {"query": dict(query or {})}
    if trigger == "afterFind":
        objects = returned if isinstance(returned, list) else request.objects
        return {"objects": [dict(item) for item in objects or []]}
    return {}


class Runtime:
    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.loop = asyncio.new_event_loop()

    def invoke(self, message: dict[str, Any]) -> dict[str, Any]:
        logs: list[dict[str, Any]] = []
        client = _data.DataClient(master=bool(message.get("master")))
        request = Request(message, client, logs)
        if message.get("kind") == "job":
            request.message = lambda text: self.channel.call("jobMessage", {"message": str(text)}, True)  # type: ignore[attr-defined]
        captured = _Captured()
        previous = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = captured
        _data._transport = self.channel.call
        reply: dict[str, Any] = {"op": "done", "id": message.get("id")}
        self.channel.invocation_id = message.get("id")
        # This process's own CPU time (user + system) while the handler runs, for the app's metered
        # usage: waits for the platform's answers to data calls are not in it, nor anything outside
        # the sandbox. The worker runs one invocation at a time, so the whole process is this one's.
        cpu_started = time.process_time()
        try:
            handler = _handler_for(message)
            if handler is None:
                raise ParseError(SCRIPT_FAILED, f'Invalid function: "{message.get("name")}"')
            returned = handler(request, **_arguments_for(handler, request))
            if inspect.isawaitable(returned):
                returned = self.loop.run_until_complete(returned)
            reply.update(_outcome(message, request, returned))  # not serializable: Channel.send_done says so
        except ParseError as exc:
            reply.update({"code": exc.code, "error": exc.message})
        except EOFError:
            raise
        except MemoryError:
            # The interpreter may be left in a poor state: the platform replaces this worker.
            reply.update({"code": SCRIPT_FAILED, "error": "Out of memory.", "retire": True})
        except RecursionError:
            reply.update({"code": SCRIPT_FAILED, "error": "Maximum recursion depth exceeded."})
        except Exception as exc:
            reply.update({"code": SCRIPT_FAILED, "error": str(exc) or type(exc).__name__})
            logs.append({"level": "error", "message": "".join(traceback.format_exception(exc))[-4000:]})
        finally:
            sys.stdout, sys.stderr = previous
            _data._transport = None
            reply["cpuMs"] = round((time.process_time() - cpu_started) * 1000, 3)
        output = captured.getvalue()
        if output:
            logs.insert(0, {"level": "info", "message": output.rstrip("\n"), "stream": "stdout"})
        reply["logs"] = logs
        return reply

    def serve(self) -> None:
        while True:
            message = self.channel.next_invocation()
            if message.get("op") != "invoke":
                return
            start_by = message.get("startBy")
            if isinstance(start_by, (int, float)) and time.time() > start_by:
                # Queued behind slower invocations past its wait: the platform answers it busy.
                self.channel.send_done({"op": "done", "id": message.get("id"), "skipped": True})
                continue
            self.channel.flush()
            reply = self.invoke(message)
            self.channel.send_done(reply)
            if reply.get("retire"):
                return  # what was queued behind never starts; the platform sends it elsewhere


def main() -> None:
    reader = os.fdopen(os.dup(0), "rb", buffering=0)
    writer = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    channel = Channel(reader, writer)
    init = channel.receive()
    _apply_limits(init.get("limits") or {})
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in (init.get("env") or {}).items()})
    bundle = str(init.get("bundle") or "/app")
    sys.path[:0] = [bundle, os.path.join(bundle, "lib")]
    sys.dont_write_bytecode = True
    try:
        __import__("main")
    except BaseException as exc:
        channel.send(_load_error(exc, bundle))
        channel.flush()
        return
    channel.send({"op": "ready", "handlers": _registry.describe()})
    try:
        Runtime(channel).serve()
    except EOFError:
        return
    finally:
        with contextlib.suppress(OSError):
            channel.flush()


__all__ = ["CloudObject", "CloudQuery", "main"]
