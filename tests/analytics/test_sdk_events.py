"""The official Parse JS SDK's ``Parse.Analytics.track`` against a live server: its events are stored and counted."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from hangar.analytics.rollups import events_rollup
from tests.conftest import LiveServer, Tenant
from tests.e2e.test_parse_sdk import SDK_DIR, run_sdk_suite

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_events_tracked_by_the_js_sdk_are_stored_and_rolled_up(
    request: pytest.FixtureRequest, live_server: LiveServer, tenant_a: Tenant
):
    run_sdk_suite(request, live_server.url, tenant_a, SDK_DIR / "analytics.test.mjs")
    deadline = time.monotonic() + 15  # the server writes its buffer within HANGAR_ANALYTICS_FLUSH_SECONDS
    counts: dict[str, int] = {}
    while time.monotonic() < deadline and counts != {"AppOpened": 1, "SdkSearch": 5}:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, count(*) FROM analytics_event WHERE app_id = %s GROUP BY name", [tenant_a.app.pk]
            )
            counts = dict(cursor.fetchall())
        time.sleep(0.2)
    assert counts == {"AppOpened": 1, "SdkSearch": 5}  # the refused ones were never stored
    events_rollup()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT dimensions->>'plan', sum(count) FROM analytics_eventrollup"
            " WHERE app_id = %s AND name = 'SdkSearch' AND period = 'day' GROUP BY 1",
            [tenant_a.app.pk],
        )
        assert dict(cursor.fetchall()) == {"free": 3, "pro": 2}
