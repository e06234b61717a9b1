"""Which addresses an outbound request may reach, decided after the name is resolved.

A destination is public when the address it resolves to is globally routable; loopback,
private (RFC 1918, ULA), link-local, CGNAT, multicast and reserved ranges are refused unless
the operator lists them in ``HANGAR_EGRESS_ALLOW_PRIVATE``. Addresses that embed an IPv4
address (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4, Teredo) are judged by
the embedded address, since that is where the packets end up.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence

from hangar.egress.errors import EgressRefusedError, EgressUnavailableError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def literal_address(host: str) -> IPAddress | None:
    """The address a host spelled as an IP means, including the legacy forms the C resolver accepts.

    ``2130706433``, ``0177.0.0.1``, ``0x7f.1`` and ``127.1`` all mean 127.0.0.1 to
    ``inet_aton`` (and so to curl, browsers and many proxies); they are judged as that address.
    """
    bare = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def effective_address(address: IPAddress) -> IPAddress:
    """The address packets are really delivered to (the IPv4 inside an IPv6 wrapper)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address.__class__(int(address)))  # drops a scope id
        if inner is not None:
            return inner
    return address


def address_is_public(address: IPAddress) -> bool:
    """True for a globally routable unicast address."""
    target = effective_address(address)
    return target.is_global and not (target.is_multicast or target.is_reserved or target.is_unspecified)


def address_allowed(address: IPAddress, allowed_private: Sequence[IPNetwork]) -> bool:
    """Public addresses always; others only inside a network the operator allowed."""
    if address_is_public(address):
        return True
    target = effective_address(address)
    return any(target.version == net.version and target in net for net in allowed_private)


def parse_networks(values: Sequence[str]) -> list[IPNetwork]:
    """``HANGAR_EGRESS_ALLOW_PRIVATE``'s items as networks (``true`` is every address)."""
    networks: list[IPNetwork] = []
    for value in values:
        if value.strip().lower() in {"true", "yes", "on", "1"}:
            networks += [ipaddress.IPv4Network("0.0.0.0/0"), ipaddress.IPv6Network("::/0")]
        elif value.strip().lower() not in {"false", "no", "off", "0", ""}:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
    return networks


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (a literal resolves to itself, without DNS)."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    import asyncio

    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise EgressUnavailableError(f"{host} could not be resolved") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise EgressUnavailableError(f"{host} could not be resolved")
    return addresses


def addresses_check(host: str, addresses: Sequence[IPAddress], allowed_private: Sequence[IPNetwork]) -> None:
    """Refuse the destination if any address it resolves to is not allowed (no mixed answers)."""
    for address in addresses:
        if not address_allowed(address, allowed_private):
            raise EgressRefusedError(f"{host} resolves to {address}, a non-public address egress may not reach")
