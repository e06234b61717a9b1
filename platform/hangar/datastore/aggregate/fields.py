"""Field references in a pipeline (``"$score"``) and the SQL that groups, sums and compares them.

Names are validated with the query compiler's rules (``check_field_name``: letters,
digits and ``_`` per dotted segment) before they reach SQL text, and typed with the
compiler's ``FieldRef`` over the rows entering the stage. Besides ``$name`` Parse Server
accepts ``$_created_at`` / ``$_updated_at`` and, for a Pointer field, its MongoDB column
name ``$_p_owner``; they mean ``createdAt``, ``updatedAt`` and ``owner``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hangar.datastore.aggregate.relation import PipelineContext, Relation, invalid, shown
from hangar.datastore.query.fields import SEGMENT, FieldRef, check_field_name, field_ref
from hangar.parse_errors import INVALID_KEY_NAME, ParseError

_ALIASES = {"_created_at": "createdAt", "_updated_at": "updatedAt"}
_POINTER_PREFIX = "_p_"

# MongoDB date operators -> SQL over a UTC timestamp ``{t}``; results are integers as in MongoDB.
DATE_PARTS = {
    "$year": "EXTRACT(YEAR FROM {t})::integer",
    "$month": "EXTRACT(MONTH FROM {t})::integer",
    "$dayOfMonth": "EXTRACT(DAY FROM {t})::integer",
    "$dayOfYear": "EXTRACT(DOY FROM {t})::integer",
    "$dayOfWeek": "(EXTRACT(DOW FROM {t})::integer + 1)",  # MongoDB: 1 = Sunday
    "$isoDayOfWeek": "EXTRACT(ISODOW FROM {t})::integer",
    "$isoWeek": "EXTRACT(WEEK FROM {t})::integer",
    "$isoWeekYear": "EXTRACT(ISOYEAR FROM {t})::integer",
    "$hour": "EXTRACT(HOUR FROM {t})::integer",
    "$minute": "EXTRACT(MINUTE FROM {t})::integer",
    "$second": "floor(EXTRACT(SECOND FROM {t}))::integer",
    "$millisecond": "mod(floor(EXTRACT(MILLISECONDS FROM {t}))::integer, 1000)",
}


def output_name(name: Any) -> str:
    """A field a stage creates (accumulator, ``_id`` member, ``$count``): one plain segment."""
    if not isinstance(name, str) or not SEGMENT.fullmatch(name):
        raise ParseError(INVALID_KEY_NAME, f"Invalid field name: {name}.")
    return name


def field_named(ctx: PipelineContext, rel: Relation, name: str) -> FieldRef:
    """The field ``name`` (no ``$``) of the rows of ``rel``, validated and typed."""
    name = _ALIASES.get(name, name)
    if not rel.grouped and name.startswith(_POINTER_PREFIX):
        root = name.removeprefix(_POINTER_PREFIX)
        if (rel.fields.get(root) or {}).get("type") == "Pointer":
            name = root
    path = check_field_name(name)
    if rel.grouped:
        spec = rel.fields.get(name) if len(path) == 1 else None
        return FieldRef(name, path, type=(spec or {}).get("type"))
    return field_ref(ctx.scope(rel), name, path)


def field_reference(ctx: PipelineContext, rel: Relation, value: Any, *, stage: str) -> FieldRef:
    """A ``"$name"`` operand."""
    if not isinstance(value, str) or not value.startswith("$") or len(value) < 2:
        raise invalid(stage, f'Expected a field reference such as "$score" but got {shown(value)}.')
    return field_named(ctx, rel, value[1:])


def key_json(ref: FieldRef) -> tuple[str, str | None]:
    """The field as a group key (jsonb) and its type; a Pointer groups by its objectId, as in Parse Server."""
    if ref.type == "Pointer":
        return f"to_jsonb({ref.member('objectId')})", "String"
    return ref.json, ref.type


def number_value(ref: FieldRef, *, operator: str) -> str:
    """The field as numeric for $sum/$avg; values that are not numbers count as missing."""
    if ref.type == "Number":
        return ref.number
    if ref.type is None:
        return f"CASE WHEN jsonb_typeof({ref.json}) = 'number' THEN ({ref.text})::numeric END"
    raise invalid("group", f"{operator} needs a Number field but {ref.name} is a {ref.type}.")


@dataclass(frozen=True)
class Comparable:
    """How to order values of a field: the SQL value, and how its minimum/maximum becomes wire JSON."""

    value: str
    kind: str  # "plain" (numeric or text), "date" (ISO text) or "json" (jsonb order)
    type: str | None
    collate: bool = False  # text compared byte-wise


def comparable(ref: FieldRef) -> Comparable:
    if ref.type == "Number":
        return Comparable(ref.number, "plain", "Number")
    if ref.type == "String":
        return Comparable(ref.text, "plain", "String", collate=True)
    if ref.type == "Pointer":
        return Comparable(ref.member("objectId"), "plain", "String", collate=True)
    if ref.type == "Date":
        # The canonical ISO form sorts in time order (docs/datastore.md).
        return Comparable(ref.text if ref.column else ref.member("iso"), "date", "Date", collate=True)
    return Comparable(ref.json, "json", None)


def sort_value(ref: FieldRef) -> str:
    """ORDER BY expression for a field of documents: strings and dates byte-wise, the rest in jsonb order."""
    order = comparable(ref)
    if order.collate:
        return f'{order.value} COLLATE "C"'
    return ref.json


def date_part(ctx: PipelineContext, rel: Relation, expression: dict[str, Any]) -> str:
    """``{"$year": "$createdAt"}`` -> an integer expression."""
    ((operator, operand),) = expression.items()
    template = DATE_PARTS.get(operator)
    if template is None:
        raise invalid("group", f"Unsupported expression {operator}; use a field reference or {', '.join(DATE_PARTS)}.")
    ref = field_reference(ctx, rel, operand, stage="group")
    if ref.type != "Date":
        raise invalid(
            "group", f"{operator} needs a Date field but {ref.name} is a {ref.type or 'field of unknown type'}."
        )
    moment = ref.column or f"({ref.member('iso')})::timestamptz"
    return template.format(t=f"({moment} AT TIME ZONE 'UTC')")
