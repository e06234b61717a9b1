"""Structured logs: one JSON object per line, carrying the id of the request or task it belongs to.

A Parse request takes the id its client sent in ``X-Request-Id`` (when it is a plausible
id) or gets a new one; it is answered in the ``X-Request-Id`` response header, kept in a
context variable for the request's whole task, and copied into the headers of every
Celery task published while it runs (``before_task_publish``), so the worker's log lines
for that task carry it too (``task_prerun``). Cloud-code invocations run inside the
request's task, so their log lines in the server carry it as well.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("hangar_request_id", default=None)
task_id_var: ContextVar[str | None] = ContextVar("hangar_task_id", default=None)
TASK_HEADER = "hangar_request_id"
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}", re.ASCII)


def request_id_from(header: bytes | None) -> str:
    """The client's id if it looks like one (so it cannot forge log lines), else a fresh one."""
    if header:
        text = header.decode("latin-1")
        if _ACCEPTED_ID.fullmatch(text):
            return text
    return _fresh_request_id()


# A fresh id (16 hex digits) is this process's random prefix and a counter: unique without reading
# the system's random source for every request (secrets.token_hex was ~2 us of each request's CPU).
# The prefix is drawn again in a forked child, which would otherwise repeat its parent's ids, and
# when the counter runs out of its six digits.
_ID_COUNTER_LIMIT = 0xFFFFFF
_id_source: tuple[int, str, Iterator[int]] = (-1, "", itertools.count())


def _fresh_request_id() -> str:
    global _id_source
    pid, prefix, counter = _id_source
    number = next(counter)
    if pid != os.getpid() or number > _ID_COUNTER_LIMIT:
        pid, prefix, counter = os.getpid(), secrets.token_hex(5), itertools.count(1)
        _id_source = (pid, prefix, counter)
        number = 0
    return f"{prefix}{number:06x}"


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` and ``task_id`` to every record (plain-text formats may use them too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.task_id = task_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """``{"ts": ..., "level": ..., "logger": ..., "message": ..., "request_id": ..., ...}`` per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "task_id"):
            value = getattr(record, name, None)
            if value is None:
                value = (request_id_var if name == "request_id" else task_id_var).get()
            if value:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def task_headers_add(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """Celery ``before_task_publish``: the current request's id travels with the task."""
    request_id = request_id_var.get()
    if headers is not None and request_id and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


def task_context_enter(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """Celery ``task_prerun``: the task's log lines carry its id and the request id it was queued by."""
    task_id_var.set(task_id)
    request = getattr(task, "request", None)
    inherited = getattr(request, TASK_HEADER, None) if request is not None else None
    if inherited is None and request is not None and isinstance(getattr(request, "headers", None), dict):
        inherited = request.headers.get(TASK_HEADER)
    request_id_var.set(str(inherited) if inherited else None)


def task_context_leave(**_: Any) -> None:
    """Celery ``task_postrun``: a worker process's next task starts without the last one's ids."""
    task_id_var.set(None)
    request_id_var.set(None)


def celery_signals_connect() -> None:
    from celery.signals import before_task_publish, task_postrun, task_prerun

    before_task_publish.connect(task_headers_add, weak=False)
    task_prerun.connect(task_context_enter, weak=False)
    task_postrun.connect(task_context_leave, weak=False)
