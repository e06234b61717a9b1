"""The dashboard's data browser: classes, their schema, a keyset-paged grid and edits, through the datastore services.

Every read and write here calls the same datastore functions as the Parse routes
(``hangar.datastore.schemas``, ``queries``, ``objects``) with the app's master scope and
its active cloud code, so a dashboard edit gets the Parse API's validation, its triggers
and its change feed (LiveQuery). Nothing here writes SQL. The caller (dashboard/access.py)
has already checked the developer's role for the app; these functions take that one app
explicitly and never another. Schema changes are audited, and recorded in the app's
schema history as migrations (hangar.schema_history.recording) so that ``hangar schema
diff``/``pull`` and rollbacks see them; row edits are not (like Parse Dashboard, the data is
the app's, not the organization's record).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from asgiref.sync import async_to_sync
from django.conf import settings

from hangar.backups.lease import restore_running
from hangar.caller import Caller
from hangar.cloudcode.console import deployed_code_get
from hangar.datastore import objects, queries, schemas
from hangar.parse_errors import INVALID_JSON, OPERATION_FORBIDDEN, ParseError
from hangar.schema_history.models import SchemaMigration
from hangar.schema_history.recording import schema_change_record
from hangar.schema_history.selectors import class_schema_wire_get
from tenants import data_keyset
from tenants.audit import audit_record
from tenants.models import App, Developer, Organization

log = logging.getLogger(__name__)

PAGE_SIZE = 50
MAX_BULK_DELETE = 200
CLASSES_PER_PAGE = 50  # one count query per class shown
# Types a new column may have from the dashboard, as Parse's schema API names them.
FIELD_TYPES = ("String", "Number", "Boolean", "Date", "Object", "Array", "Pointer", "Relation", "GeoPoint", "File")
# Types a grid cell can be edited in (Relation is browsed, not edited; ACL, Pointer and File have pickers).
EDITABLE_TYPES = frozenset(
    {"String", "Number", "Boolean", "Date", "Object", "Array", "Pointer", "GeoPoint", "ACL", "File"}
)
# Operators of the filter builder per field type: (operator id, label).
OPERATORS: dict[str, tuple[tuple[str, str], ...]] = {
    "String": (("eq", "equals"), ("ne", "is not"), ("starts", "starts with"), ("exists", "is set"),
               ("missing", "is not set")),
    "Number": (("eq", "="), ("ne", "≠"), ("lt", "<"), ("lte", "≤"), ("gt", ">"), ("gte", "≥"), ("exists", "is set"),
               ("missing", "is not set")),
    "Boolean": (("true", "is true"), ("false", "is false"), ("exists", "is set"), ("missing", "is not set")),
    "Date": (("lt", "before"), ("gt", "after"), ("exists", "is set"), ("missing", "is not set")),
    "Pointer": (("eq", "points to id"), ("exists", "is set"), ("missing", "is not set")),
}  # fmt: skip
OTHER_OPERATORS = (("exists", "is set"), ("missing", "is not set"))
_COMPARISONS = {"ne": "$ne", "lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte"}


class DataInputError(ParseError):
    """A value typed into the browser that does not fit its column; shown next to the form like a Parse error."""

    def __init__(self, message: str) -> None:
        super().__init__(INVALID_JSON, message)


@dataclass(frozen=True)
class ClassSummary:
    name: str
    count: int
    fields: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Filter:
    field: str
    op: str
    value: str = ""


@dataclass
class GridPage:
    class_name: str
    fields: dict[str, dict[str, Any]]
    rows: list[dict[str, Any]]
    where: dict[str, Any]
    sort: str
    next_cursor: str | None
    total: int


def _writable(app: App) -> None:
    """Refuse an edit while a restore replaces the app's content (hangar.backups.lease), as the Parse API does."""
    if restore_running(app.pk):
        raise ParseError(
            OPERATION_FORBIDDEN,
            "This app is being restored from a backup and is read-only until the restore ends; try again shortly.",
        )


def master_caller(app: App) -> Caller:
    """The master scope with the app's active cloud code, as the Parse route would build it for the master key."""
    return Caller(app_pk=app.pk, is_master=True, cloud_code=deployed_code_get(app))


def files_base(app: App) -> str:
    return f"{settings.HANGAR_PUBLIC_URL}{settings.HANGAR_PARSE_MOUNT}/files/{app.application_id}"


