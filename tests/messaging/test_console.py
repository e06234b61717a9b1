"""The push console's form turned into a Parse push body: rows into a where, typed values, refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hangar.messaging.console import (
    ConsoleForm,
    ConsoleInputError,
    WhereRow,
    builder_fields,
    push_body,
    where_from_rows,
)

SCHEMA = {"plan": "String", "seats": "Number", "beta": "Boolean", "user": "Pointer", "deviceToken": "String"}
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def test_rows_become_a_typed_and_anded_where():
    rows = [
        WhereRow("deviceType", "in", "ios, android"),
        WhereRow("seats", "gt", "2"),
        WhereRow("beta", "eq", "TRUE"),
        WhereRow("channels", "eq", "news"),
        WhereRow("plan", "missing", "ignored"),
        WhereRow("", "eq", "an empty row is skipped"),
    ]
    assert where_from_rows(rows, SCHEMA) == {
        "deviceType": {"$in": ["ios", "android"]}, "seats": {"$gt": 2}, "beta": True, "channels": "news",
        "plan": {"$exists": False},
    }  # fmt: skip
    twice = [WhereRow("seats", "gt", "1.5"), WhereRow("seats", "lt", "10")]
    assert where_from_rows(twice, SCHEMA) == {"$and": [{"seats": {"$gt": 1.5}}, {"seats": {"$lt": 10}}]}
    assert where_from_rows([], SCHEMA) == {}


def test_the_builder_offers_only_fields_it_may_query():
    offered = builder_fields(SCHEMA)
    assert {"deviceType", "channels", "timeZone", "plan", "seats", "beta"} <= set(offered)
    assert not {"user", "deviceToken", "installationId", "ACL"} & set(offered)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (WhereRow("user", "eq", "x"), "user is a Pointer"),
        (WhereRow("deviceToken", "exists", ""), "deviceToken is hidden"),
        (WhereRow("_wperm", "exists", ""), "internal field"),
        (WhereRow("beta", "eq", "maybe"), "beta is true or false"),
        (WhereRow("plan", "in", " , "), "one or more values"),
        (WhereRow("plan", "eq", ""), "Give a value for plan"),
    ],
)
def test_rows_the_builder_refuses(row: WhereRow, message: str):
    with pytest.raises(ConsoleInputError, match=message):
        where_from_rows([row], SCHEMA)


def test_a_form_becomes_a_push_body():
    form = ConsoleForm(alert="Hi", badge="3", data='{"uri": "app://x"}', target="channels", channels="a, b",
                       when="local", push_time="2030-02-03T08:15", expire="after", expire_minutes="5")  # fmt: skip
    assert push_body(form, SCHEMA, now=NOW) == {
        "channels": ["a", "b"], "data": {"alert": "Hi", "badge": 3, "uri": "app://x"},
        "push_time": "2030-02-03T08:15:00", "expiration_interval": 300,
    }  # fmt: skip
    at = ConsoleForm(alert="Hi", badge="increment", when="at", push_time="2030-01-01T12:00", expire="at",
                     expire_at="2030-01-02T00:00")  # fmt: skip
    assert push_body(at, SCHEMA, now=NOW) == {
        "where": {}, "data": {"alert": "Hi", "badge": "Increment"}, "push_time": "2030-01-01T12:00:00Z",
        "expiration_time": "2030-01-02T00:00:00Z",
    }  # fmt: skip
    with pytest.raises(ConsoleInputError, match="whole number"):
        push_body(ConsoleForm(alert="x", badge="1.5"), SCHEMA, now=NOW)


def test_too_long_values_are_refused_not_cut():
    with pytest.raises(ConsoleInputError, match="Alert is longer than 4000"):
        push_body(ConsoleForm(alert="x" * 4001), SCHEMA, now=NOW)
    rows = [WhereRow("plan", "eq", str(n)) for n in range(21)]
    with pytest.raises(ConsoleInputError, match="at most 20 rows"):
        push_body(ConsoleForm(alert="x", target="where", rows=rows), SCHEMA, now=NOW)
