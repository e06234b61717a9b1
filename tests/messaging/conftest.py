"""Fixtures of the SMS and email tests: the management API clients and the provider double."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from hangar.messaging.sends import send_rate_key
from tests.datastore.conftest import app_a, app_b  # noqa: F401  (fixtures)
from tests.messaging import provider_doubles
from tests.tenants.conftest import alice, bob, member_of  # noqa: F401  (fixtures)


@pytest.fixture
def providers(settings: Any) -> Iterator[provider_doubles.ProviderDouble]:
    """The provider double behind HANGAR_MESSAGING_PROVIDERS, fresh for each test."""
    provider_doubles.DOUBLE = provider_doubles.ProviderDouble()
    # App ids repeat across test databases: each test starts with a full sending budget.
    cache.delete_many([send_rate_key(app_pk) for app_pk in range(1, 500)])
    settings.HANGAR_MESSAGING_PROVIDERS = "tests.messaging.provider_doubles"
    yield provider_doubles.DOUBLE
    provider_doubles.DOUBLE = provider_doubles.ProviderDouble()
