"""hangar.client_address: X-Forwarded-For is believed only as far as trusted proxies wrote it."""

from __future__ import annotations

import httpx
import pytest

from hangar.client_address import client_address, client_address_of_meta, rate_limit_key
from tests.conftest import Tenant


def test_without_trusted_proxies_the_header_is_ignored(settings) -> None:
    settings.HANGAR_TRUSTED_PROXIES = []
    assert client_address("198.51.100.7", "203.0.113.1") == "198.51.100.7"


@pytest.mark.parametrize(
    ("remote_addr", "forwarded_for", "client"),
    [
        # The proxy appended the peer it saw; what the client wrote further left is ignored.
        ("10.0.0.2", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        # Two trusted hops: skip both.
        ("10.0.0.2", "6.6.6.6, 203.0.113.9, 10.0.0.7", "203.0.113.9"),
        # A peer that is not a trusted proxy is the client, whatever it claims.
        ("198.51.100.7", "203.0.113.9", "198.51.100.7"),
        # A trusted proxy without the header, or one that wrote garbage: stop at the proxy.
        ("10.0.0.2", None, "10.0.0.2"),
        ("10.0.0.2", "6.6.6.6, unknown", "10.0.0.2"),
        ("10.0.0.2", "6.6.6.6, unknown, 10.0.0.7", "10.0.0.7"),
        # Ports and brackets are dropped; IPv6 works.
        ("10.0.0.2", "203.0.113.9:4711", "203.0.113.9"),
        ("10.0.0.2", "[2001:db8::1]:4711", "2001:db8::1"),
        # Every hop is trusted: the left-most is the best known.
        ("10.0.0.2", "10.0.0.9", "10.0.0.9"),
    ],
)
def test_the_nearest_untrusted_hop_is_the_client(settings, remote_addr, forwarded_for, client) -> None:
    settings.HANGAR_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_address(remote_addr, forwarded_for) == client


def test_several_header_lines_read_as_one_list(settings) -> None:
    settings.HANGAR_TRUSTED_PROXIES = ["10.0.0.0/8"]
    meta = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "6.6.6.6,203.0.113.9"}  # as Django joins them
    assert client_address_of_meta(meta) == "203.0.113.9"


def test_ipv6_clients_are_counted_per_64() -> None:
    assert rate_limit_key("2001:db8:1:2:aaaa::1") == rate_limit_key("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert rate_limit_key("::ffff:203.0.113.9") == "203.0.113.9"
    assert rate_limit_key("203.0.113.9") == "203.0.113.9"


def test_a_bad_trusted_proxy_entry_stops_the_server(monkeypatch) -> None:
    import subprocess
    import sys

    env = {"HANGAR_TRUSTED_PROXIES": "10.0.0.0/8,not-a-network", "PATH": "", "PYTHONPATH": "platform:."}
    result = subprocess.run(
        [sys.executable, "-c", "import hangar.settings_test"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "HANGAR_TRUSTED_PROXIES" in result.stderr


@pytest.mark.django_db(transaction=True)
async def test_parse_logins_are_limited_per_forwarded_client(
    parse_client: httpx.AsyncClient, tenant_a: Tenant, settings
) -> None:
    """The gateway's end-user login limit counts the client a trusted proxy saw, not the proxy nor a spoof."""
    from hangar.redis_async import get_redis

    settings.HANGAR_TRUSTED_PROXIES = ["127.0.0.1/32"]  # parse_client connects from 127.0.0.1
    settings.HANGAR_LOGIN_RATE_PER_IP = 2
    settings.HANGAR_LOGIN_RATE_PER_USERNAME = 0
    redis = get_redis()
    stale = [key async for key in redis.scan_iter(f"hangar:loginrl:{tenant_a.app.pk}:*")]
    if stale:
        await redis.delete(*stale)

    async def log_in(forwarded_for: str) -> int:
        headers = {**tenant_a.parse_headers(), "X-Forwarded-For": forwarded_for}
        body = {"username": "ada", "password": "x"}
        return (await parse_client.post("/parse/login", json=body, headers=headers)).status_code

    spoofed = [await log_in(f"6.6.6.{n}, 203.0.113.5") for n in range(3)]
    assert spoofed == [404, 404, 429]
    assert await log_in("203.0.113.6") == 404


def test_the_launcher_gives_uvicorn_the_same_trusted_proxies(monkeypatch) -> None:
    """Uvicorn's own default believes any loopback peer's X-Forwarded-For; the launcher replaces it."""
    from hangar.launcher import _serve_commands

    monkeypatch.delenv("HANGAR_TRUSTED_PROXIES", raising=False)
    web = _serve_commands("127.0.0.1", "8000")["web"]
    assert "--no-proxy-headers" in web
    assert "--forwarded-allow-ips" not in web
    monkeypatch.setenv("HANGAR_TRUSTED_PROXIES", "10.0.0.0/8, ::1/128")
    web = _serve_commands("127.0.0.1", "8000")["web"]
    assert web[web.index("--forwarded-allow-ips") + 1] == "10.0.0.0/8,::1/128"
    assert "--no-proxy-headers" not in web
