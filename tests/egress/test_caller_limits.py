"""A caller of the egress client may tighten the policy's limits (webhooks), never loosen them; and check a URL."""

from __future__ import annotations

import time
from typing import Any

import pytest

from hangar.egress import (
    EgressRefusedError,
    EgressResponseTooLargeError,
    EgressUnavailableError,
    egress_check,
    egress_request,
)
from tests.egress.conftest import UNRESOLVABLE_SUFFIX, Recorder


@pytest.fixture(autouse=True)
def loopback_policy(settings: Any) -> None:
    settings.HANGAR_EGRESS_PROXY = None
    settings.HANGAR_EGRESS_ALLOWED_DOMAINS = []
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = ["127.0.0.1/32"]
    settings.HANGAR_EGRESS_TIMEOUT_SECONDS = 10
    settings.HANGAR_EGRESS_MAX_RESPONSE_BYTES = 1024 * 1024


async def test_a_smaller_response_cap_applies_and_a_larger_one_does_not(settings: Any, upstream: Recorder) -> None:
    with pytest.raises(EgressResponseTooLargeError):
        await egress_request("GET", f"{upstream.url}/chunked", max_response_bytes=1000)
    settings.HANGAR_EGRESS_MAX_RESPONSE_BYTES = 1000
    with pytest.raises(EgressResponseTooLargeError):
        await egress_request("GET", f"{upstream.url}/chunked", max_response_bytes=10_000_000)


async def test_a_shorter_deadline_applies_and_a_longer_one_does_not(settings: Any, upstream: Recorder) -> None:
    started = time.monotonic()
    with pytest.raises(EgressUnavailableError):
        await egress_request("GET", f"{upstream.url}/slow", timeout=0.5)  # the body takes 5 s
    assert time.monotonic() - started < 2
    settings.HANGAR_EGRESS_TIMEOUT_SECONDS = 1
    started = time.monotonic()
    with pytest.raises(EgressUnavailableError):
        await egress_request("GET", f"{upstream.url}/slow", timeout=60)
    assert time.monotonic() - started < 3


async def test_check_judges_a_url_without_sending_anything(
    settings: Any, upstream: Recorder, resolver: dict[str, list[str]]
) -> None:
    await egress_check(f"{upstream.url}/hook")
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = []
    with pytest.raises(EgressRefusedError):
        await egress_check(f"{upstream.url}/hook")
    with pytest.raises(EgressRefusedError):
        await egress_check("gopher://example.com/")
    resolver[f"inside{UNRESOLVABLE_SUFFIX}"] = ["10.0.0.7"]
    with pytest.raises(EgressRefusedError):
        await egress_check(f"https://inside{UNRESOLVABLE_SUFFIX}/hook")
    with pytest.raises(EgressUnavailableError):
        await egress_check(f"https://nowhere{UNRESOLVABLE_SUFFIX}/hook")
    assert upstream.seen == []
