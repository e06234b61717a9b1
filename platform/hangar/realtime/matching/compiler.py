"""Compile a LiveQuery ``where`` into a predicate over wire objects, with the SQL compiler's semantics.

Each branch below mirrors a branch of hangar.datastore.query (comparisons.py, arrays.py,
text.py, geo.py), which chooses its SQL by the field's schema type. The matcher has no
schema: it reads the type off the value itself, which is equivalent because a class
holds one type per field (values.schema_type), and a missing value matches nothing
whatever its type. Validation happens once, here; the predicates only compare.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hangar.datastore.dates import format_date, parse_date
from hangar.datastore.query.comparisons import COMPARATORS
from hangar.datastore.query.compiler import check_text
from hangar.datastore.query.context import MAX_DEPTH, MAX_NODES
from hangar.datastore.query.geo import DISTANCE_KEYS, center_sphere_operands, geo_point, max_distance, polygon_points
from hangar.datastore.query.literals import is_date, is_number, is_pointer, is_relative_time, json_param, normalize
from hangar.datastore.query.relative_time import RelativeTimeError, relative_time_to_date
from hangar.parse_errors import INVALID_JSON, INVALID_KEY_NAME, INVALID_QUERY, ParseError
from hangar.realtime.matching import geo
from hangar.realtime.matching.fields import Field, where_field
from hangar.realtime.matching.regex import UnsupportedRegex, compile_regex
from hangar.realtime.matching.values import MISSING, as_text, json_contains, json_equal, json_kind, schema_type

Predicate = Callable[[dict[str, Any]], bool]


class UnsupportedQuery(ParseError):
    """A valid query that LiveQuery cannot evaluate on an event (sub-queries, relations, full text)."""

    def __init__(self, what: str) -> None:
        super().__init__(INVALID_QUERY, f"LiveQuery does not support {what}")


# Operators whose answer needs other rows (Parse LiveQuery refuses them too).
UNSUPPORTED = frozenset({"$inQuery", "$notInQuery", "$select", "$dontSelect", "$text"})
COMPANIONS = frozenset({"$options", *DISTANCE_KEYS})
_RELATIVE_ONLY_ORDERED = "$relativeTime can only be used with the $lt, $lte, $gt, and $gte operators"
_ORDER = {
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
}


def _false(obj: dict[str, Any]) -> bool:
    return False


def _true(obj: dict[str, Any]) -> bool:
    return True


class _Compiler:
    def __init__(self) -> None:
        self.nodes = 0

    def charge(self, count: int = 1) -> None:
        self.nodes += count
        if self.nodes > MAX_NODES:
            raise ParseError(INVALID_QUERY, f"Query is too complex: more than {MAX_NODES} constraints and list items.")

    def where(self, where: dict[str, Any], depth: int) -> Predicate:
        if "ACL" in where:
            raise ParseError(INVALID_QUERY, "Cannot query on ACL.")
        parts = []
        for key, value in where.items():
            self.charge()
            if key in ("$or", "$and", "$nor"):
                parts.append(self.logical(key, value, depth))
            elif key == "$relatedTo":
                raise UnsupportedQuery("$relatedTo")
            elif not isinstance(key, str) or key.startswith("$"):
                raise ParseError(INVALID_KEY_NAME, f"Invalid key name: {key}")
            else:
                parts.append(self.field(where_field(key), value))
        return all_of(parts)

    def logical(self, operator: str, clauses: Any, depth: int) -> Predicate:
        if not isinstance(clauses, list) or not all(isinstance(clause, dict) for clause in clauses):
            raise ParseError(INVALID_QUERY, f"Bad {operator} format - use an array value.")
        if operator == "$nor" and not clauses:
            raise ParseError(INVALID_QUERY, "Bad $nor format - use an array of at least 1 value.")
        if depth + 1 > MAX_DEPTH:
            raise ParseError(INVALID_QUERY, f"Query is nested too deeply: the maximum depth is {MAX_DEPTH}.")
        parts = [self.where(clause, depth + 1) for clause in clauses]
        if operator == "$and":
            return all_of(parts)
        either = any_of(parts)
        return negate(either) if operator == "$nor" else either

    def field(self, ref: Field, value: Any) -> Predicate:
        if not _is_constraint(value):
            return equals(ref, value)
        parts = []
        for operator, operand in value.items():
            if operator in COMPANIONS:
                continue
            if operator in UNSUPPORTED:
                raise UnsupportedQuery(operator)
            parts.append(self.operator(ref, operator, operand, value))
        return all_of(parts)

    def operator(self, ref: Field, operator: str, operand: Any, constraint: dict[str, Any]) -> Predicate:
        if operator not in _HANDLERS:
            raise ParseError(INVALID_JSON, f"bad constraint: {operator}")
        self.charge()
        if operator in ("$in", "$nin", "$all", "$containedBy") and isinstance(operand, list):
            items = operand if operator != "$in" and operator != "$nin" else _flatten(operand)
            self.charge(len(items))
        if operator == "$geoWithin" and isinstance(operand, dict) and isinstance(operand.get("$polygon"), list):
            self.charge(len(operand["$polygon"]))
        return _HANDLERS[operator](ref, operand, constraint)


def compile_matcher(where: dict[str, Any]) -> Predicate:
    """Validate a LiveQuery ``where`` once and return whether a wire object matches it.

    Raises ParseError as the SQL compiler does for the same input (102, 105, 107, 111) and
    UnsupportedQuery (102) for operators LiveQuery cannot evaluate.
    """
    if where is None:
        where = {}
    if not isinstance(where, dict):
        raise ParseError(INVALID_QUERY, "where must be a JSON object")
    return _Compiler().where(where, 0)


def where_fields(where: dict[str, Any]) -> frozenset[str]:
    """Top-level fields a (valid) where reads, for refusing protected fields as queries do."""
    fields: set[str] = set()

    def visit(clause: dict[str, Any]) -> None:
        for key, value in clause.items():
            if key in ("$or", "$and", "$nor") and isinstance(value, list):
                for nested in value:
                    if isinstance(nested, dict):
                        visit(nested)
            elif isinstance(key, str) and not key.startswith("$"):
                fields.add(key.split(".", 1)[0])

    visit(where if isinstance(where, dict) else {})
    return frozenset(fields)


# -- combinators -------------------------------------------------------------------------


def all_of(parts: list[Predicate]) -> Predicate:
    if not parts:
        return _true
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:  # the common case, without a generator per event
        first, second = parts
        return lambda obj: first(obj) and second(obj)
    return lambda obj: all(part(obj) for part in parts)


def any_of(parts: list[Predicate]) -> Predicate:
    if not parts:
        return _false
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda obj: first(obj) or second(obj)
    return lambda obj: any(part(obj) for part in parts)


def negate(part: Predicate) -> Predicate:
    return lambda obj: not part(obj)


def _is_constraint(value: Any) -> bool:
    return isinstance(value, dict) and any(isinstance(key, str) and key.startswith("$") for key in value)


def _flatten(values: list[Any]) -> list[Any]:
    return [element for item in values for element in (item if isinstance(item, list) else [item])]


# -- literals ------------------------------------------------------------------------------


def _literal(value: Any) -> Any:
    """The normalised (stored) form of a where value, refused as the SQL side refuses its parameter."""
    json_param(value)  # 107 for values JSON cannot carry, 102 for NUL
    _check_text(value)
    return normalize(value)


def _check_text(value: Any) -> None:
    """As the SQL compiler's check_params: text PostgreSQL cannot take is refused."""
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)
    elif isinstance(value, dict):
        for item in value.values():
            _check_text(item)


