"""The data plane's per-process caches hold at most their configured number of entries, oldest use out first."""

from __future__ import annotations

from typing import Any

import pytest

from hangar.admission import registry
from hangar.bounded_cache import LruCache, cache_report
from hangar.datastore import schema_registry
from tests.conftest import make_tenant
from tests.datastore.conftest import ParseApp


def test_the_least_recently_used_entry_goes_first():
    bound = {"size": 3}
    cache: LruCache[str, int] = LruCache("test-lru", lambda: bound["size"])
    for number, key in enumerate("abc"):
        cache[key] = number
    assert cache.get("a") == 0  # "a" is now the newest; "b" the oldest
    cache["d"] = 3
    assert cache.keys() == ["c", "a", "d"]
    assert cache.get("b") is None
    assert cache_report()["test-lru"] == {"entries": 3, "max_entries": 3, "evictions": 1}
    bound["size"] = 1  # a smaller bound applies from the next insertion
    cache["e"] = 4
    assert cache.keys() == ["e"]
    assert cache.pop("e") == 4
    assert len(cache) == 0


@pytest.mark.django_db(transaction=True)
async def test_a_process_serving_more_apps_than_its_bound_keeps_only_the_recent_ones(parse_client, settings: Any):
    """Every app still answers; the process holds at most HANGAR_CACHE_MAX_APPS apps and schemas."""
    from asgiref.sync import sync_to_async

    settings.HANGAR_CACHE_MAX_APPS = 3
    registry.app_cache_clear()
    tenants = [await sync_to_async(make_tenant)(f"dense{n}") for n in range(6)]
    for round_number in (1, 2):  # a second round: the evicted apps are loaded again, and answer the same
        for tenant in tenants:
            app = ParseApp(parse_client, tenant)
            created = await app.request("POST", "/classes/Note", {"n": 1}, master=True)
            assert created.status_code == 201, created.text
            found = await app.request("GET", "/classes/Note")
            assert len(found.json()["results"]) == round_number  # its own objects, and no other app's
            assert len(registry._cache) <= 3
            assert len(schema_registry._cache) <= 3
    report = cache_report()
    assert report["apps"]["max_entries"] == 3
    assert report["apps"]["evictions"] >= 9
    assert report["schemas"]["entries"] <= 3
    # The newest apps are the cached ones.
    assert set(registry._cache.keys()) == {tenant.application_id for tenant in tenants[-3:]}
