"""The one function every outbound HTTP request of the platform goes through.

``egress_request`` applies the operator's policy (docs/egress.md): only http(s); the host must
match ``HANGAR_EGRESS_ALLOWED_DOMAINS`` when it is set; every address the name resolves to
must be public unless ``HANGAR_EGRESS_ALLOW_PRIVATE`` allows it. Without a proxy the
connection goes to the very address that was checked (the URL's host is replaced by the
IP, while the Host header and TLS SNI/certificate check keep the name), so a DNS answer that
changes between the check and the connection (DNS rebinding) cannot reach an internal
address. With ``HANGAR_EGRESS_PROXY`` the proxy connects and resolves, and it is given the
name so that its own domain rules apply. Redirects are not followed (the caller sees the
3xx), the whole exchange has one deadline and the body is read up to a size cap.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import weakref
from collections import OrderedDict
from typing import Any

import certifi
import httpx
from django.conf import settings

from hangar.egress.addresses import IPAddress, addresses_check, literal_address, parse_networks, resolve
from hangar.egress.errors import (
    EgressError,
    EgressRefusedError,
    EgressResponseTooLargeError,
    EgressUnavailableError,
)
from hangar.egress.keepalive import keepalive_close_all, keepalive_request
from hangar.egress.response import EgressResponse

_SCHEMES = {"http": 80, "https": 443}


def domain_allowed(host: str, allowed_domains: list[str]) -> bool:
    """An empty allowlist allows every host; an entry allows itself and its subdomains."""
    if not allowed_domains:
        return True
    host = host.rstrip(".").lower()
    for entry in allowed_domains:
        domain = entry.strip().lower().removeprefix("*.").removeprefix(".").rstrip(".")
        if domain and (host == domain or host.endswith(f".{domain}")):
            return True
    return False


async def egress_get(
    url: str, *, params: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> EgressResponse:
    return await egress_request("GET", url, params=params, headers=headers)


async def egress_request(
    method: str,
    url: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    timeout: float | None = None,
    max_response_bytes: int | None = None,
    http2: bool = False,
    keep_alive: bool = False,
) -> EgressResponse:
    """Send one request under the egress policy; raise an ``EgressError`` subclass when it fails.

    ``timeout`` and ``max_response_bytes`` may only tighten the operator's limits (a webhook's
    3 s deadline), never loosen them. ``http2`` negotiates HTTP/2 over TLS (ALPN), which APNs
    requires; the policy is the same. ``keep_alive`` reuses connections to the same name
    (a push provider's thousands of requests): over HTTP/1.1 without a proxy through
    ``hangar.egress.keepalive``, whose connections are opened only to an address just
    resolved and checked; with HTTP/2 or a proxy through a pooled httpx client, which
    resolves and checks the name on every request and reuses a connection only for the very
    address just checked.
    """
    target = _parsed(url, params)
    host = _destination_host(target)
    deadline = _tightest(float(settings.HANGAR_EGRESS_TIMEOUT_SECONDS), timeout)
    limit = int(_tightest(int(settings.HANGAR_EGRESS_MAX_RESPONSE_BYTES), max_response_bytes))
    try:
        async with asyncio.timeout(deadline):
            if keep_alive and not http2 and not settings.HANGAR_EGRESS_PROXY and method != "HEAD":
                return await _send_kept(method, target, host, headers or {}, content, limit)
            addresses = await _checked_addresses(host, target.port or _SCHEMES[target.scheme])
            return await _send(
                method, target, addresses, headers=headers or {}, content=content, timeout=deadline, limit=limit,
                http2=http2, keep_alive=keep_alive,
            )  # fmt: skip
    except TimeoutError as exc:
        raise EgressUnavailableError(f"{host} did not answer within the egress timeout") from exc


async def egress_check(url: str) -> None:
    """Judge a destination by the policy without sending anything (a webhook URL when it is registered).

    Raises ``EgressRefusedError`` when the policy forbids it and ``EgressUnavailableError`` when
    its name does not resolve (without a proxy that might resolve it).
    """
    target = _parsed(url, None)
    host = _destination_host(target)
    try:
        async with asyncio.timeout(float(settings.HANGAR_EGRESS_TIMEOUT_SECONDS)):
            await _checked_addresses(host, target.port or _SCHEMES[target.scheme])
    except TimeoutError as exc:
        raise EgressUnavailableError(f"{host} could not be resolved within the egress timeout") from exc


def _parsed(url: str, params: dict[str, str] | None) -> httpx.URL:
    try:
        target = _parsed_url(url) if isinstance(url, str) else httpx.URL(url)
        if params:
            target = target.copy_merge_params(params)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise EgressRefusedError(f"not a valid URL: {url!r}") from exc
    return target


@functools.lru_cache(maxsize=1024)
def _parsed_url(url: str) -> httpx.URL:
    """Parsing is a good part of a push's cost, and a provider sends to one URL all day (URLs are immutable)."""
    return httpx.URL(url)


def _tightest(policy: float, requested: float | None) -> float:
    return policy if requested is None else min(policy, requested)


def _destination_host(target: httpx.URL) -> str:
    if target.scheme not in _SCHEMES or not target.host:
        raise EgressRefusedError(f"egress allows only http(s) URLs with a host, not {target.scheme}://")
    host = target.host.rstrip(".").lower()
    if not domain_allowed(host, list(settings.HANGAR_EGRESS_ALLOWED_DOMAINS)):
        raise EgressRefusedError(f"{host} is not in HANGAR_EGRESS_ALLOWED_DOMAINS")
    return host


async def _checked_addresses(host: str, port: int) -> list[IPAddress]:
    """The addresses to connect to; empty when a proxy is configured and resolves names itself."""
    allowed_private = parse_networks(list(settings.HANGAR_EGRESS_ALLOW_PRIVATE))
    try:
        addresses = await resolve(host, port)
    except EgressUnavailableError:
        if settings.HANGAR_EGRESS_PROXY and literal_address(host) is None:
            return []  # the egress proxy resolves names this machine cannot
        raise
    addresses_check(host, addresses, allowed_private)
    return [] if settings.HANGAR_EGRESS_PROXY else addresses


def _tls_context() -> ssl.SSLContext:
    return _tls_context_with(settings.HANGAR_EGRESS_EXTRA_CA_BUNDLE or None)


@functools.cache
def _tls_context_with(extra_ca_bundle: str | None, alpn: tuple[str, ...] = ()) -> ssl.SSLContext:
    """httpx's default verification (certifi's CAs), built once instead of for every request.

    ``HANGAR_EGRESS_EXTRA_CA_BUNDLE`` adds the CAs of a private PKI (a provider's endpoint
    inside the operator's network, the local protocol servers of the tests) to certifi's.
    ``alpn`` fixes the protocols offered (the kept-alive client speaks HTTP/1.1 only; httpx
    sets ALPN itself on the contexts it is given, so those get none here).
    """
    context = ssl.create_default_context(cafile=certifi.where())
    if extra_ca_bundle:
        context.load_verify_locations(cafile=extra_ca_bundle)
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


async def _send(
    method: str, target: httpx.URL, addresses: list[IPAddress], *, headers: dict[str, str], content: bytes | None,
    timeout: float, limit: int, http2: bool = False, keep_alive: bool = False,
) -> EgressResponse:  # fmt: skip
    if keep_alive:
        client = _pooled_client(target, http2=http2, timeout=timeout)
        return await _send_with(client, method, target, addresses, headers, content, timeout, limit)
    async with _new_client(http2=http2, timeout=timeout) as client:
        return await _send_with(client, method, target, addresses, headers, content, timeout, limit)


async def _send_kept(
    method: str, target: httpx.URL, host: str, headers: dict[str, str], content: bytes | None, limit: int
) -> EgressResponse:
    port = target.port or _SCHEMES[target.scheme]
    tls = _keepalive_tls_context() if target.scheme == "https" else None
    # A connection opened under one policy is not lent under another (tests change it).
    key = (target.scheme, host, port, id(tls), tuple(settings.HANGAR_EGRESS_ALLOW_PRIVATE))
    return await keepalive_request(
        method, target, headers=headers, content=content, limit=limit, tls=tls, destination_key=key,
        check_addresses=lambda: _checked_addresses(host, port),
    )  # fmt: skip


def _keepalive_tls_context() -> ssl.SSLContext:
    return _tls_context_with(settings.HANGAR_EGRESS_EXTRA_CA_BUNDLE or None, ("http/1.1",))


def _new_client(*, http2: bool, timeout: float, limits: httpx.Limits | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        limits=limits or httpx.Limits(),
        proxy=settings.HANGAR_EGRESS_PROXY or None,
        verify=_tls_context(),
        http2=http2,
        trust_env=False,
        follow_redirects=False,
        timeout=timeout,
    )


# Per event loop (a client's connections belong to the loop that opened them; a Celery task
# runs its own loop), per destination name: a connection opened and verified for one name is
# never lent to a request for another name that resolves to the same address.
_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, OrderedDict[tuple[Any, ...], httpx.AsyncClient]] = (
    weakref.WeakKeyDictionary()
)
_POOLED_DESTINATIONS = 64  # the least recently used destination's client is closed past this
_closing: set[asyncio.Task[None]] = set()
# Every connection a busy sender opens stays open for the next request (httpx keeps only 20 by default).
_POOL_LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=32, keepalive_expiry=30)


