"""The data path's trigger hooks, run by the app's bundle (installed into datastore/files hooks at start).

before* run in the request, synchronously, with the trigger timeout; their error is the
client's answer. after* run once the write has committed, off the response, and are
retried on failure; their errors are logged, never returned.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.conf import settings

from hangar.after_response import after_response_start
from hangar.caller import Caller
from hangar.cloudcode.invocation import invoke
from hangar.cloudcode.logs import log_record
from hangar.cloudcode.webhooks import trigger_webhook_of, trigger_webhook_run
from hangar.datastore import hooks as data_hooks
from hangar.files import hooks as file_hooks
from hangar.files.hooks import FileInfo
from hangar.parse_errors import ParseError

logger = logging.getLogger(__name__)

AFTER_TRIGGER_ATTEMPTS = 3


# As in Parse Server, _Session takes no trigger but afterLogout: its writes are the server's own.
_SESSION_KINDS = frozenset({"afterLogout"})


def _wants(caller: Caller, kind: str, class_name: str) -> bool:
    if class_name == "_Session" and kind not in _SESSION_KINDS:
        return False
    code = caller.cloud_code
    if code is not None and code.has_trigger(kind, class_name):
        return True
    return trigger_webhook_of(caller, kind, class_name) is not None


async def _before(caller: Caller, kind: str, class_name: str, payload: dict[str, Any]) -> dict[str, Any]:
    webhook = trigger_webhook_of(caller, kind, class_name)  # only when the bundle has no handler for it
    if webhook is not None:
        return await trigger_webhook_run(caller, kind=kind, class_name=class_name, url=webhook, payload=payload)
    return await invoke(
        caller, kind="trigger", name=f"{kind}.{class_name}", timeout=settings.HANGAR_CLOUD_TRIGGER_TIMEOUT_SECONDS,
        payload={"trigger": kind, "className": class_name, **payload},
    )  # fmt: skip


def _gave_up(caller: Caller, kind: str, class_name: str, attempts: int, exc: ParseError) -> None:
    """Say in the logger and the app's cloud log (each attempt is there already) that this was the last."""
    logger.warning("%s trigger of %s gave up after %d attempts: %s", kind, class_name, attempts, exc.message)
    log_record(caller.app_pk, {
        "kind": "trigger", "name": f"{kind}.{class_name}", "className": class_name, "outcome": "error",
        "code": exc.code, "error": f"gave up after {attempts} attempts: {exc.message}", "lines": [],
    })  # fmt: skip


def _after(caller: Caller, kind: str, class_name: str, payload: dict[str, Any]) -> None:
    """Run an after* trigger in the background, retried with a growing pause; never delays the response."""

    async def attempt() -> None:
        for number in range(1, AFTER_TRIGGER_ATTEMPTS + 1):
            try:
                await _before(caller, kind, class_name, payload)
                return
            except ParseError as exc:
                if number == AFTER_TRIGGER_ATTEMPTS:
                    _gave_up(caller, kind, class_name, number, exc)
                    return
            except Exception:  # nobody awaits this task: say it here, not as "exception never retrieved"
                logger.exception("%s trigger of %s failed", kind, class_name)
                return
            await asyncio.sleep(0.5 * number)

    after_response_start(attempt())


