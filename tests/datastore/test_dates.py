"""Date decoding (any ISO 8601 offset) and the one canonical encoding the SDKs parse (reference §18.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from hangar.datastore.dates import date_json, format_date, parse_date
from hangar.parse_errors import ParseError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"__type": "Date", "iso": "2022-01-01T12:23:45.678Z"}, datetime(2022, 1, 1, 12, 23, 45, 678000, tzinfo=UTC)),
        ("2022-01-01T12:23:45.678Z", datetime(2022, 1, 1, 12, 23, 45, 678000, tzinfo=UTC)),
        ("2022-01-01T05:23:45-07:00", datetime(2022, 1, 1, 12, 23, 45, tzinfo=UTC)),
        ("2022-01-01T14:23:45.5+0200", datetime(2022, 1, 1, 12, 23, 45, 500000, tzinfo=UTC)),
        ("2022-01-01T12:23:45z", datetime(2022, 1, 1, 12, 23, 45, tzinfo=UTC)),
        ("2022-01-01 12:23Z", datetime(2022, 1, 1, 12, 23, tzinfo=UTC)),
        ("2022-01-01T12:23:45", datetime(2022, 1, 1, 12, 23, 45, tzinfo=UTC)),
        ("2022-01-01", datetime(2022, 1, 1, tzinfo=UTC)),
        ("2022-01-01T12:23:45.1234567Z", datetime(2022, 1, 1, 12, 23, 45, 123456, tzinfo=UTC)),
        (datetime(2022, 1, 1, 13, tzinfo=timezone(timedelta(hours=1))), datetime(2022, 1, 1, 12, tzinfo=UTC)),
        (datetime(2022, 1, 1, 12), datetime(2022, 1, 1, 12, tzinfo=UTC)),
    ],
)
def test_parse_date_accepts_iso_8601_with_any_offset(value: object, expected: datetime):
    parsed = parse_date(value)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2022-13-01T00:00:00Z",
        "2022-01-01T25:00:00Z",
        "2022-W01",
        "2022-01-01T00:00:00Z\n",
        "٢٠٢٢-01-01",
        "0001-01-01T00:00:00+01:00",
        "",
        5,
        None,
        {"__type": "Date"},
        {"__type": "Date", "iso": 5},
        {"__type": "Pointer", "iso": "2022-01-01"},
        {"iso": "2022-01-01"},
    ],
)
def test_parse_date_rejects_what_is_not_a_date(value: object):
    with pytest.raises(ParseError) as error:
        parse_date(value)
    assert (error.value.code, error.value.message) == (111, "This is not a valid Date")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2022, 1, 1, 12, 23, 45, 678999, tzinfo=UTC), "2022-01-01T12:23:45.678Z"),
        (datetime(2022, 1, 1, 0, 0, tzinfo=UTC), "2022-01-01T00:00:00.000Z"),
        (datetime(2021, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-2))), "2022-01-01T01:00:00.000Z"),
        (datetime(999, 1, 2, 3, 4, 5, 6000), "0999-01-02T03:04:05.006Z"),
    ],
)
def test_format_date_is_utc_with_exactly_three_fractional_digits(value: datetime, expected: str):
    assert format_date(value) == expected


def test_round_trip_and_wire_object():
    assert date_json(parse_date("2022-06-01T10:00:00.5+02:00")) == {"__type": "Date", "iso": "2022-06-01T08:00:00.500Z"}
    assert format_date(parse_date("2022-06-01T08:00:00.123Z")) == "2022-06-01T08:00:00.123Z"