def _date_operand(value: Any, date_field: bool) -> datetime | None:
    """comparisons.date_operand: a Date object, or on a Date field also a parseable ISO string."""
    if is_date(value):
        return parse_date(value)
    if isinstance(value, str) and date_field:
        try:
            return parse_date(value)
        except ParseError:
            return None
    return None


# -- equality and membership -----------------------------------------------------------------


def missing(ref: Field) -> Predicate:
    if ref.column:
        return _false
    get, is_missing = ref.get, ref.is_missing
    return lambda obj: is_missing(get(obj))


def exists(ref: Field) -> Predicate:
    if ref.column:
        return _true
    get, is_missing = ref.get, ref.is_missing
    return lambda obj: not is_missing(get(obj))


def equals(ref: Field, value: Any) -> Predicate:
    """A literal or ``$eq``: Array fields contain the value; Pointer, Date and File compare their identity."""
    if value is None:
        return missing(ref)
    if is_relative_time(value):
        raise ParseError(INVALID_JSON, _RELATIVE_ONLY_ORDERED)
    _check_text(value)
    if ref.column:
        return _column_equals(ref, value)
    literal = _literal(value)
    get, dotted = ref.get, ref.dotted
    pointer = (value["className"], value["objectId"]) if is_pointer(value) else None
    fixed_moment = parse_date(value) if is_date(value) else None
    text_moment = _date_operand(value, True) if isinstance(value, str) else None
    file_name = (
        value["name"]
        if isinstance(value, dict) and value.get("__type") == "File" and isinstance(value.get("name"), str)
        else None
    )
    wrapped = [literal]
    is_text = isinstance(literal, str)

    def match(obj: dict[str, Any]) -> bool:
        stored = get(obj)
        if stored is MISSING:
            return False
        kind = None if dotted else schema_type(stored)
        if kind == "Array":
            if is_text:  # only a string equals a string: plain membership is containment here
                return literal in stored
            return json_contains(stored, wrapped) or (isinstance(literal, list) and json_equal(stored, literal))
        if kind == "Pointer" and pointer:
            return (stored.get("className"), stored.get("objectId")) == pointer
        moment = fixed_moment or (text_moment if kind == "Date" else None)
        if moment:
            return isinstance(stored, dict) and as_text(stored.get("iso")) == format_date(moment)
        if file_name is not None:
            return isinstance(stored, dict) and as_text(stored.get("name")) == file_name
        return json_equal(stored, literal)

    return match


