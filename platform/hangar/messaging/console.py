"""The dashboard's push console: its form turned into a Parse push request body.

The console never sends anything itself: what it builds here is the body of a
``POST /parse/push``, which the caller checks with ``push_requests.push_spec_from_request``
(source ``webui``) and records with ``campaigns.campaign_create``, the one code path of
every push. This module only knows the form's shape:

- the **audience builder**: rows of (field, operator, value) on ``_Installation`` fields,
  ANDed into a Parse ``where``. A value is typed by the field's schema type (a Number field
  compares numbers). Fields the console refuses, with a message that says why: internal
  ones (``_rperm``, anything starting with ``_``, ``ACL``), and the device's secrets
  (``deviceToken``, ``installationId``): a live count on them would let whoever can count
  read a device's token back one character at a time.
- the **message**: alert, title, badge (a number or ``Increment``), sound, and custom JSON
  data merged in.
- the **schedule**: now, a UTC time, or a wall-clock time in each installation's time zone
  (a ``push_time`` without a zone, as Parse); an expiry after some minutes or at a UTC time.

Nothing here touches the database; every error is a ``ConsoleInputError`` with a message
for the person at the form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

# Built-in installation fields the builder offers, with their Parse types (reference §10.8).
BUILDER_FIELDS: dict[str, str] = {
    "deviceType": "String",
    "channels": "Array",
    "appVersion": "String",
    "appName": "String",
    "appIdentifier": "String",
    "localeIdentifier": "String",
    "timeZone": "String",
    "pushType": "String",
    "badge": "Number",
}
# Never queryable from the console: a count is an oracle on the field's value.
SECRET_FIELDS = frozenset({"deviceToken", "installationId", "GCMSenderId"})
INTERNAL_FIELDS = frozenset({"ACL", "authData", "objectId", "createdAt", "updatedAt"})
QUERYABLE_TYPES = frozenset({"String", "Number", "Boolean", "Array"})

OPERATORS: dict[str, str] = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "nin": "is none of",
    "gt": "greater than",
    "lt": "less than",
    "exists": "is set",
    "missing": "is not set",
}
_NO_VALUE = frozenset({"exists", "missing"})
_LIST_VALUE = frozenset({"in", "nin"})
MAX_ROWS = 20
MAX_LIST_VALUES = 100
MAX_TEXT = 4000
TARGETS = ("all", "channels", "audience", "where")
SCHEDULES = ("now", "at", "local")
EXPIRIES = ("never", "after", "at")


class ConsoleInputError(ValueError):
    """A form value the console cannot turn into a push; ``field`` names the form field."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class WhereRow:
    field: str
    op: str
    value: str


@dataclass
class ConsoleForm:
    """The push form's values as typed (strings), so a refused form is shown again unchanged."""

    alert: str = ""
    title: str = ""
    badge: str = ""
    sound: str = ""
    data: str = ""
    target: str = "all"
    channels: str = ""
    audience_id: str = ""
    rows: list[WhereRow] = field(default_factory=list)
    when: str = "now"
    push_time: str = ""
    expire: str = "never"
    expire_minutes: str = ""
    expire_at: str = ""
    audience_name: str = ""
    once: str = ""  # the form's send token: a second submit of the same form sends nothing more

    @classmethod
    def from_post(cls, post: Any) -> ConsoleForm:
        """From a QueryDict (``getlist`` for the builder's repeated row fields)."""

        def text(name: str, default: str = "") -> str:
            return str(post.get(name, default) or default).strip()

        fields, ops, values = post.getlist("row_field"), post.getlist("row_op"), post.getlist("row_value")
        rows = [
            WhereRow(str(f).strip(), str(o).strip(), str(v).strip())
            for f, o, v in zip(fields, ops, values, strict=False)
        ]
        return cls(
            alert=text("alert"), title=text("title"), badge=text("badge"), sound=text("sound"), data=text("data"),
            target=text("target", "all"), channels=text("channels"), audience_id=text("audience_id"),
            rows=rows, when=text("when", "now"), push_time=text("push_time"),
            expire=text("expire", "never"), expire_minutes=text("expire_minutes"), expire_at=text("expire_at"),
            audience_name=text("audience_name"), once=text("once")[:64],
        )  # fmt: skip

    def filled_rows(self) -> list[WhereRow]:
        return [row for row in self.rows if row.field]

    def check_sizes(self) -> None:
        """Refuse (never cut) what is too long: a cut alert or JSON would send something else than typed."""
        for name in ("alert", "title", "badge", "sound", "data", "channels", "audience_name"):
            if len(getattr(self, name)) > MAX_TEXT:
                raise ConsoleInputError(f"{name.title()} is longer than {MAX_TEXT} characters.", field=name)
        filled = self.filled_rows()
        if len(filled) > MAX_ROWS:
            raise ConsoleInputError(f"An audience has at most {MAX_ROWS} rows.", field="row_field")
        if any(len(row.field) > 200 or len(row.value) > MAX_TEXT for row in filled):
            raise ConsoleInputError(f"A row's value has at most {MAX_TEXT} characters.", field="row_value")


