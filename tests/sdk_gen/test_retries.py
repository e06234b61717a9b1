"""The generated Python client repeats only idempotent reads, after a 503 or a dropped connection, and
never a write: driven against a local HTTP endpoint that answers as an overloaded Hangar does."""

from __future__ import annotations

import importlib
import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sdk_gen.languages.python import python_sources
from sdk_gen.spec import app_spec_build


class Overloaded(BaseHTTPRequestHandler):
    """Answers 503 (Retry-After: 0, Parse's body) to the first ``failures`` requests, then 200."""

    failures = 1
    seen: list[str] = []
    headers_seen: list[dict[str, str]] = []

    def _answer(self) -> None:
        self.seen.append(self.command)
        self.headers_seen.append({k.lower(): v for k, v in self.headers.items() if k.lower().startswith("x-parse")})
        if len(self.seen) <= self.failures:
            body, status = {"code": 1, "error": "unavailable"}, 503
        else:
            body, status = {"objectId": "abc", "name": "ok", "createdAt": "2026-01-01T00:00:00.000Z"}, 200
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 503:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def endpoint() -> Iterator[str]:
    Overloaded.seen = []
    Overloaded.headers_seen = []
    Overloaded.failures = 1
    server = ThreadingHTTPServer(("127.0.0.1", 0), Overloaded)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/parse"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def sdk(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("retry_sdk")
    spec = app_spec_build(app_name="retry", application_id="r", schemas={"Item": {"name": {"type": "String"}}},
                          handlers={})  # fmt: skip
    for relative, text in python_sources(spec, version="1.1.0").items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("retry_sdk")
    finally:
        sys.path.remove(str(root))


def _client(sdk: Any, url: str, retries: int = 2) -> Any:
    return sdk.Client(sdk.Config(server_url=url, application_id="r", client_key="k", retries=retries))


def test_a_read_is_repeated_after_a_503(sdk: Any, endpoint: str):
    with _client(sdk, endpoint) as client:
        item = client.get(sdk.Item, "abc")
    assert item.name == "ok"
    assert Overloaded.seen == ["GET", "GET"]


def test_a_write_is_never_repeated(sdk: Any, endpoint: str):
    with _client(sdk, endpoint) as client, pytest.raises(sdk.ParseError) as raised:
        client.save(sdk.Item(name="x"))
    assert (raised.value.code, raised.value.status) == (1, 503)
    assert Overloaded.seen == ["POST"]


def test_reads_give_up_after_the_configured_retries(sdk: Any, endpoint: str):
    Overloaded.failures = 10
    try:
        with _client(sdk, endpoint, retries=2) as client, pytest.raises(sdk.ParseError):
            client.get(sdk.Item, "abc")
    finally:
        Overloaded.failures = 1
    assert Overloaded.seen == ["GET", "GET", "GET"]


def test_an_unreachable_server_is_code_100(sdk: Any):
    with _client(sdk, "http://127.0.0.1:9/parse", retries=0) as client, pytest.raises(sdk.ParseError) as raised:
        client.get(sdk.Item, "abc")
    assert raised.value.code == 100


def test_each_request_carries_the_right_keys_and_session(sdk: Any, endpoint: str, tmp_path: Any):
    """The fixed headers live on the client; a request adds the session token, or the master key instead."""
    Overloaded.failures = 0
    store = sdk.FileSessionStore(tmp_path / "session.json")
    config = sdk.Config(server_url=endpoint, application_id="r", client_key="k", master_key="m", sessions=store)
    with sdk.Client(config) as client:
        client.get(sdk.Item, "abc")
        store.save("r:token")
        client.get(sdk.Item, "abc")
        client.save(sdk.Item(name="x"), use_master=True)
    anonymous, signed_in, master = Overloaded.headers_seen
    assert anonymous == {"x-parse-application-id": "r", "x-parse-client-key": "k"}
    assert signed_in == {**anonymous, "x-parse-session-token": "r:token"}
    assert master["x-parse-master-key"] == "m"
    assert "x-parse-session-token" not in master
    assert sdk.FileSessionStore(tmp_path / "session.json").load() == "r:token"  # written through to the file