def _column_equals(ref: Field, value: Any) -> Predicate:
    get = ref.get
    if ref.column == "objectId":
        return (lambda obj: get(obj) == value) if isinstance(value, str) else _false
    moment = _date_operand(value, True)
    return (lambda obj: get(obj) == moment) if moment else _false


def not_equals(ref: Field, value: Any, constraint: dict[str, Any]) -> Predicate:
    return negate(equals(ref, value))


def in_list(ref: Field, values: Any, constraint: dict[str, Any], operator: str = "$in") -> Predicate:
    """``$in``: the value is one of the list (Array fields: some element is); null in the list matches missing."""
    if not isinstance(values, list):
        raise ParseError(INVALID_JSON, f"bad {operator} value")
    items = _flatten(values)
    if any(is_relative_time(item) for item in items):
        raise ParseError(INVALID_JSON, _RELATIVE_ONLY_ORDERED)
    present = [item for item in items if item is not None]
    matched = _column_in(ref, present) if ref.column else _value_in(ref, present)
    return any_of([matched, missing(ref)]) if len(present) < len(items) else matched


def not_in_list(ref: Field, values: Any, constraint: dict[str, Any]) -> Predicate:
    return negate(in_list(ref, values, constraint, "$nin"))


def _column_in(ref: Field, items: list[Any]) -> Predicate:
    _check_text(items)
    get = ref.get
    if ref.column == "objectId":
        ids = frozenset(item for item in items if isinstance(item, str))
        return (lambda obj: get(obj) in ids) if ids else _false
    moments = [moment for moment in (_date_operand(item, True) for item in items) if moment]
    return (lambda obj: get(obj) in moments) if moments else _false


def _value_in(ref: Field, items: list[Any]) -> Predicate:
    literals = [_literal(item) for item in items]
    if not items:
        return _false
    get, dotted = ref.get, ref.dotted
    pointers = frozenset((item["className"], item["objectId"]) for item in items if is_pointer(item))
    all_pointers = len(pointers) > 0 and all(is_pointer(item) for item in items)
    moments = [_date_operand(item, True) for item in items]
    isos = frozenset(format_date(moment) for moment in moments if moment) if all(moments) else None
    # Hashable scalars by JSON type, so that a string or a number is found in one lookup.
    texts = frozenset(item for item in literals if isinstance(item, str))
    numbers = frozenset(item for item in literals if is_number(item))

    def match(obj: dict[str, Any]) -> bool:
        stored = get(obj)
        if stored is MISSING:
            return False
        if type(stored) is str:
            return stored in texts
        if type(stored) in (int, float):
            return stored in numbers
        kind = None if dotted else schema_type(stored)
        if kind == "Array":
            return any(json_equal(element, literal) for element in stored for literal in literals)
        if kind == "Pointer" and all_pointers:
            return (stored.get("className"), stored.get("objectId")) in pointers
        if kind == "Date" and isos is not None:
            return as_text(stored.get("iso")) in isos
        return any(json_equal(stored, literal) for literal in literals)

    return match


def exists_constraint(ref: Field, value: Any, constraint: dict[str, Any]) -> Predicate:
    return exists(ref) if value else missing(ref)


# -- ordering --------------------------------------------------------------------------------