def master_find(app: App, class_name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of ``GET /classes/:className`` with ``params``, as the master key would get them."""
    found = async_to_sync(queries.object_find)(
        caller=master_caller(app), class_name=class_name, params=params, files_base=files_base(app)
    )
    return list(found["results"])


# Reads ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassPage:
    classes: list[ClassSummary]  # this page's, counted
    number: int
    pages: int
    has_custom: bool  # the app has a class of its own (not only _User, _Role, ...)


def data_class_page(*, app: App, number: int = 1) -> ClassPage:
    """A page of the app's classes by name, each with its object count (only this page's are counted)."""
    caller = master_caller(app)
    listed = async_to_sync(schemas.schema_list)(caller=caller)["results"]
    pages = max(1, math.ceil(len(listed) / CLASSES_PER_PAGE))
    number = min(max(1, number), pages)
    shown = listed[(number - 1) * CLASSES_PER_PAGE : number * CLASSES_PER_PAGE]
    summaries = [
        ClassSummary(name=schema["className"], count=_count(app, caller, schema["className"], {}),
                     fields=schema["fields"])
        for schema in shown
    ]  # fmt: skip
    has_custom = any(not schema["className"].startswith("_") for schema in listed)
    return ClassPage(classes=summaries, number=number, pages=pages, has_custom=has_custom)


def _count(app: App, caller: Caller, class_name: str, where: dict[str, Any]) -> int:
    params: dict[str, Any] = {"count": 1, "limit": 0, **({"where": where} if where else {})}
    found = async_to_sync(queries.object_find)(
        caller=caller, class_name=class_name, params=params, files_base=files_base(app)
    )
    return int(found.get("count", 0))


def data_class_get(*, app: App, class_name: str) -> dict[str, Any]:
    """The class's schema as ``GET /schemas/:className`` answers it (103 when it does not exist)."""
    return dict(async_to_sync(schemas.schema_get)(caller=master_caller(app), class_name=class_name))


def _date(iso: str) -> dict[str, str]:
    return {"__type": "Date", "iso": iso}


def data_page(
    *, app: App, class_name: str, where: dict[str, Any] | None = None, sort: str = "-createdAt",
    cursor: str | None = None, limit: int = PAGE_SIZE, counted: bool = True,
) -> GridPage:  # fmt: skip
    """One page of the class's objects matching ``where``, in ``sort`` order, after ``cursor`` (keyset).

    ``sort`` is any sortable column (``name`` or ``-name``), objectId breaking ties.
    """
    caller = master_caller(app)
    schema = data_class_get(app=app, class_name=class_name)
    data_keyset.sort_check(sort, schema["fields"])
    where = where or {}
    rows: list[dict[str, Any]] = []
    for part in data_keyset.after_parts(sort, cursor, schema["fields"]) if cursor else [{}]:
        conditions = [condition for condition in (where, part) if condition]
        query = conditions[0] if len(conditions) == 1 else ({"$and": conditions} if conditions else {})
        params: dict[str, Any] = {
            "order": data_keyset.order_of(sort),
            "limit": limit + 1 - len(rows),
            **({"where": query} if query else {}),
        }
        found = async_to_sync(queries.object_find)(
            caller=caller, class_name=class_name, params=params, files_base=files_base(app)
        )
        rows.extend(found["results"])
        if len(rows) > limit:
            break
    more = len(rows) > limit
    rows = rows[:limit]
    return GridPage(
        class_name=class_name, fields=schema["fields"], rows=rows, where=where, sort=sort,
        next_cursor=data_keyset.cursor_encode(rows[-1], sort) if more and rows else None,
        total=_count(app, caller, class_name, where) if counted else -1,
    )  # fmt: skip


# Filters --------------------------------------------------------------------------------------


def operators_for(type_name: str) -> tuple[tuple[str, str], ...]:
    return OPERATORS.get(type_name, OTHER_OPERATORS)


