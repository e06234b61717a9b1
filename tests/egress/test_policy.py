"""The egress policy: which destinations outbound requests may reach, through what, and how much."""

from __future__ import annotations

import ipaddress
import ssl
import time
from typing import Any

import pytest

from hangar.egress import (
    EgressRefusedError,
    EgressResponseTooLargeError,
    EgressUnavailableError,
    client,
    domain_allowed,
    egress_get,
)
from hangar.egress.addresses import address_allowed, address_is_public, literal_address, parse_networks
from tests.egress.conftest import UNRESOLVABLE_SUFFIX, Recorder


@pytest.fixture(autouse=True)
def production_policy(settings: Any) -> None:
    """The defaults an operator gets with nothing configured."""
    settings.HANGAR_EGRESS_PROXY = None
    settings.HANGAR_EGRESS_ALLOWED_DOMAINS = []
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = []
    settings.HANGAR_EGRESS_TIMEOUT_SECONDS = 10
    settings.HANGAR_EGRESS_MAX_RESPONSE_BYTES = 1024 * 1024


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2a00:1450:4001:82b::200e"],
)
def test_public_addresses_are_public(address: str) -> None:
    assert address_is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "255.255.255.255", "224.0.0.1", "192.0.2.1", "::1", "::", "fe80::1", "fc00::1", "fd12::1",  # noqa: S104
        "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1", "2002:7f00:1::1", "ff02::1",
    ],
)  # fmt: skip
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not address_is_public(ipaddress.ip_address(address))
    assert not address_allowed(ipaddress.ip_address(address), [])


@pytest.mark.parametrize("spelling", ["2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "127.1", "017700000001"])
def test_legacy_ipv4_spellings_mean_loopback(spelling: str) -> None:
    assert literal_address(spelling) == ipaddress.ip_address("127.0.0.1")


def test_names_are_not_literals() -> None:
    assert literal_address("api.github.com") is None
    assert literal_address("1.2.3.4.example.com") is None


def test_allowed_private_ranges() -> None:
    networks = parse_networks(["10.0.0.0/8", "fd00::/8"])
    assert address_allowed(ipaddress.ip_address("10.9.9.9"), networks)
    assert address_allowed(ipaddress.ip_address("::ffff:10.9.9.9"), networks)
    assert not address_allowed(ipaddress.ip_address("127.0.0.1"), networks)
    assert address_allowed(ipaddress.ip_address("127.0.0.1"), parse_networks(["true"]))
    assert parse_networks(["false"]) == []
    with pytest.raises(ValueError, match="does not appear"):
        parse_networks(["not-a-network"])


def test_domain_allowlist_matches_the_domain_and_its_subdomains() -> None:
    allowed = ["api.github.com", "*.facebook.com"]
    assert domain_allowed("api.github.com", allowed)
    assert domain_allowed("graph.facebook.com", allowed)
    assert domain_allowed("GRAPH.facebook.com.", allowed)
    assert not domain_allowed("github.com", allowed)
    assert not domain_allowed("api.github.com.evil.test", allowed)
    assert not domain_allowed("evilfacebook.com", allowed)
    assert domain_allowed("anything.test", [])


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1", "localhost", "[::1]", "[::ffff:127.0.0.1]", "2130706433", "0177.0.0.1", "0x7f000001", "127.1",
        "[fe80::1]", "169.254.169.254", "10.0.0.1", "0.0.0.0", "[::]",  # noqa: S104
    ],
)  # fmt: skip
async def test_internal_destinations_are_refused_by_default(upstream: Recorder, host: str) -> None:
    with pytest.raises(EgressRefusedError) as refused:
        await egress_get(f"http://{host}:{upstream.port}/json")
    assert refused.value.retryable is False
    assert upstream.seen == []


async def test_a_name_resolving_to_loopback_is_refused(upstream: Recorder, resolver: dict[str, list[str]]) -> None:
    name = f"innocent{UNRESOLVABLE_SUFFIX}"
    resolver[name] = ["127.0.0.1"]
    with pytest.raises(EgressRefusedError, match="non-public"):
        await egress_get(f"http://{name}:{upstream.port}/json")
    assert upstream.seen == []


async def test_a_name_with_one_internal_address_among_public_ones_is_refused(resolver: dict[str, list[str]]) -> None:
    name = f"mixed{UNRESOLVABLE_SUFFIX}"
    resolver[name] = ["8.8.8.8", "10.0.0.5"]
    with pytest.raises(EgressRefusedError):
        await egress_get(f"http://{name}/")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/", "gopher://x/", "http:///nohost", "nonsense"])
async def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(EgressRefusedError):
        await egress_get(url)


async def test_loopback_allowed_explicitly_is_reached(settings: Any, upstream: Recorder) -> None:
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = ["127.0.0.1/32"]
    response = await egress_get(f"{upstream.url}/json", params={"q": "1"})
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert upstream.seen[0][0] == "/json?q=1"


async def test_the_checked_address_is_the_one_connected_to(
    settings: Any, upstream: Recorder, resolver: dict[str, list[str]]
) -> None:
    """The name is resolved once and the connection is pinned to that answer (no second lookup to rebind)."""
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = ["127.0.0.1/32"]
    name = f"pinned{UNRESOLVABLE_SUFFIX}"
    resolver[name] = ["127.0.0.1"]
    response = await egress_get(f"http://{name}:{upstream.port}/json")
    assert response.status_code == 200
    assert resolver["calls"] == [name]
    assert upstream.seen[0][1]["Host"] == f"{name}:{upstream.port}"


