"""bench/analytics.py's verdicts: an events run is valid only when every answered event was stored."""

from __future__ import annotations

from bench.analytics import EventsResult, render


def _events(*, answered: int, stored: int, non_2xx: int = 0) -> EventsResult:
    return EventsResult(
        answered=answered, non_2xx=non_2xx, socket_errors=0, stored=stored, seconds=2.0, p50_ms=1.0, p99_ms=5.0,
        cpu_ms_per_event=0.1, connections=64,
    )  # fmt: skip


def test_events_stored_but_in_flight_at_wrks_deadline_are_allowed():
    assert _events(answered=1000, stored=1000).valid
    assert _events(answered=1000, stored=1064).valid  # at most one per connection
    assert _events(answered=1000, stored=1000).events_per_second == 500


def test_lost_or_extra_events_or_errors_make_the_run_invalid():
    assert not _events(answered=1000, stored=999).valid  # an answered event was lost
    assert not _events(answered=1000, stored=1065).valid  # more than in flight: counted twice
    assert not _events(answered=1000, stored=1000, non_2xx=1).valid
    assert "INVALID" in render(_events(answered=1000, stored=10), None)
