"""What a handler receives: the request, the object or query it is about, and a log."""

from __future__ import annotations

import time
from typing import Any

from hangar_cloud._data import DataClient

LOG_LEVELS = ("info", "warn", "error")


class Log:
    """``request.log.info(...)``: lines kept with the invocation's record (docs/cloudcode.md, Logs)."""

    def __init__(self, lines: list[dict[str, Any]]) -> None:
        self._lines = lines

    def _add(self, level: str, parts: tuple[Any, ...]) -> None:
        self._lines.append({"level": level, "message": " ".join(str(part) for part in parts), "at": time.time()})

    def info(self, *parts: Any) -> None:
        self._add("info", parts)

    def warn(self, *parts: Any) -> None:
        self._add("warn", parts)

    warning = warn

    def error(self, *parts: Any) -> None:
        self._add("error", parts)


class CloudObject(dict):  # type: ignore[type-arg]
    """A Parse object as a dict (``obj["score"]``, ``obj.get``), with its class and id at hand.

    A beforeSave handler that assigns or removes a field changes what is saved.
    """

    def __init__(self, class_name: str, fields: dict[str, Any]) -> None:
        super().__init__(fields)
        self.class_name = class_name

    @property
    def id(self) -> str | None:
        return self.get("objectId")

    def set(self, key: str, value: Any) -> None:
        self[key] = value

    def unset(self, key: str) -> None:
        self.pop(key, None)


class CloudQuery(dict):  # type: ignore[type-arg]
    """A find's parameters (where, limit, skip, order, keys, include); beforeFind may change them."""

    def __init__(self, class_name: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.class_name = class_name

    @property
    def where(self) -> dict[str, Any]:
        where = self.get("where")
        if not isinstance(where, dict):
            where = {}
            self["where"] = where
        return where

    def equal_to(self, key: str, value: Any) -> CloudQuery:
        self.where[key] = value
        return self

    def limit(self, count: int) -> CloudQuery:
        self["limit"] = int(count)
        return self


class Request:
    """One invocation: who called, with what, and a data client in the caller's scope."""

    def __init__(self, message: dict[str, Any], data: DataClient, log_lines: list[dict[str, Any]]) -> None:
        self.trigger_name: str | None = message.get("trigger")
        self.function_name: str | None = message.get("name")
        self.class_name: str | None = message.get("className")
        self.params: dict[str, Any] = message.get("params") or {}
        self.user: dict[str, Any] | None = message.get("user")
        self.master: bool = bool(message.get("master"))
        self.installation_id: str | None = message.get("installationId")
        self.ip: str | None = message.get("ip")
        self.headers: dict[str, str] = message.get("headers") or {}
        self.context: dict[str, Any] = message.get("context") or {}
        self.job_id: str | None = message.get("jobId")
        class_name = self.class_name or ""
        self.object: CloudObject | None = (
            CloudObject(class_name, message["object"]) if isinstance(message.get("object"), dict) else None
        )
        self.original: CloudObject | None = (
            CloudObject(class_name, message["original"]) if isinstance(message.get("original"), dict) else None
        )
        self.query: CloudQuery | None = (
            CloudQuery(class_name, message["query"]) if isinstance(message.get("query"), dict) else None
        )
        self.objects: list[CloudObject] | None = (
            [CloudObject(class_name, item) for item in message["objects"]]
            if isinstance(message.get("objects"), list)
            else None
        )
        self.file: dict[str, Any] | None = message.get("file")
        # beforeFind: a count-only query, or a get of one object by id (Parse's request.count / isGet).
        self.count: bool = bool(message.get("count"))
        self.is_get: bool = bool(message.get("isGet"))
        self.data = data
        self.log = Log(log_lines)

    @property
    def is_master(self) -> bool:
        return self.master