async def test_the_domain_allowlist_refuses_other_hosts(settings: Any, upstream: Recorder) -> None:
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = ["127.0.0.0/8", "::1/128"]
    settings.HANGAR_EGRESS_ALLOWED_DOMAINS = ["api.github.com"]
    with pytest.raises(EgressRefusedError, match="HANGAR_EGRESS_ALLOWED_DOMAINS"):
        await egress_get(f"http://localhost:{upstream.port}/json")
    with pytest.raises(EgressRefusedError, match="HANGAR_EGRESS_ALLOWED_DOMAINS"):
        await egress_get(f"{upstream.url}/json")
    assert upstream.seen == []
    settings.HANGAR_EGRESS_ALLOWED_DOMAINS = ["api.github.com", "localhost"]
    response = await egress_get(f"http://localhost:{upstream.port}/json")
    assert response.status_code == 200
    assert upstream.seen[0][1]["Host"] == f"localhost:{upstream.port}"


async def test_requests_go_through_the_configured_proxy(
    settings: Any, upstream: Recorder, forward_proxy: Recorder, resolver: dict[str, list[str]]
) -> None:
    """With a proxy, the proxy gets the name (its own rules and DNS apply) and the answer comes back through it."""
    settings.HANGAR_EGRESS_PROXY = forward_proxy.url
    name = f"provider{UNRESOLVABLE_SUFFIX}"  # this machine cannot resolve it; the proxy can
    response = await egress_get(f"http://{name}:8080/json")
    assert response.json() == {"ok": True}
    assert forward_proxy.seen[0][0] == f"http://{name}:8080/json"
    assert len(upstream.seen) == 1


async def test_a_proxy_does_not_open_internal_destinations(
    settings: Any, upstream: Recorder, forward_proxy: Recorder
) -> None:
    settings.HANGAR_EGRESS_PROXY = forward_proxy.url
    for host in ["127.0.0.1", "localhost", "2130706433", "[::ffff:127.0.0.1]", "169.254.169.254"]:
        with pytest.raises(EgressRefusedError):
            await egress_get(f"http://{host}:{upstream.port}/json")
    assert forward_proxy.seen == []


async def test_without_a_proxy_an_unresolvable_name_is_unavailable(resolver: dict[str, list[str]]) -> None:
    with pytest.raises(EgressUnavailableError) as unavailable:
        await egress_get(f"http://nowhere{UNRESOLVABLE_SUFFIX}/")
    assert unavailable.value.retryable is True


@pytest.mark.parametrize("path", ["/big", "/chunked"])
async def test_responses_larger_than_the_cap_are_refused(settings: Any, upstream: Recorder, path: str) -> None:
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = ["127.0.0.1/32"]
    settings.HANGAR_EGRESS_MAX_RESPONSE_BYTES = 1000
    with pytest.raises(EgressResponseTooLargeError) as too_large:
        await egress_get(f"{upstream.url}{path}")
    assert too_large.value.retryable is False
    settings.HANGAR_EGRESS_MAX_RESPONSE_BYTES = 10_000
    assert len((await egress_get(f"{upstream.url}{path}")).content) in {2000, 5000}


async def test_a_trickling_response_ends_at_the_deadline(settings: Any, upstream: Recorder) -> None:
    """The timeout bounds the whole exchange, not each read: a byte every 0.1s cannot keep it open."""
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = ["127.0.0.1/32"]
    settings.HANGAR_EGRESS_TIMEOUT_SECONDS = 1
    started = time.monotonic()
    with pytest.raises(EgressUnavailableError) as unavailable:
        await egress_get(f"{upstream.url}/slow")
    assert time.monotonic() - started < 3
    assert unavailable.value.retryable is True


async def test_redirects_are_not_followed(settings: Any, upstream: Recorder) -> None:
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = ["127.0.0.1/32"]
    response = await egress_get(f"{upstream.url}/redirect")
    assert response.status_code == 302
    assert len(upstream.seen) == 1


async def test_https_to_the_pinned_address_keeps_the_name_for_sni_and_the_certificate(
    settings: Any, monkeypatch: pytest.MonkeyPatch, resolver: dict[str, list[str]], tls_upstream: Any
) -> None:
    """Connecting to the checked IP does not weaken TLS: SNI is the name and the certificate must match it."""
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = ["127.0.0.1/32"]
    name = f"tls{UNRESOLVABLE_SUFFIX}"
    resolver[name] = ["127.0.0.1"]
    server = tls_upstream(name)
    monkeypatch.setattr(
        client, "_tls_context", lambda: ssl.create_default_context(cadata=server.certificate_pem.decode())
    )
    response = await egress_get(f"https://{name}:{server.port}/json")
    assert response.json() == {"ok": True}
    assert server.server_names == [name]
    assert resolver["calls"] == [name]

    impostor_name = f"impostor{UNRESOLVABLE_SUFFIX}"
    resolver[impostor_name] = ["127.0.0.1"]  # same address, but the certificate does not name it
    with pytest.raises(EgressUnavailableError):
        await egress_get(f"https://{impostor_name}:{server.port}/json")