def where_from_filters(fields: dict[str, dict[str, Any]], filters: list[Filter]) -> dict[str, Any]:
    """A Parse ``where`` from the filter builder's rows (all must match); bad rows raise DataInputError."""
    where: dict[str, Any] = {}
    for row in filters:
        spec = fields.get(row.field)
        if spec is None:
            raise DataInputError(f"There is no column {row.field!r} to filter on.")
        allowed = {op for op, _label in operators_for(spec["type"])}
        if row.op not in allowed:
            raise DataInputError(f"{row.op!r} does not apply to a {spec['type']} column.")
        condition = _condition(spec, row)
        existing = where.get(row.field)
        if isinstance(existing, dict) and isinstance(condition, dict) and not _is_literal(existing):
            existing.update(condition)  # two ranges on one column: {"$gt": a, "$lt": b}
        else:
            where[row.field] = condition
    return where


def _is_literal(value: dict[str, Any]) -> bool:
    return "__type" in value


def _condition(spec: dict[str, Any], row: Filter) -> Any:
    if row.op == "exists":
        return {"$exists": True}
    if row.op == "missing":
        return {"$exists": False}
    if row.op in ("true", "false"):
        return row.op == "true"
    if row.op == "starts":
        return {"$regex": "^" + re.escape(row.value)}
    value = value_from_text(spec, row.value)
    if row.op == "eq":
        return value
    return {_COMPARISONS[row.op]: value}


# Values ---------------------------------------------------------------------------------------


def value_from_text(spec: dict[str, Any], text: str) -> Any:
    """The Parse value a text box's content stands for in a column of this type; DataInputError if it cannot."""
    kind = spec["type"]
    text = text.strip() if kind != "String" else text
    if kind == "String":
        return text
    if kind == "Number":
        return _number(text)
    if kind == "Boolean":
        if text.lower() not in ("true", "false"):
            raise DataInputError("A Boolean is true or false.")
        return text.lower() == "true"
    if kind == "Date":
        return _date(_iso(text))
    if kind in ("Object", "Array"):
        return _json(kind, text)
    if kind == "Pointer":
        if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", text):
            raise DataInputError("A pointer takes the objectId of the object it points to.")
        return {"__type": "Pointer", "className": spec.get("targetClass"), "objectId": text}
    if kind == "GeoPoint":
        return _geopoint(text)
    if kind == "ACL":
        return _acl(text)
    raise DataInputError(f"A {kind} column is not edited as text here.")


