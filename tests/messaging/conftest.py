"""The local provider servers (session-scoped), the egress settings that let adapters reach them, two apps,
and the SMS and email tests' provider double."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from hangar.messaging.sends import send_rate_key
from tests.datastore.conftest import ParseApp, app_a, app_b  # Parse requests against two apps
from tests.files.conftest import MotoServer, moto_server  # noqa: F401 (the S3 tests' moto process, reused for SNS/SES)
from tests.messaging import provider_doubles
from tests.messaging.endpoints.apns import ApnsEndpoint
from tests.messaging.endpoints.fcm import FcmEndpoint
from tests.messaging.endpoints.twilio import TwilioEndpoint
from tests.messaging.endpoints.webpush import WebPushEndpoint
from tests.tenants.conftest import alice, bob, member_of  # noqa: F401 (the management API's callers)

__all__ = ["MotoServer", "ParseApp", "app_a", "app_b"]


@pytest.fixture(scope="session")
def fcm_endpoint() -> Iterator[FcmEndpoint]:
    endpoint = FcmEndpoint().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture(scope="session")
def twilio_endpoint() -> Iterator[TwilioEndpoint]:
    endpoint = TwilioEndpoint().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture(scope="session")
def webpush_endpoint() -> Iterator[WebPushEndpoint]:
    endpoint = WebPushEndpoint().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture(scope="session")
def apns_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApnsEndpoint]:
    endpoint = ApnsEndpoint(certs_dir=Path(tmp_path_factory.mktemp("apns-certs"))).start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def fcm(fcm_endpoint: FcmEndpoint) -> Iterator[FcmEndpoint]:
    fcm_endpoint.reset()
    yield fcm_endpoint
    fcm_endpoint.reset()


@pytest.fixture(autouse=True)
def _egress_reaches_the_local_endpoints(settings: Any) -> None:
    """Egress refuses loopback by default; these tests talk to servers on it, and trust their test CA."""
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = ["127.0.0.1/32", "::1/128"]


@pytest.fixture
def providers(settings: Any) -> Iterator[provider_doubles.ProviderDouble]:
    """The provider double behind HANGAR_MESSAGING_PROVIDERS, fresh for each test (SMS and email tests)."""
    provider_doubles.DOUBLE = provider_doubles.ProviderDouble()
    # App ids repeat across test databases: each test starts with a full sending budget.
    cache.delete_many([send_rate_key(app_pk) for app_pk in range(1, 500)])
    settings.HANGAR_MESSAGING_PROVIDERS = "tests.messaging.provider_doubles"
    yield provider_doubles.DOUBLE
    provider_doubles.DOUBLE = provider_doubles.ProviderDouble()
