"""Trigger hook points of the object read and write paths.

Cloud code (a later capability) installs a real implementation with ``install_hooks``;
until then every hook is a no-op. Writes call before_save/before_delete inside the
request before touching the database, and after_save/after_delete after commit.
"""

from __future__ import annotations

from typing import Any

from hangar.caller import Caller


class TriggerHooks:
    def wants(self, *, caller: Caller, kind: str, class_name: str) -> bool:
        """Whether a trigger of this kind runs for the class: without one, writes skip the extra read."""
        return False

    async def before_save(
        self, *, caller: Caller, class_name: str, data: dict[str, Any], original: dict[str, Any] | None
    ) -> dict[str, Any]:
        return data

    async def after_save(
        self, *, caller: Caller, class_name: str, obj: dict[str, Any], original: dict[str, Any] | None
    ) -> None:
        return None

    async def before_delete(
        self, *, caller: Caller, class_name: str, object_id: str, obj: dict[str, Any] | None = None
    ) -> None:
        return None

    async def after_delete(self, *, caller: Caller, class_name: str, obj: dict[str, Any]) -> None:
        return None

    async def before_find(
        self, *, caller: Caller, class_name: str, params: dict[str, Any], is_get: bool = False
    ) -> dict[str, Any]:
        return params

    async def after_find(
        self, *, caller: Caller, class_name: str, results: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        return results

    async def before_login(self, *, caller: Caller, user: dict[str, Any]) -> None:
        """After the password is proven, before a session exists: raising refuses the login."""
        return None

    async def after_login(self, *, caller: Caller, user: dict[str, Any]) -> None:
        return None

    async def after_logout(self, *, caller: Caller, session: dict[str, Any]) -> None:
        return None


_hooks = TriggerHooks()


def hooks() -> TriggerHooks:
    return _hooks


def install_hooks(implementation: TriggerHooks) -> None:
    global _hooks
    _hooks = implementation
