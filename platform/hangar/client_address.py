"""The address of the client behind a request, for rate limits and lockouts on both planes.

A client may send any ``X-Forwarded-For`` it likes, so the header is believed only as far
as it was written by a proxy the operator trusts (HANGAR_TRUSTED_PROXIES, CIDRs; empty by
default, meaning the TCP peer is the client). The header is read right to left: each
trusted hop is skipped, and the first untrusted one is the client, since everything left of
it was written by that client. https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/X-Forwarded-For
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 hosts usually get a whole /64: a limit per single IPv6 address is a limit on nothing.
_IPV6_LIMIT_PREFIX = 64


def trusted_proxy_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Parse HANGAR_TRUSTED_PROXIES entries (a CIDR or a single address); ValueError on a bad one."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


@lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return trusted_proxy_networks(values)


def _parsed(value: str) -> Address | None:
    """An address from a header hop; ports (``1.2.3.4:5``, ``[::1]:5``) are dropped."""
    value = value.strip()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else value
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def client_address(remote_addr: str, forwarded_for: str | None) -> str:
    """The client's address: the TCP peer, or the nearest X-Forwarded-For hop not written by a trusted proxy."""
    if not settings.HANGAR_TRUSTED_PROXIES:
        return remote_addr
    networks = _networks(tuple(settings.HANGAR_TRUSTED_PROXIES))
    nearest = _parsed(remote_addr)
    if nearest is None or not any(nearest in network for network in networks):
        return remote_addr
    for hop in reversed((forwarded_for or "").split(",")):
        address = _parsed(hop)
        if address is None:
            # A trusted proxy wrote something that is not an address ("unknown"): stop at that
            # proxy rather than believe anything further left.
            return str(nearest)
        nearest = address
        if not any(address in network for network in networks):
            return str(address)
    return str(nearest)  # every hop is a trusted proxy: the left-most one is the best we know


def client_address_of_meta(meta: Mapping[str, Any]) -> str:
    """The client address of a Django request (``request.META``)."""
    return client_address(str(meta.get("REMOTE_ADDR") or ""), meta.get("HTTP_X_FORWARDED_FOR"))


def client_address_of_scope(scope: Mapping[str, Any]) -> str:
    """The client address of an ASGI HTTP scope (the Parse gateway's requests)."""
    client = scope.get("client")
    remote_addr = client[0] if client else ""
    if not settings.HANGAR_TRUSTED_PROXIES:
        return remote_addr
    # Several X-Forwarded-For lines read as one list, in order (RFC 9110 §5.3).
    forwarded = b",".join(value for name, value in scope.get("headers", ()) if name == b"x-forwarded-for")
    return client_address(remote_addr, forwarded.decode("latin-1"))


def rate_limit_key(address: str) -> str:
    """The bucket an address is counted in: itself, or its /64 for IPv6."""
    parsed = _parsed(address)
    if not isinstance(parsed, ipaddress.IPv6Address):
        return address
    if parsed.ipv4_mapped is not None:  # ::ffff:a.b.c.d is the IPv4 client a.b.c.d
        return str(parsed.ipv4_mapped)
    return str(ipaddress.IPv6Network((parsed, _IPV6_LIMIT_PREFIX), strict=False))
