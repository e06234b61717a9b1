"""The $relativeTime grammar (protocol reference §8.2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hangar.datastore.query.relative_time import RelativeTimeError, relative_time_to_date

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("now", timedelta(0)),
        ("1 day ago", -timedelta(days=1)),
        ("in 2 hours", timedelta(hours=2)),
        ("3 yrs 2 wks 1 d 4 hr 5 mins 6 secs ago", -timedelta(days=3 * 365 + 14 + 1, hours=4, minutes=5, seconds=6)),
        ("in 1 year", timedelta(days=365)),
        ("  IN   10  Minutes ", timedelta(minutes=10)),
        ("in 1 wk 1 week 2 weeks", timedelta(weeks=4)),
        ("30 sec ago", -timedelta(seconds=30)),
        ("-2 days ago", timedelta(days=2)),
    ],
)
def test_valid_relative_times(text: str, delta: timedelta):
    assert relative_time_to_date(text, NOW) == NOW + delta


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2 days", "Time should either start with 'in' or end with 'ago'"),
        ("", "Time should either start with 'in' or end with 'ago'"),
        ("in 2 days ago", "Time cannot have both 'in' and 'ago'"),
        ("in 2", "Invalid time string. Dangling unit or number."),
        ("in 1.5 days", "'1.5' is not an integer."),
        ("in two days", "'two' is not an integer."),
        ("in 2 months", "Invalid interval: 'months'"),
        ("in 999999999999 years", "Time is out of range."),
    ],
)
def test_invalid_relative_times(text: str, reason: str):
    with pytest.raises(RelativeTimeError) as error:
        relative_time_to_date(text, NOW)
    assert str(error.value) == reason


def test_defaults_to_the_current_time():
    before = datetime.now(UTC)
    assert before - timedelta(days=1, seconds=1) <= relative_time_to_date("1 day ago") <= datetime.now(UTC)
