"""The parameters of ``GET /aggregate/:C`` read as Parse Server's AggregateRouter reads them (reference §13.5).

``distinct`` (with an optional ``where``) asks for distinct values. Otherwise the
pipeline is ``pipeline`` (a list of one-key stages, an object of stages, or either as a
JSON string) or, without it, the other parameters themselves as an object of stages.
``hint``, ``readPreference`` and ``comment`` are accepted and ignored; ``explain`` is
refused rather than answered with results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from hangar.datastore.aggregate.group import check_group_keys
from hangar.datastore.aggregate.relation import invalid, shown
from hangar.parse_errors import COMMAND_UNAVAILABLE, INVALID_JSON, INVALID_QUERY, ParseError

MAX_STAGES = 50
_IGNORED = ("hint", "readPreference", "comment")
_NOT_STAGES = frozenset({"distinct", "where"})


@dataclass(frozen=True)
class AggregateParams:
    distinct: str | None
    where: dict[str, Any]
    stages: list[tuple[str, Any]]


def aggregate_params(params: dict[str, Any]) -> AggregateParams:
    params = {key: value for key, value in params.items() if key not in _IGNORED}
    if params.pop("explain", None) not in (None, False, 0, "", "false"):
        raise ParseError(COMMAND_UNAVAILABLE, "explain is not supported on aggregate.")
    distinct = params.get("distinct")
    if distinct in (None, "", False, 0):
        distinct = None
    elif not isinstance(distinct, str):
        raise invalid("distinct", f"Expected a field name but got {shown(distinct)}.")
    return AggregateParams(distinct=distinct, where=_where(params.get("where")), stages=_stages(params))


def _where(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise ParseError(INVALID_JSON, "where must be a JSON object") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ParseError(INVALID_QUERY, "where must be a JSON object")
    return value


def _stages(params: dict[str, Any]) -> list[tuple[str, Any]]:
    if "pipeline" in params:
        pipeline = params["pipeline"]
        if isinstance(pipeline, str):
            try:
                pipeline = orjson.loads(pipeline)
            except orjson.JSONDecodeError:
                raise invalid("pipeline", "Expected a JSON array of stages.") from None
    else:
        pipeline = {key: value for key, value in params.items() if key not in _NOT_STAGES}
    if isinstance(pipeline, dict):
        pipeline = [{key: value} for key, value in pipeline.items() if value is not None]
    if not isinstance(pipeline, list):
        raise invalid("pipeline", f"Expected an array of stages but got {shown(pipeline)}.")
    if len(pipeline) > MAX_STAGES:
        raise invalid("pipeline", f"At most {MAX_STAGES} stages are allowed.")
    return [stage for stage in (_stage(item) for item in pipeline) if stage is not None]


def _stage(item: Any) -> tuple[str, Any] | None:
    if not isinstance(item, dict):
        raise invalid("pipeline", f"Each stage must be an object with one key; got {shown(item)}.")
    if len(item) != 1:
        raise ParseError(INVALID_QUERY, f"Pipeline stages should only have one key but found {', '.join(item)}.")
    ((name, value),) = item.items()
    if name in _NOT_STAGES:
        return None
    if not name.startswith("$"):
        raise ParseError(INVALID_QUERY, f"Invalid aggregate stage '{name}'.")
    if name == "$group" and isinstance(value, dict):
        check_group_keys(value)
    return name, value