def _pooled_client(target: httpx.URL, *, http2: bool, timeout: float) -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    clients = _pools.setdefault(loop, OrderedDict())
    tls = _tls_context()
    key = (target.scheme, target.host, target.port, settings.HANGAR_EGRESS_PROXY, http2, id(tls))
    client = clients.get(key)
    if client is not None and not client.is_closed:
        clients.move_to_end(key)
        return client
    client = clients[key] = _new_client(http2=http2, timeout=timeout, limits=_POOL_LIMITS)
    while len(clients) > _POOLED_DESTINATIONS:
        _, oldest = clients.popitem(last=False)
        task = loop.create_task(oldest.aclose())
        _closing.add(task)
        task.add_done_callback(_closing.discard)
    return client


async def _send_with(
    client: httpx.AsyncClient, method: str, target: httpx.URL, addresses: list[IPAddress], headers: dict[str, str],
    content: bytes | None, timeout: float, limit: int,
) -> EgressResponse:  # fmt: skip
    if not addresses:  # through the proxy, by name
        request = client.build_request(method, target, headers=headers, content=content, timeout=timeout)
        return await _exchange(client, request, limit)
    last_error: Exception | None = None
    for address in addresses:
        pinned = target.copy_with(host=str(address))
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        request = client.build_request(
            method, pinned, headers={**headers, "Host": target.netloc.decode("ascii")},
            content=content, extensions=extensions, timeout=timeout,
        )  # fmt: skip
        try:
            return await _exchange(client, request, limit)
        except EgressUnavailableError as exc:
            if not isinstance(exc.__cause__, httpx.ConnectError):
                raise
            last_error = exc  # the next address of the same name may answer
    raise EgressUnavailableError(f"{target.host} refused every connection") from last_error


async def _exchange(client: httpx.AsyncClient, request: httpx.Request, limit: int) -> EgressResponse:
    try:
        response = await client.send(request, stream=True)
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise EgressResponseTooLargeError(f"the response declares {declared} bytes (limit {limit})")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise EgressResponseTooLargeError(f"the response is larger than {limit} bytes")
        finally:
            await response.aclose()
    except EgressError:
        raise
    except httpx.HTTPError as exc:
        raise EgressUnavailableError(f"{request.url.host} could not be reached: {exc.__class__.__name__}") from exc
    return EgressResponse(status_code=response.status_code, headers=response.headers, content=bytes(body))


async def egress_connections_close() -> None:
    """Close the connections this event loop keeps (a Celery task's loop is about to end)."""
    await keepalive_close_all()
    clients = _pools.pop(asyncio.get_running_loop(), OrderedDict())
    for pooled in clients.values():
        await pooled.aclose()
