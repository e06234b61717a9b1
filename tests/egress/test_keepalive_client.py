"""The kept-alive HTTP/1.1 client (hangar.egress.keepalive): the policy's guarantees hold on it too.

Push providers send through it (``keep_alive=True`` without HTTP/2 or a proxy), so every limit
the egress policy sets for one-off requests is checked here again on kept connections: the
size cap, the deadline, no redirects, the pinned address and TLS name, and header text that
could split a request.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import Any

import pytest

from hangar.egress import (
    EgressRefusedError,
    EgressResponseTooLargeError,
    EgressUnavailableError,
    client,
    egress_connections_close,
    egress_request,
)
from hangar.egress.keepalive import request_bytes
from tests.egress.conftest import UNRESOLVABLE_SUFFIX, Recorder


@pytest.fixture(autouse=True)
def loopback_allowed(settings: Any) -> None:
    settings.HANGAR_EGRESS_PROXY = None
    settings.HANGAR_EGRESS_ALLOWED_DOMAINS = []
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = ["127.0.0.1/32"]
    settings.HANGAR_EGRESS_TIMEOUT_SECONDS = 10
    settings.HANGAR_EGRESS_MAX_RESPONSE_BYTES = 1024 * 1024


async def _get(url: str, **kwargs: Any) -> Any:
    return await egress_request("GET", url, keep_alive=True, **kwargs)


async def test_answers_and_headers_come_back_and_the_connection_is_kept(upstream: Recorder) -> None:
    for _ in range(3):
        response = await _get(f"{upstream.url}/json?q=1")
        assert response.status_code == 200
        assert response.json() == {"ok": True}
        assert response.headers["content-type"] == "application/json"
    assert [path for path, _ in upstream.seen] == ["/json?q=1"] * 3
    assert upstream.seen[0][1]["Host"] == f"127.0.0.1:{upstream.port}"


@pytest.mark.parametrize("path", ["/big", "/chunked"])
async def test_responses_larger_than_the_cap_are_refused(settings: Any, upstream: Recorder, path: str) -> None:
    settings.HANGAR_EGRESS_MAX_RESPONSE_BYTES = 1000
    with pytest.raises(EgressResponseTooLargeError):
        await _get(f"{upstream.url}{path}")
    settings.HANGAR_EGRESS_MAX_RESPONSE_BYTES = 10_000
    assert len((await _get(f"{upstream.url}{path}")).content) in {2000, 5000}  # chunked: decoded


async def test_a_trickling_response_ends_at_the_deadline(settings: Any, upstream: Recorder) -> None:
    settings.HANGAR_EGRESS_TIMEOUT_SECONDS = 1
    started = time.monotonic()
    with pytest.raises(EgressUnavailableError):
        await _get(f"{upstream.url}/slow")
    assert time.monotonic() - started < 3
    # The connection the late answer was still arriving on is not lent again: the next request is clean.
    settings.HANGAR_EGRESS_TIMEOUT_SECONDS = 10
    assert (await _get(f"{upstream.url}/json")).json() == {"ok": True}


async def test_redirects_are_not_followed(upstream: Recorder) -> None:
    response = await _get(f"{upstream.url}/redirect")
    assert response.status_code == 302
    assert len(upstream.seen) == 1


async def test_a_name_resolving_to_an_internal_address_is_refused(
    settings: Any, upstream: Recorder, resolver: dict[str, list[str]]
) -> None:
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = []
    name = f"rebind{UNRESOLVABLE_SUFFIX}"
    resolver[name] = ["127.0.0.1"]
    with pytest.raises(client.EgressRefusedError):
        await _get(f"http://{name}:{upstream.port}/json")
    assert upstream.seen == []


async def test_a_connection_goes_to_the_checked_address_and_is_reused_without_resolving_again(
    upstream: Recorder, resolver: dict[str, list[str]]
) -> None:
    name = f"pinned-kept{UNRESOLVABLE_SUFFIX}"
    resolver[name] = ["127.0.0.1"]
    for _ in range(3):
        assert (await _get(f"http://{name}:{upstream.port}/json")).status_code == 200
    assert resolver["calls"] == [name]
    assert {headers["Host"] for _, headers in upstream.seen} == {f"{name}:{upstream.port}"}


async def test_https_keeps_the_name_for_sni_and_the_certificate(
    monkeypatch: pytest.MonkeyPatch, resolver: dict[str, list[str]], tls_upstream: Any
) -> None:
    name = f"tls-kept{UNRESOLVABLE_SUFFIX}"
    resolver[name] = ["127.0.0.1"]
    server = tls_upstream(name)
    trust = ssl.create_default_context(cadata=server.certificate_pem.decode())
    monkeypatch.setattr(client, "_keepalive_tls_context", lambda: trust)
    assert (await _get(f"https://{name}:{server.port}/json")).json() == {"ok": True}
    assert server.server_names == [name]
    impostor = f"impostor-kept{UNRESOLVABLE_SUFFIX}"
    resolver[impostor] = ["127.0.0.1"]  # the same address, a certificate that does not name it
    with pytest.raises(EgressUnavailableError, match="TLS"):
        await _get(f"https://{impostor}:{server.port}/json")


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": "Bearer x\r\nX-Injected: 1"}, {"X-Ok\r\nX-Injected": "1"}, {"X-A": "b\nc"}, {"X:Y": "1"}],
)
async def test_header_text_that_would_split_the_request_is_refused(upstream: Recorder, headers: dict[str, str]) -> None:
    with pytest.raises(EgressRefusedError, match="refusing to send the header"):
        await egress_request("POST", f"{upstream.url}/json", headers=headers, content=b"{}", keep_alive=True)
    assert upstream.seen == []


def test_the_request_on_the_wire_frames_its_body_once() -> None:
    """The caller's Host, Content-Length and Transfer-Encoding never reach the wire beside the client's own."""
    target = client.httpx.URL("http://api.example.test:8080/v1/send?x=1")
    wire = request_bytes(
        "POST", target, {"Content-Length": "999", "Transfer-Encoding": "chunked", "Host": "evil"}, b'{"a":1}'
    )
    head, body = wire.split(b"\r\n\r\n", 1)
    assert head.split(b"\r\n") == [
        b"POST /v1/send?x=1 HTTP/1.1", b"Host: api.example.test:8080", b"Content-Length: 7"
    ]  # fmt: skip
    assert body == b'{"a":1}'


async def _one_shot_server(answers: list[bytes]) -> tuple[asyncio.Server, list[int]]:
    """A server answering each connection's first request with the next canned bytes, then closing it."""
    connections: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(len(connections))
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answers[min(len(connections) - 1, len(answers) - 1)])
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, connections


