"""The data client of a handler: queries and writes through the platform, never around it.

Each call is one RPC to the parent process, which runs it through the same admission
path as any client (ACL, CLP and triggers apply), in the caller's scope unless the call
asks for the master key (``use_master=True``, as Parse's ``useMasterKey``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Set by the runtime for the invocation in progress: sends one call, returns its result.
_transport: Callable[[str, dict[str, Any], bool], Any] | None = None


def _call(operation: str, arguments: dict[str, Any], master: bool) -> Any:
    if _transport is None:
        raise RuntimeError("the data client can only be used while a handler runs")
    return _transport(operation, arguments, master)


class DataClient:
    def __init__(self, *, master: bool = False) -> None:
        self._master = master

    def as_master(self) -> DataClient:
        return DataClient(master=True)

    def _scope(self, use_master: bool | None) -> bool:
        return self._master if use_master is None else bool(use_master)

    def find(
        self, class_name: str, where: dict[str, Any] | None = None, *, limit: int | None = None,
        skip: int | None = None, order: str | None = None, keys: str | None = None, include: str | None = None,
        use_master: bool | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        query = {"where": where or {}, "limit": limit, "skip": skip, "order": order, "keys": keys, "include": include}
        arguments = {"className": class_name, "query": {k: v for k, v in query.items() if v is not None}}
        result = _call("find", arguments, self._scope(use_master))
        return list(result["results"])

    def first(self, class_name: str, where: dict[str, Any] | None = None, **options: Any) -> dict[str, Any] | None:
        found = self.find(class_name, where, limit=1, **options)
        return found[0] if found else None

    def count(self, class_name: str, where: dict[str, Any] | None = None, *, use_master: bool | None = None) -> int:
        arguments = {"className": class_name, "query": {"where": where or {}, "count": 1, "limit": 0}}
        return int(_call("find", arguments, self._scope(use_master))["count"])

    def get(
        self, class_name: str, object_id: str, *, include: str | None = None, use_master: bool | None = None
    ) -> dict[str, Any]:
        arguments: dict[str, Any] = {"className": class_name, "objectId": object_id}
        if include:
            arguments["include"] = include
        return dict(_call("get", arguments, self._scope(use_master)))

    def save(self, class_name: str, fields: dict[str, Any], *, use_master: bool | None = None) -> dict[str, Any]:
        """Create (no ``objectId``) or update (with one); returns the saved fields with objectId and dates."""
        return dict(_call("save", {"className": class_name, "object": dict(fields)}, self._scope(use_master)))

    def destroy(self, class_name: str, object_id: str, *, use_master: bool | None = None) -> None:
        _call("destroy", {"className": class_name, "objectId": object_id}, self._scope(use_master))

    def run(self, name: str, params: dict[str, Any] | None = None, *, use_master: bool | None = None) -> Any:
        """Run another cloud function of this app (its own sandbox invocation)."""
        return _call("run", {"name": name, "params": params or {}}, self._scope(use_master))

    def push(
        self, data: dict[str, Any], *, channels: list[str] | None = None, where: dict[str, Any] | None = None,
        audience_id: str | None = None, push_time: str | float | None = None,
        expiration_time: str | float | None = None, expiration_interval: float | None = None,
        use_master: bool | None = None,
    ) -> str:  # fmt: skip
        """Send a push to the app's installations (``Parse.Push.send``, master only); returns its _PushStatus id.

        ``channels`` or ``where`` (an ``_Installation`` query) or ``audience_id`` names the
        devices; ``push_time`` without a zone is each device's local time. Like
        ``Parse.Push.send(..., {useMasterKey: true})`` it needs ``use_master=True``
        (or a job's or ``as_master()`` client's master scope).
        """
        body: dict[str, Any] = {"data": data}
        given = {
            "channels": channels, "where": where, "audience_id": audience_id, "push_time": push_time,
            "expiration_time": expiration_time, "expiration_interval": expiration_interval,
        }  # fmt: skip
        body.update({key: value for key, value in given.items() if value is not None})
        return str(_call("push", body, self._scope(use_master)))


# The module-level client: the caller's scope of the invocation in progress.
data = DataClient()