def compare(ref: Field, operator: str, value: Any) -> Predicate:
    """``$lt``/``$lte``/``$gt``/``$gte`` on numbers, strings (code point order), booleans and dates."""
    order = _ORDER[operator]
    get = ref.get
    if is_relative_time(value):
        return _relative_compare(ref, operator, value)
    _check_text(value)
    if ref.column == "objectId":
        return (lambda obj: _str_order(get(obj), value, order)) if isinstance(value, str) else _false
    if ref.is_date_column:
        moment = _date_operand(value, True)
        return (lambda obj: _moment_order(get(obj), moment, order)) if moment else _false
    fixed = format_date(parse_date(value)) if is_date(value) else None
    if fixed is not None:
        return lambda obj: _iso_order(get(obj), fixed, order)
    if isinstance(value, str):
        text_moment = _date_operand(value, True)
        text_iso = format_date(text_moment) if text_moment else None
        dotted = ref.dotted

        def match_text(obj: dict[str, Any]) -> bool:
            stored = get(obj)
            if text_iso is not None and not dotted and schema_type(stored) == "Date":
                return _iso_order(stored, text_iso, order)
            return _str_order(stored, value, order)

        return match_text
    if value is None:
        return _false
    if isinstance(value, list | dict):
        raise UnsupportedQuery(f"{operator} with an array or object value")
    kind = json_kind(value)
    return lambda obj: _same_kind_order(get(obj), kind, value, order)


def _str_order(stored: Any, value: str, order: Callable[[Any, Any], bool]) -> bool:
    return isinstance(stored, str) and order(stored, value)


def _moment_order(stored: Any, moment: datetime, order: Callable[[Any, Any], bool]) -> bool:
    return isinstance(stored, datetime) and order(stored, moment)


def _iso_order(stored: Any, iso: str, order: Callable[[Any, Any], bool]) -> bool:
    if not isinstance(stored, dict):
        return False
    text = as_text(stored.get("iso"))
    return text is not None and order(text, iso)


def _same_kind_order(stored: Any, kind: str, value: Any, order: Callable[[Any, Any], bool]) -> bool:
    return stored is not MISSING and json_kind(stored) == kind and order(stored, value)


def _relative_compare(ref: Field, operator: str, value: dict[str, Any]) -> Predicate:
    """``{"$relativeTime": "2 days ago"}``, resolved when each event is matched (a subscription outlives now)."""
    if ref.column == "objectId":
        raise ParseError(INVALID_JSON, "$relativeTime can only be used with Date field")
    text = value["$relativeTime"]
    try:
        if not isinstance(text, str):
            raise RelativeTimeError("The value should be a string.")
        epoch = datetime(2000, 1, 1, tzinfo=UTC)
        offset: timedelta = relative_time_to_date(text, epoch) - epoch
        relative_time_to_date(text)  # also refuse offsets out of range from today
    except RelativeTimeError as error:
        raise ParseError(INVALID_JSON, f"bad $relativeTime ({operator}) value. {error}") from None
    order, get = _ORDER[operator], ref.get
    if ref.is_date_column:
        return lambda obj: _moment_order(get(obj), datetime.now(UTC) + offset, order)
    return lambda obj: _iso_order(get(obj), format_date(datetime.now(UTC) + offset), order)


def _ordered(operator: str) -> Callable[[Field, Any, dict[str, Any]], Predicate]:
    return lambda ref, value, constraint: compare(ref, operator, value)


# -- arrays ---------------------------------------------------------------------------------


def all_values(ref: Field, values: Any, constraint: dict[str, Any]) -> Predicate:
    """``$all``: every value is an element; or every ``{"$regex"}`` matches some element."""
    if not isinstance(values, list):
        raise ParseError(INVALID_JSON, "bad $all value")
    if not values:
        return _false
    regexes = [isinstance(value, dict) and isinstance(value.get("$regex"), str) for value in values]
    get = ref.get
    if any(regexes):
        if not all(regexes):
            import json

            raise ParseError(INVALID_JSON, f"All $all values must be of regex type or none: {json.dumps(values)}")
        searches = [_search(value["$regex"], value.get("$options")) for value in values]
        return lambda obj: all(_some_element_matches(get(obj), search) for search in searches)
    literal = _literal(values)
    return lambda obj: json_contains(get(obj), literal)


def contained_by(ref: Field, values: Any, constraint: dict[str, Any]) -> Predicate:
    """``$containedBy``: the field is an array and every element is in the list."""
    if not isinstance(values, list):
        raise ParseError(INVALID_JSON, "bad $containedBy: should be an array")
    literal = _literal(values)
    get = ref.get

    def match(obj: dict[str, Any]) -> bool:
        stored = get(obj)
        return isinstance(stored, list) and json_contains(literal, stored)

    return match


def _some_element_matches(stored: Any, search: Callable[[str], object]) -> bool:
    if not isinstance(stored, list):
        return False
    for element in stored:
        text = as_text(element)
        if text is not None and search(text):
            return True
    return False


# -- text -----------------------------------------------------------------------------------


def _search(pattern: str, options: Any) -> Callable[[str], object]:
    _check_text(pattern)
    try:
        return compile_regex(pattern, options)
    except UnsupportedRegex as error:
        raise UnsupportedQuery(f"{error} in $regex") from None