def field_refusal(name: str, fields: Mapping[str, str]) -> str | None:
    """Why the builder refuses to query ``name`` (None: it may). ``fields``: the installation schema's types."""
    if name.startswith("_") or name in INTERNAL_FIELDS:
        return f"{name} is an internal field: audiences can't be built on it."
    if name in SECRET_FIELDS:
        return f"{name} is hidden: it is the device's secret, and audiences can't be built on it."
    kind = fields.get(name)
    if kind is None:
        return f"Installations have no field {name}."
    if kind not in QUERYABLE_TYPES:
        return f"{name} is a {kind}: the builder compares text, numbers, booleans and channels only."
    return None


def builder_fields(schema_fields: Mapping[str, str]) -> dict[str, str]:
    """The fields offered in the builder: the built-in ones and the app's custom ones it may query."""
    offered = {**BUILDER_FIELDS, **schema_fields}
    return {name: kind for name, kind in sorted(offered.items()) if field_refusal(name, offered) is None}


def _typed(value: str, kind: str, name: str) -> Any:
    if kind == "Number":
        try:
            number = float(value)
        except ValueError:
            raise ConsoleInputError(f"{name} is a number; {value!r} is not one.", field="row_value") from None
        return int(number) if number.is_integer() else number
    if kind == "Boolean":
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise ConsoleInputError(f"{name} is true or false; {value!r} is neither.", field="row_value")
        return lowered == "true"
    return value


def _condition(row: WhereRow, kind: str) -> Any:
    if row.op not in OPERATORS:
        raise ConsoleInputError(f"Unknown operator {row.op!r}.", field="row_op")
    if row.op in _NO_VALUE:
        return {"$exists": row.op == "exists"}
    element_kind = "String" if kind == "Array" else kind  # channels: compare to one channel name
    if row.op in _LIST_VALUE:
        items = [item.strip() for item in row.value.split(",") if item.strip()]
        if not items:
            raise ConsoleInputError(f"Give {row.field} one or more values, separated by commas.", field="row_value")
        if len(items) > MAX_LIST_VALUES:
            raise ConsoleInputError(f"At most {MAX_LIST_VALUES} values in one row.", field="row_value")
        return {f"${row.op}": [_typed(item, element_kind, row.field) for item in items]}
    if not row.value:
        raise ConsoleInputError(f"Give a value for {row.field}.", field="row_value")
    value = _typed(row.value, element_kind, row.field)
    if row.op == "eq":
        return value  # on an array field: contains it, as Parse's equality does
    return {f"${row.op}": value}


def where_from_rows(rows: Sequence[WhereRow], schema_fields: Mapping[str, str]) -> dict[str, Any]:
    """The installation query the builder's rows describe (all ANDed); {} with no row: every installation."""
    offered = {**BUILDER_FIELDS, **schema_fields}
    clauses: list[dict[str, Any]] = []
    for row in rows:
        if not row.field:
            continue
        refusal = field_refusal(row.field, offered)
        if refusal is not None:
            raise ConsoleInputError(refusal, field="row_field")
        clauses.append({row.field: _condition(row, offered[row.field])})
    names = [next(iter(clause)) for clause in clauses]
    if len(set(names)) == len(names):
        return {name: clause[name] for clause, name in zip(clauses, names, strict=True)}
    return {"$and": clauses}  # a field in two rows (e.g. appVersion > 2 and < 3)


def _badge(text: str) -> Any:
    if not text:
        return None
    if text.lower() == "increment":
        return "Increment"
    try:
        number = float(text)
    except ValueError:
        raise ConsoleInputError("Badge is a number or Increment.", field="badge") from None
    if not number.is_integer() or number < 0:
        raise ConsoleInputError("Badge is a whole number of 0 or more, or Increment.", field="badge")
    return int(number)