def _number(text: str) -> int | float:
    try:
        number = float(text)
    except ValueError as exc:
        raise DataInputError(f"{text!r} is not a number.") from exc
    if not math.isfinite(number):
        raise DataInputError("A number must be finite.")
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def _iso(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise DataInputError(f"{text!r} is not a date; use 2026-12-07T09:30 or 2026-12-07T09:30:00Z.") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the date picker sends no zone; the dashboard shows UTC
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(kind: str, text: str) -> Any:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise DataInputError(f"Not valid JSON: {exc}") from exc
    expected = dict if kind == "Object" else list
    if not isinstance(value, expected):
        raise DataInputError(f"An {kind} column takes a JSON {'object' if kind == 'Object' else 'array'}.")
    return value


def _acl(text: str) -> dict[str, Any]:
    """An ACL as JSON: ``{"*": {"read": true}, "<userId>": {"read": true, "write": true}, "role:Admins": {...}}``."""
    acl = _json("Object", text)
    for principal, rights in acl.items():
        if not isinstance(rights, dict) or not rights or set(rights) - {"read", "write"}:
            raise DataInputError(f'{principal!r}: an ACL entry is {{"read": true}} and/or {{"write": true}}.')
        if any(value is not True for value in rights.values()):
            raise DataInputError(f"{principal!r}: ACL rights are true (leave a right out to deny it).")
    return acl


def _geopoint(text: str) -> dict[str, Any]:
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 2:
        raise DataInputError("A GeoPoint is latitude, longitude (e.g. 48.85, 2.35).")
    return {"__type": "GeoPoint", "latitude": _number(parts[0]), "longitude": _number(parts[1])}


def text_of(value: Any, spec: dict[str, Any] | None) -> str:
    """How a stored value shows in a cell and in its edit box (the inverse of ``value_from_text``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        kind = value.get("__type")
        if kind == "Date":
            return str(value.get("iso", ""))
        if kind == "Pointer":
            return str(value.get("objectId", ""))
        if kind == "GeoPoint":
            return f"{value.get('latitude')}, {value.get('longitude')}"
        if kind == "File":
            return str(value.get("name", ""))
        if kind == "Relation":
            return f"Relation<{value.get('className', '')}>"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


# Export ----------------------------------------------------------------------------

EXPORT_PAGE = 500


def export_rows(*, app: App, class_name: str) -> Iterator[dict[str, Any]]:
    """Every object of the class, in objectId order, a keyset page at a time (memory stays flat)."""
    cursor = None
    while True:
        page = data_page(
            app=app, class_name=class_name, sort="objectId", cursor=cursor, limit=EXPORT_PAGE, counted=False
        )
        yield from page.rows
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def export_json(*, app: App, class_name: str) -> Iterator[bytes]:
    """``{"results": [...]}`` as the REST API answers a find, streamed object by object."""
    yield b'{"results":['
    for index, row in enumerate(export_rows(app=app, class_name=class_name)):
        yield (b"," if index else b"") + orjson.dumps(row)
    yield b"]}\n"


def export_csv(*, app: App, class_name: str) -> Iterator[str]:
    """One header line of the class's columns, then one line per object (JSON for objects and arrays)."""
    fields = data_class_get(app=app, class_name=class_name)["fields"]
    columns = list(fields)
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: list[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(columns)
    for row in export_rows(app=app, class_name=class_name):
        yield line([text_of(row.get(name), fields[name]) for name in columns])


# Writes ---------------------------------------------------------------------------------------


def _audit(actor: Developer, organization: Organization, app: App, action: str, details: dict[str, Any]) -> None:
    audit_record(
        actor=actor, organization=organization, action=action, target_type="app",
        target_id=app.application_id, target_name=app.name, details=details,
    )  # fmt: skip


def _schema_changed(actor: Developer, app: App, class_name: str, change: Callable[[Caller], Awaitable[Any]]) -> None:
    """Make a schema change through the datastore, then record it in the app's schema history.

    The change stands whatever happens to its record: a history that could not be written is
    logged, as for a /schemas change (hangar.gateway.handlers.schemas).
    """
    _writable(app)
    before = class_schema_wire_get(app=app, class_name=class_name)
    caller = master_caller(app)

    async def changed() -> Any:
        return await change(caller)

    after = async_to_sync(changed)()
    try:
        async_to_sync(schema_change_record)(
            app_pk=app.pk, class_name=class_name, before=before, after=after if isinstance(after, dict) else None,
            source=SchemaMigration.Source.DASHBOARD, author=actor.email,
        )  # fmt: skip
    except Exception:
        log.exception("could not record the dashboard change of %s in app %s", class_name, app.pk)


def field_spec(type_name: str, target_class: str = "") -> dict[str, Any]:
    """A schema field of this type; Pointer and Relation need the class they point to."""
    if type_name not in FIELD_TYPES:
        raise DataInputError(f"Unknown column type {type_name!r}.")
    if type_name in ("Pointer", "Relation"):
        if not target_class:
            raise DataInputError(f"A {type_name} column needs the class it points to.")
        return {"type": type_name, "targetClass": target_class}
    return {"type": type_name}


def data_class_create(
    *, actor: Developer, organization: Organization, app: App, class_name: str, fields: dict[str, dict[str, Any]]
) -> None:
    """Create a class with its first fields through ``POST /schemas``'s service (same names and types checked)."""
    body = {"className": class_name, "fields": fields}
    _schema_changed(actor, app, class_name, lambda caller: schemas.schema_create(
        caller=caller, class_name=class_name, body=body))  # fmt: skip
    _audit(actor, organization, app, "data.class_create", {"class": class_name, "fields": sorted(fields)})


def data_class_delete(*, actor: Developer, organization: Organization, app: App, class_name: str) -> None:
    """Drop an empty class (Parse's 255 when it still holds objects)."""
    _schema_changed(actor, app, class_name, lambda caller: schemas.schema_delete(caller=caller, class_name=class_name))
    _audit(actor, organization, app, "data.class_delete", {"class": class_name})


def data_field_add(
    *, actor: Developer, organization: Organization, app: App, class_name: str, name: str, spec: dict[str, Any]
) -> None:
    body = {"className": class_name, "fields": {name: spec}}
    _schema_changed(actor, app, class_name, lambda caller: schemas.schema_update(
        caller=caller, class_name=class_name, body=body))  # fmt: skip
    _audit(actor, organization, app, "data.field_add", {"class": class_name, "field": name, "type": spec["type"]})


def data_field_remove(*, actor: Developer, organization: Organization, app: App, class_name: str, name: str) -> None:
    """Remove a column and its values from every object (Parse's ``{"__op": "Delete"}`` in a schema update)."""
    body = {"className": class_name, "fields": {name: {"__op": "Delete"}}}
    _schema_changed(actor, app, class_name, lambda caller: schemas.schema_update(
        caller=caller, class_name=class_name, body=body))  # fmt: skip
    _audit(actor, organization, app, "data.field_remove", {"class": class_name, "field": name})


def data_object_create(*, app: App, class_name: str, body: dict[str, Any], object_id: str | None = None) -> str:
    """Create an object as ``POST /classes/:className`` with the master key would; returns its objectId.

    With ``object_id`` the object gets that id (the import's deterministic ids); 137 if it exists.
    """
    _writable(app)
    _response, created_id = async_to_sync(objects.object_create)(
        caller=master_caller(app), class_name=class_name, body=body, files_base=files_base(app), object_id=object_id
    )
    return created_id


def data_object_update(*, app: App, class_name: str, object_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Update an object as ``PUT /classes/:className/:objectId`` with the master key; returns it as stored."""
    _writable(app)
    caller = master_caller(app)
    async_to_sync(objects.object_update)(
        caller=caller, class_name=class_name, object_id=object_id, body=body, files_base=files_base(app)
    )
    return data_object_get(app=app, class_name=class_name, object_id=object_id)


def data_object_get(*, app: App, class_name: str, object_id: str) -> dict[str, Any]:
    return dict(
        async_to_sync(queries.object_get)(
            caller=master_caller(app), class_name=class_name, object_id=object_id, params={}, files_base=files_base(app)
        )
    )


def data_objects_delete(*, app: App, class_name: str, object_ids: list[str]) -> int:
    """Delete each object as ``DELETE /classes/...`` would (its triggers run); returns how many went."""
    _writable(app)
    if len(object_ids) > MAX_BULK_DELETE:
        raise DataInputError(f"Delete at most {MAX_BULK_DELETE} objects at a time.")
    caller = master_caller(app)
    for object_id in object_ids:
        async_to_sync(objects.object_delete)(
            caller=caller, class_name=class_name, object_id=object_id, files_base=files_base(app)
        )
    return len(object_ids)


def data_class_permissions_set(
    *, actor: Developer, organization: Organization, app: App, class_name: str, clp: dict[str, Any]
) -> None:
    """Replace the class-level permissions (operations, protectedFields, pointer permissions).

    Parse's schema service validates them exactly as ``PUT /schemas/:className`` would.
    """
    body = {"className": class_name, "classLevelPermissions": clp}
    _schema_changed(actor, app, class_name, lambda caller: schemas.schema_update(
        caller=caller, class_name=class_name, body=body))  # fmt: skip
    _audit(actor, organization, app, "data.class_permissions", {"class": class_name, "clp": clp})


def json_object(text: str) -> dict[str, Any]:
    """A JSON object typed into a box (CLP, index keys); DataInputError when it is not one."""
    value = _json("Object", text)
    assert isinstance(value, dict)
    return value


def data_index_add(
    *, actor: Developer, organization: Organization, app: App, class_name: str, name: str, text: str
) -> None:
    """Add an index, e.g. ``{"score": -1}`` (built concurrently by the schema service, as for ``PUT /schemas``)."""
    spec = _json("Object", text)
    body = {"className": class_name, "indexes": {name: spec}}
    _schema_changed(actor, app, class_name, lambda caller: schemas.schema_update(
        caller=caller, class_name=class_name, body=body))  # fmt: skip
    _audit(actor, organization, app, "data.index_add", {"class": class_name, "index": name, "keys": spec})


def data_index_drop(*, actor: Developer, organization: Organization, app: App, class_name: str, name: str) -> None:
    body = {"className": class_name, "indexes": {name: {"__op": "Delete"}}}
    _schema_changed(actor, app, class_name, lambda caller: schemas.schema_update(
        caller=caller, class_name=class_name, body=body))  # fmt: skip
    _audit(actor, organization, app, "data.index_drop", {"class": class_name, "index": name})