async def test_a_connection_the_server_closed_while_idle_is_never_used_again() -> None:
    server, connections = await _one_shot_server([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])
    port = server.sockets[0].getsockname()[1]
    try:
        for _ in range(3):
            assert (await _get(f"http://127.0.0.1:{port}/")).content == b"ok"
            await asyncio.sleep(0.15)  # the server has closed that connection by now
        assert len(connections) == 3
    finally:
        server.close()


@pytest.mark.parametrize(
    "answer", [b"NOT HTTP AT ALL\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", b""]
)
async def test_a_malformed_or_cut_answer_is_unavailable_not_a_crash(answer: bytes) -> None:
    server, _ = await _one_shot_server([answer])
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(EgressUnavailableError) as unavailable:
            await _get(f"http://127.0.0.1:{port}/")
        assert unavailable.value.retryable is True
    finally:
        server.close()


def test_it_runs_on_uvloop_as_on_asyncio(upstream: Recorder) -> None:
    """Celery tasks and uvicorn run the platform on uvloop, whose transports are not asyncio's classes."""
    import uvloop

    async def three() -> list[bytes]:
        answers = [(await _get(f"{upstream.url}/json")).content for _ in range(3)]
        await egress_connections_close()
        return answers

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(three()) == [b'{"ok": true}'] * 3
    assert len(upstream.seen) == 3
