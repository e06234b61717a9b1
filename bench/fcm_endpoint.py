"""A local endpoint that speaks FCM HTTP v1's ``messages:send`` and counts what it is sent.

Run as a process of its own (``python -m bench.fcm_endpoint --port N``) by the push
benchmark (bench/push.py) and the engine's SIGKILL test. It answers as FCM does
(https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send):

- ``POST /v1/projects/<project>/messages:send`` with ``Authorization: Bearer <token>`` and a JSON
  body ``{"message": {"token": ..., ...}}`` (exactly one of token, topic, condition) → 200
  ``{"name": "projects/<project>/messages/<n>"}``; a token starting ``unregistered-`` → 404 with
  FCM's ``UNREGISTERED`` error; a missing bearer → 401; a malformed body → 400 ``INVALID_ARGUMENT``.
- ``GET /stats`` → what it received: messages, distinct tokens, tokens received more than
  once, tokens received under more than one ``android.collapse_key`` (a resend that is not
  the same message), and the wall-clock times of the first and last message.
- ``POST /reset`` forgets everything.

A hand-written HTTP/1.1 server on asyncio (keep-alive, Content-Length bodies): the
benchmark measures Hangar's engine, so the endpoint must cost as little CPU as possible.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from collections import defaultdict
from typing import Any

_SEND_PATH = re.compile(rb"^/v1/projects/([^/]+)/messages:send$")


class Tally:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.messages = 0
        self.per_token: dict[str, int] = defaultdict(int)
        self.collapse_keys: dict[str, set[str]] = defaultdict(set)
        self.first_at: float | None = None
        self.last_at: float | None = None

    def record(self, token: str, collapse_key: str) -> int:
        now = time.time()
        self.first_at = self.first_at or now
        self.last_at = now
        self.messages += 1
        self.per_token[token] += 1
        if collapse_key:
            self.collapse_keys[token].add(collapse_key)
        return self.messages

    def stats(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "tokens": len(self.per_token),
            "tokens_more_than_once": sum(1 for n in self.per_token.values() if n > 1),
            "tokens_under_two_collapse_keys": sum(1 for keys in self.collapse_keys.values() if len(keys) > 1),
            "first_at": self.first_at,
            "last_at": self.last_at,
        }


def _response(status: int, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode()
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}.get(status, "Error")
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json; charset=UTF-8\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload


def _fcm_error(status: int, name: str, message: str, error_code: str | None = None) -> bytes:
    error: dict[str, Any] = {"code": status, "message": message, "status": name}
    if error_code:
        error["details"] = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": error_code}]
    return _response(status, {"error": error})


class Endpoint:
    def __init__(self, delay: float) -> None:
        self.tally = Tally()
        self.delay = delay

    async def answer(self, method: bytes, path: bytes, headers: dict[bytes, bytes], body: bytes) -> bytes:
        if path == b"/stats":
            return _response(200, self.tally.stats())
        if path == b"/reset" and method == b"POST":
            self.tally.reset()
            return _response(200, {})
        match = _SEND_PATH.match(path)
        if method != b"POST" or match is None:
            return _fcm_error(404, "NOT_FOUND", "Not found.")
        if not headers.get(b"authorization", b"").startswith(b"Bearer "):
            return _fcm_error(401, "UNAUTHENTICATED", "Request is missing required authentication credential.")
        try:
            message = json.loads(body)["message"]
            targets = [key for key in ("token", "topic", "condition") if key in message]
            assert len(targets) == 1, "exactly one of token, topic, condition"
            token = str(message.get("token", ""))
            data = message.get("data", {})
            assert isinstance(data, dict), "data must be a map"
            assert all(isinstance(value, str) for value in data.values()), "data values must be strings"
        except (ValueError, KeyError, TypeError, AssertionError) as exc:
            return _fcm_error(400, "INVALID_ARGUMENT", f"Invalid JSON payload received. {exc}", "INVALID_ARGUMENT")
        if self.delay:
            await asyncio.sleep(self.delay)
        if token.startswith("unregistered-"):
            return _fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
        collapse_key = str((message.get("android") or {}).get("collapse_key", ""))
        number = self.tally.record(token, collapse_key)
        return _response(200, {"name": f"projects/{match.group(1).decode()}/messages/{number}"})

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                method, path, _ = lines[0].split(b" ", 2)
                headers = {}
                for line in lines[1:]:
                    if b":" in line:
                        name, value = line.split(b":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
                writer.write(await self.answer(method, path, headers, body))
                if headers.get(b"connection", b"").lower() == b"close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


async def _main(port: int, delay: float) -> None:
    endpoint = Endpoint(delay)
    server = await asyncio.start_server(endpoint.serve, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to hold each send (a slower provider)")
    arguments = parser.parse_args()
    asyncio.run(_main(arguments.port, arguments.delay))
