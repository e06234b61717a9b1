"""Cloud-code hook points of the file paths (``Parse.File`` triggers, reference §11).

Cloud code (a later capability) installs a real implementation with ``install_hooks``;
until then every hook is a no-op. before_save runs before any byte is stored,
after_save/after_delete after the record is committed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hangar.caller import Caller


@dataclass(frozen=True)
class FileInfo:
    name: str
    content_type: str
    size: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, Any] = field(default_factory=dict)


class FileHooks:
    async def before_save(self, *, caller: Caller, file: FileInfo) -> FileInfo:
        return file

    async def after_save(self, *, caller: Caller, file: FileInfo) -> None:
        return None

    async def before_delete(self, *, caller: Caller, name: str) -> None:
        return None

    async def after_delete(self, *, caller: Caller, name: str) -> None:
        return None


_hooks = FileHooks()


def hooks() -> FileHooks:
    return _hooks


def install_hooks(implementation: FileHooks) -> None:
    global _hooks
    _hooks = implementation
