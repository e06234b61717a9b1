"""Applying a schema file to an app as a recorded migration, rolling one back, promoting between apps.

Every class change goes through the datastore's ``/schemas`` services as the app's master
(hangar.datastore.schemas), so validation, locking, index builds and the cross-process
schema version are the same as for a Parse client's change. Each operation commits on its
own (index DDL cannot run inside a transaction), so when one is refused the ones before it are
undone by their reverse operations, as a rollback would: a refused push changes nothing
(unless an earlier operation dropped data, which no reverse brings back). Changes to one app
are serialized by a PostgreSQL advisory lock taken without waiting: a second push meanwhile is
told to try again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from django.db import connection, transaction
from django.db.models import Max

from hangar.caller import Caller
from hangar.datastore import schemas
from hangar.invalidation import publish_app_changed_on_commit
from hangar.parse_errors import ParseError
from hangar.schema_history.errors import SchemaBusyError, SchemaChangeError
from hangar.schema_history.models import SchemaMigration
from hangar.schema_history.planning import Plan, reverse_plan
from hangar.schema_history.recording import LOCK_NAMESPACE as _LOCK_NAMESPACE
from hangar.schema_history.recording import NUMBER_LOCK_NAMESPACE
from hangar.schema_history.selectors import schema_plan
from tenants.models import App


@dataclass
class Outcome:
    plan: Plan
    migration: SchemaMigration | None  # None: nothing to change (or a dry run)


async def _apply_class_op(caller: Caller, op: dict[str, Any]) -> None:
    kind, name = op["op"], op["className"]
    if kind == "addClass":
        body = {"fields": op["fields"], "classLevelPermissions": op["classLevelPermissions"], "indexes": op["indexes"]}
        await schemas.schema_create(caller=caller, class_name=name, body=body)
    elif kind == "dropClass":
        await schemas.schema_delete(caller=caller, class_name=name)
    elif kind in {"addField", "changeField"}:
        await schemas.schema_update(caller=caller, class_name=name, body={"fields": {op["field"]: op["spec"]}})
    elif kind == "dropField":
        await schemas.schema_update(caller=caller, class_name=name, body={"fields": {op["field"]: {"__op": "Delete"}}})
    elif kind == "addIndex":
        await schemas.schema_update(caller=caller, class_name=name, body={"indexes": {op["index"]: op["key"]}})
    elif kind == "dropIndex":
        await schemas.schema_update(caller=caller, class_name=name, body={"indexes": {op["index"]: {"__op": "Delete"}}})
    elif kind == "setPermissions":
        await schemas.schema_update(
            caller=caller, class_name=name, body={"classLevelPermissions": op["classLevelPermissions"]}
        )
    else:
        raise ValueError(f"unknown schema operation {kind!r}")


def _apply(app: App, op: dict[str, Any]) -> None:
    if op["op"] == "setLiveQueryClasses":
        App.objects.filter(pk=app.pk).update(live_query_classes=op["classes"])
        publish_app_changed_on_commit(app.application_id)
        return
    async_to_sync(_apply_class_op)(Caller(app_pk=app.pk, is_master=True), op)


def _record(app: App, *, applied: list[dict[str, Any]], author: str, source: str, **extra: Any) -> SchemaMigration:
    reverse, irreversible = reverse_plan(applied)
    with transaction.atomic():
        # The number lock every recorder takes (hangar.schema_history.recording): a /schemas,
        # dashboard or schema-on-write change recorded meanwhile gets the next number.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [NUMBER_LOCK_NAMESPACE, app.pk])
        number = (SchemaMigration.objects.filter(app=app).aggregate(top=Max("number"))["top"] or 0) + 1
        return SchemaMigration.objects.create(
            app=app, number=number, source=source, author_email=author, operations=applied,
            reverse=reverse, irreversible=irreversible, **extra,
        )  # fmt: skip


def _run(app: App, operations: list[dict[str, Any]], *, author: str, source: str, **extra: Any) -> SchemaMigration:
    """Apply operations in order and record them as one migration; a refused one undoes those before it."""
    applied: list[dict[str, Any]] = []
    for op in operations:
        try:
            _apply(app, op)
        except ParseError as exc:
            raise _refused(app, applied, exc.message, author=author, source=source, **extra) from exc
        applied.append(op)
    return _record(app, applied=applied, author=author, source=source, **extra)


def _refused(
    app: App, applied: list[dict[str, Any]], reason: str, *, author: str, source: str, **extra: Any
) -> SchemaChangeError:
    """Undo what a refused push had applied (each operation commits on its own), newest first.

    A push is all or nothing where it can be: only when an earlier operation cannot be undone
    (it dropped data, or its reverse is refused too) does what remains applied stay, recorded
    as a migration so that the history is still complete.
    """
    if not applied:
        return SchemaChangeError(reason)
    reverse, irreversible = reverse_plan(applied)
    undone = 0
    if not irreversible:
        for op in reverse:
            try:
                _apply(app, op)
            except ParseError:
                break
            undone += 1
    if not irreversible and undone == len(reverse):
        return SchemaChangeError(f"{reason} (the {len(applied)} change(s) before it were undone: nothing changed)")
    remaining = applied[: len(applied) - undone]
    migration = _record(app, applied=remaining, author=author, source=source, **extra)
    return SchemaChangeError(
        f"{reason} ({len(remaining)} earlier change(s) could not be undone, recorded as migration {migration.number})",
        migration=migration.number,
    )


@contextmanager
def _app_locked(app: App) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, app.pk])
        row = cursor.fetchone()
    if not row or not row[0]:
        raise SchemaBusyError("Another schema change of this app is running; try again in a moment.")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, app.pk])


def schema_push(
    *, app: App, raw: Any, author: str, allow_destructive: bool, message: str = "",
    source: str = SchemaMigration.Source.PUSH, promoted_from: str = "",
) -> Outcome:  # fmt: skip
    """Make the app's schema what the file says, as one recorded migration (none if nothing changes)."""
    with _app_locked(app):
        app.refresh_from_db(fields=["live_query_classes"])
        plan = schema_plan(app=app, raw=raw, allow_destructive=allow_destructive)
        if not plan.operations:
            return Outcome(plan, None)
        migration = _run(
            app, plan.operations, author=author, source=source, message=message[:200], promoted_from=promoted_from
        )
    return Outcome(plan, migration)


def schema_rollback(*, app: App, author: str, number: int | None = None) -> SchemaMigration:
    """Undo one migration (the latest not yet undone, by default), recorded as a migration of its own."""
    with _app_locked(app):
        undoable = SchemaMigration.objects.filter(app=app, rolled_back=False).exclude(
            source=SchemaMigration.Source.ROLLBACK
        )
        target = (undoable.filter(number=number) if number is not None else undoable.order_by("-number")).first()
        if target is None:
            raise SchemaChangeError(
                f"Migration {number} cannot be rolled back (unknown, a rollback itself, or already undone)."
                if number is not None
                else "There is no migration to roll back."
            )
        later = undoable.filter(number__gt=target.number).values_list("number", flat=True)
        if later:
            raise SchemaChangeError(
                f"Migration {target.number} has later migrations ({', '.join(map(str, later))}); roll those back first."
            )
        migration = _run(
            app, target.reverse, author=author, source=SchemaMigration.Source.ROLLBACK,
            message=f"rollback of migration {target.number}", reverts=target.number,
        )  # fmt: skip
        SchemaMigration.objects.filter(pk=target.pk).update(rolled_back=True)
    return migration