def _with_class(class_name: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {**fields, "className": class_name} if fields is not None else fields


class CloudTriggerHooks(data_hooks.TriggerHooks):
    def wants(self, *, caller: Caller, kind: str, class_name: str) -> bool:
        return _wants(caller, kind, class_name)

    async def before_save(
        self, *, caller: Caller, class_name: str, data: dict[str, Any], original: dict[str, Any] | None
    ) -> dict[str, Any]:
        if not _wants(caller, "beforeSave", class_name):
            return data
        outcome = await _before(caller, "beforeSave", class_name, {"object": data, "original": original})
        changed = outcome.get("object")
        return changed if isinstance(changed, dict) else data

    async def after_save(
        self, *, caller: Caller, class_name: str, obj: dict[str, Any], original: dict[str, Any] | None
    ) -> None:
        if _wants(caller, "afterSave", class_name):
            _after(caller, "afterSave", class_name, {"object": obj, "original": original})

    async def before_delete(
        self, *, caller: Caller, class_name: str, object_id: str, obj: dict[str, Any] | None = None
    ) -> None:
        if _wants(caller, "beforeDelete", class_name):
            await _before(caller, "beforeDelete", class_name, {"object": obj or {"objectId": object_id}})

    async def after_delete(self, *, caller: Caller, class_name: str, obj: dict[str, Any]) -> None:
        if _wants(caller, "afterDelete", class_name):
            _after(caller, "afterDelete", class_name, {"object": obj})

    async def before_find(
        self, *, caller: Caller, class_name: str, params: dict[str, Any], is_get: bool = False
    ) -> dict[str, Any]:
        if not _wants(caller, "beforeFind", class_name):
            return params
        # Parse's request.count: a count-only query (count with limit 0); request.isGet: a get by id.
        counting = params.get("count") not in (None, False, 0, "0", "false", "") and str(params.get("limit")) == "0"
        payload = {"query": params, "count": counting, "isGet": is_get}
        outcome = await _before(caller, "beforeFind", class_name, payload)
        query = outcome.get("query")
        return query if isinstance(query, dict) else params

    async def after_find(
        self, *, caller: Caller, class_name: str, results: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        if not _wants(caller, "afterFind", class_name):
            return results
        outcome = await _before(caller, "afterFind", class_name, {"objects": results})
        objects = outcome.get("objects")
        return objects if isinstance(objects, list) else results

    async def before_login(self, *, caller: Caller, user: dict[str, Any]) -> None:
        if _wants(caller, "beforeLogin", "_User"):
            await _before(caller, "beforeLogin", "_User", {"object": user})

    async def after_login(self, *, caller: Caller, user: dict[str, Any]) -> None:
        if _wants(caller, "afterLogin", "_User"):
            _after(caller, "afterLogin", "_User", {"object": user})

    async def after_logout(self, *, caller: Caller, session: dict[str, Any]) -> None:
        if _wants(caller, "afterLogout", "_Session"):
            _after(caller, "afterLogout", "_Session", {"object": session})


FILE_CLASS = "@File"  # Parse's class name for Parse.File triggers (hangar_cloud before_save_file ...)


def _file_payload(file: FileInfo) -> dict[str, Any]:
    return {
        "file": {
            "name": file.name, "size": file.size, "contentType": file.content_type,
            "metadata": dict(file.metadata), "tags": dict(file.tags),
        }
    }  # fmt: skip


class CloudFileTriggerHooks(file_hooks.FileHooks):
    """File triggers: beforeSave may reject an upload or change its metadata and tags, before any byte is stored."""

    async def before_save(self, *, caller: Caller, file: FileInfo) -> FileInfo:
        if not _wants(caller, "beforeSave", FILE_CLASS):
            return file
        outcome = await _before(caller, "beforeSave", FILE_CLASS, _file_payload(file))
        changed = outcome.get("file")
        if not isinstance(changed, dict):
            return file
        metadata, tags = changed.get("metadata"), changed.get("tags")
        return FileInfo(
            file.name, file.content_type, file.size,
            metadata if isinstance(metadata, dict) else file.metadata, tags if isinstance(tags, dict) else file.tags,
        )  # fmt: skip

    async def after_save(self, *, caller: Caller, file: FileInfo) -> None:
        if _wants(caller, "afterSave", FILE_CLASS):
            _after(caller, "afterSave", FILE_CLASS, _file_payload(file))

    async def before_delete(self, *, caller: Caller, name: str) -> None:
        if _wants(caller, "beforeDelete", FILE_CLASS):
            await _before(caller, "beforeDelete", FILE_CLASS, {"file": {"name": name}})

    async def after_delete(self, *, caller: Caller, name: str) -> None:
        if _wants(caller, "afterDelete", FILE_CLASS):
            _after(caller, "afterDelete", FILE_CLASS, {"file": {"name": name}})


def install() -> None:
    data_hooks.install_hooks(CloudTriggerHooks())
    file_hooks.install_hooks(CloudFileTriggerHooks())