def _data(form: ConsoleForm) -> dict[str, Any]:
    custom: dict[str, Any] = {}
    if form.data:
        try:
            custom = orjson.loads(form.data)
        except orjson.JSONDecodeError:
            raise ConsoleInputError('Custom data must be JSON, like {"uri": "app://news"}.', field="data") from None
        if not isinstance(custom, dict):
            raise ConsoleInputError('Custom data must be a JSON object, like {"uri": "app://news"}.', field="data")
    data: dict[str, Any] = {}
    for name, value in (("alert", form.alert), ("title", form.title), ("sound", form.sound)):
        if value:
            data[name] = value
    badge = _badge(form.badge)
    if badge is not None:
        data["badge"] = badge
    repeated = sorted(set(data) & set(custom))
    if repeated:
        raise ConsoleInputError(f"Custom data repeats {', '.join(repeated)}: set it in its own field.", field="data")
    data.update(custom)
    if not data:
        raise ConsoleInputError("Write an alert (or custom data) to send.", field="alert")
    return data


def _wall_clock(text: str, name: str) -> datetime:
    """A ``datetime-local`` input's value (no zone)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConsoleInputError("Give a date and time, like 2030-01-02T09:30.", field=name) from None
    if moment.tzinfo is not None:
        raise ConsoleInputError("Give the time without a zone.", field=name)
    return moment.replace(microsecond=0)


def _schedule(form: ConsoleForm, now: datetime) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if form.when not in SCHEDULES:
        raise ConsoleInputError("Choose when to send.", field="when")
    if form.when != "now":
        if not form.push_time:
            raise ConsoleInputError("Give the time to send at.", field="push_time")
        moment = _wall_clock(form.push_time, "push_time")
        if form.when == "at":
            if moment.replace(tzinfo=UTC) < now.replace(second=0, microsecond=0):
                raise ConsoleInputError(
                    f"That time has passed (it is {now:%Y-%m-%d %H:%M} UTC); choose Now to send at once.",
                    field="push_time",
                )
            body["push_time"] = moment.isoformat() + "Z"
        else:
            body["push_time"] = moment.isoformat()  # no zone: each installation's local time (Parse)
    if form.expire not in EXPIRIES:
        raise ConsoleInputError("Choose when the push expires.", field="expire")
    if form.expire == "after":
        try:
            minutes = int(form.expire_minutes)
        except ValueError:
            raise ConsoleInputError("Expire after a whole number of minutes.", field="expire_minutes") from None
        if minutes <= 0:
            raise ConsoleInputError("Expire after at least one minute.", field="expire_minutes")
        body["expiration_interval"] = minutes * 60
    elif form.expire == "at":
        if not form.expire_at:
            raise ConsoleInputError("Give the expiry time.", field="expire_at")
        body["expiration_time"] = _wall_clock(form.expire_at, "expire_at").isoformat() + "Z"
    return body


def target_of(form: ConsoleForm, schema_fields: Mapping[str, str]) -> dict[str, Any]:
    """The push body's target: ``where``, ``channels`` or ``audience_id``."""
    form.check_sizes()
    if form.target not in TARGETS:
        raise ConsoleInputError("Choose who receives the push.", field="target")
    if form.target == "channels":
        channels = [name.strip() for name in form.channels.split(",") if name.strip()]
        if not channels:
            raise ConsoleInputError("Name at least one channel.", field="channels")
        return {"channels": channels}
    if form.target == "audience":
        if not form.audience_id:
            raise ConsoleInputError("Choose a saved audience.", field="audience_id")
        return {"audience_id": form.audience_id}
    if form.target == "where":
        return {"where": where_from_rows(form.rows, schema_fields)}
    return {"where": {}}


def counted_where(form: ConsoleForm, schema_fields: Mapping[str, str]) -> dict[str, Any] | None:
    """The installation query to count for the form's target (None: a saved audience, counted by its id)."""
    target = target_of(form, schema_fields)
    if "channels" in target:
        return {"channels": {"$in": target["channels"]}}
    if "audience_id" in target:
        return None
    return dict(target["where"])


def push_body(form: ConsoleForm, schema_fields: Mapping[str, str], *, now: datetime) -> dict[str, Any]:
    """The ``POST /parse/push`` body the form describes (checked again, as any push, by the caller)."""
    return {**target_of(form, schema_fields), "data": _data(form), **_schedule(form, now)}
