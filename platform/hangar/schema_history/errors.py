"""Errors of schema history: a push or rollback refused, or another one of the same app running."""

from __future__ import annotations


class SchemaBusyError(Exception):
    """Another schema change of the same app is running."""


class SchemaChangeError(Exception):
    """A file that cannot be applied, or an operation the datastore refused (after ``applied`` others)."""

    def __init__(self, message: str, *, migration: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.migration = migration