def regex_match(ref: Field, pattern: Any, constraint: dict[str, Any]) -> Predicate:
    """``$regex`` (with ``$options``); on an Array field, some element matches."""
    if not isinstance(pattern, str):
        raise ParseError(INVALID_JSON, f"bad regex: {pattern}")
    search = _search(pattern, constraint.get("$options"))
    get, dotted, column = ref.get, ref.dotted, ref.column

    def match(obj: dict[str, Any]) -> bool:
        stored = get(obj)
        if column and column != "objectId":
            stored = obj.get(column)  # the wire ISO string is the column's text
        if not dotted and isinstance(stored, list):
            return _some_element_matches(stored, search)
        text = as_text(stored)
        return text is not None and bool(search(text))

    return match


# -- geo ------------------------------------------------------------------------------------


def near_sphere(ref: Field, value: Any, constraint: dict[str, Any]) -> Predicate:
    """``$nearSphere`` with an optional ``$maxDistance*`` radius (without one: the field is present)."""
    center = geo_point(value, "$nearSphere")
    radius = max_distance(constraint)
    get = ref.get
    if radius is None:
        return lambda obj: get(obj) is not MISSING
    limit = radius

    def match(obj: dict[str, Any]) -> bool:
        point = geo.location(get(obj))
        return point is not None and geo.distance(point[0], point[1], center) <= limit

    return match


def within_box(ref: Field, value: Any, constraint: dict[str, Any]) -> Predicate:
    """``$within: {$box: [corner, corner]}``, bounds included."""
    box = value.get("$box") if isinstance(value, dict) else None
    if not isinstance(box, list) or len(box) != 2:
        raise ParseError(INVALID_JSON, "malformatted $within arg")
    first, second = geo_point(box[0], "$within"), geo_point(box[1], "$within")
    south, north = min(first.latitude, second.latitude), max(first.latitude, second.latitude)
    west, east = min(first.longitude, second.longitude), max(first.longitude, second.longitude)
    get = ref.get

    def match(obj: dict[str, Any]) -> bool:
        point = geo.location(get(obj))
        return point is not None and south <= point[0] <= north and west <= point[1] <= east

    return match


def geo_within(ref: Field, value: Any, constraint: dict[str, Any]) -> Predicate:
    """``$geoWithin``: ``$polygon`` (GeoPoints, ``[lng, lat]`` pairs or a Polygon) or ``$centerSphere``."""
    if isinstance(value, dict) and "$polygon" in value:
        return _within_polygon(ref, value["$polygon"])
    if isinstance(value, dict) and "$centerSphere" in value:
        return _within_sphere(ref, value["$centerSphere"])
    raise ParseError(INVALID_JSON, "bad $geoWithin value; use $polygon or $centerSphere")


def _within_polygon(ref: Field, polygon: Any) -> Predicate:
    points = polygon_points(polygon)
    outline = [(point.longitude, point.latitude) for point in points]
    get = ref.get

    def match(obj: dict[str, Any]) -> bool:
        point = geo.location(get(obj))
        return point is not None and geo.polygon_contains(outline, point[1], point[0])

    return match


def _within_sphere(ref: Field, value: Any) -> Predicate:
    center, limit = center_sphere_operands(value)
    get = ref.get

    def match(obj: dict[str, Any]) -> bool:
        point = geo.location(get(obj))
        return point is not None and geo.distance(point[0], point[1], center) <= limit

    return match


def geo_intersects(ref: Field, value: Any, constraint: dict[str, Any]) -> Predicate:
    """``$geoIntersects: {$point}``: the Polygon field contains the point."""
    point = geo_point(value.get("$point") if isinstance(value, dict) else None, "$geoIntersects")
    get = ref.get

    def match(obj: dict[str, Any]) -> bool:
        outline = geo.stored_polygon(get(obj))
        return outline is not None and geo.polygon_contains(outline, point.longitude, point.latitude)

    return match


_HANDLERS: dict[str, Callable[[Field, Any, dict[str, Any]], Predicate]] = {
    "$eq": lambda ref, value, constraint: equals(ref, value),
    "$ne": not_equals,
    **{operator: _ordered(operator) for operator in COMPARATORS},
    "$in": in_list,
    "$nin": not_in_list,
    "$exists": exists_constraint,
    "$all": all_values,
    "$containedBy": contained_by,
    "$regex": regex_match,
    "$nearSphere": near_sphere,
    "$within": within_box,
    "$geoWithin": geo_within,
    "$geoIntersects": geo_intersects,
}
