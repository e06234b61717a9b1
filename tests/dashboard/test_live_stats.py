"""The app settings page shows the app's live LiveQuery connections and subscriptions per class.

The figures come from the Redis hash each realtime process writes for each app
(``hangar.realtime.stats``); these tests write those entries in the real Redis, as two
server processes would, and read the page: the app's own sums, never another app's,
to the app's members only, and a page that still answers when Redis does not.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from django.test import Client
from django.urls import reverse

from hangar.realtime import stats
from tests.conftest import Tenant
from tests.dashboard.conftest import logged_in

pytestmark = pytest.mark.django_db


def settings_url(tenant: Tenant) -> str:
    return reverse("dashboard:app_settings", args=[tenant.organization.pk, tenant.app.pk])


def live_card(page: str) -> str:
    match = re.search(r'<section class="card" aria-labelledby="livequery-title">.*?</section>', page, re.S)
    assert match, "no LiveQuery card on the page"
    return match.group(0)


def subscription_rows(card: str) -> dict[str, int]:
    return {name: int(n) for name, n in re.findall(r'<tr><td class="mono">(\w+)</td><td>(\d+)</td></tr>', card)}


@pytest.fixture
def live_redis(tenant_a: Tenant, tenant_b: Tenant) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = [stats.live_stats_key(tenant.app.pk) for tenant in (tenant_a, tenant_b)]
    client.delete(*keys)
    yield client
    client.delete(*keys)
    client.close()


def test_the_page_sums_every_process_of_the_app_and_lists_subscriptions_per_class(
    alice_client: Client, tenant_a: Tenant, tenant_b: Tenant, live_redis: redis.Redis
) -> None:
    live_redis.hset(
        stats.live_stats_key(tenant_a.app.pk),
        mapping={
            "process-1": stats.stats_entry(3, {"Game": 2, "Message": 1}),
            "process-2": stats.stats_entry(4, {"Game": 5}),
        },
    )
    # Another tenant's figures, under the same class name: never on Alice's page.
    live_redis.hset(stats.live_stats_key(tenant_b.app.pk), "process-1", stats.stats_entry(900, {"Game": 700}))

    response = alice_client.get(settings_url(tenant_a))

    assert response.status_code == 200
    card = live_card(response.content.decode())
    assert '<dd id="livequery-connections">7</dd>' in card
    assert subscription_rows(card) == {"Game": 7, "Message": 1}
    assert "900" not in card
    assert "700" not in card


def test_an_app_without_live_clients_shows_none(
    alice_client: Client, tenant_a: Tenant, live_redis: redis.Redis
) -> None:
    card = live_card(alice_client.get(settings_url(tenant_a)).content.decode())

    assert '<dd id="livequery-connections">0</dd>' in card
    assert 'id="livequery-no-subscriptions"' in card
    assert subscription_rows(card) == {}


def test_another_organizations_member_gets_404_not_the_figures(
    tenant_a: Tenant, tenant_b: Tenant, live_redis: redis.Redis
) -> None:
    live_redis.hset(stats.live_stats_key(tenant_a.app.pk), "process-1", stats.stats_entry(42, {"Secret": 42}))
    bob = logged_in(tenant_b.developer)

    direct = bob.get(settings_url(tenant_a))
    # Nor by putting Alice's app under Bob's own organization.
    planted = bob.get(reverse("dashboard:app_settings", args=[tenant_b.organization.pk, tenant_a.app.pk]))

    for page in (direct, planted):
        assert page.status_code == 404
        assert "Secret" not in page.content.decode()
        assert "livequery-connections" not in page.content.decode()


def test_the_page_still_answers_when_redis_does_not(
    alice_client: Client, tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    unreachable = redis.Redis(host="127.0.0.1", port=port, socket_timeout=0.5, socket_connect_timeout=0.5)
    monkeypatch.setattr(stats, "_client", unreachable)

    response = alice_client.get(settings_url(tenant_a))

    assert response.status_code == 200
    card = live_card(response.content.decode())
    assert 'id="livequery-live-unavailable"' in card
    assert "livequery-connections" not in card
