"""Parse's /hooks API: function and trigger webhooks, served by a local endpoint, under the egress policy."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.management import CommandError, call_command

from hangar.cloudcode.webhooks import WEBHOOK_KEY_HEADER, webhook_key
from tests.cloudcode.conftest import deploy_async
from tests.conftest import Tenant
from tests.datastore.conftest import ParseApp, insert_user_with_session
from tests.egress.conftest import UNRESOLVABLE_SUFFIX, resolver  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db(transaction=True)

HUGE_BYTES = 50 * 1024 * 1024
CHUNK = 64 * 1024


@dataclass
class Endpoint:
    """A developer's webhook server on 127.0.0.1: what it received, per path."""

    port: int
    seen: list[dict[str, Any]] = field(default_factory=list)
    huge_bytes_sent: list[int] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def calls(self, path: str) -> list[dict[str, Any]]:
        return [call for call in self.seen if call["path"] == path]


def _answer_for(path: str, body: dict[str, Any]) -> Any:
    if path == "/hello":
        return {"success": f"Hello {body['params'].get('name')}"}
    if path == "/hello2":
        return {"success": "second url"}
    if path == "/echo":
        return {"success": {"params": body["params"], "master": body["master"]}}
    if path == "/fail":
        return {"error": "nope"}
    if path == "/fail-object":
        return {"error": {"code": 142, "message": "bad input"}}
    if path == "/touch":
        return {"success": {**body["object"], "touched": True, "objectId": "forged", "createdAt": "1999"}}
    if path == "/reject":
        return {"error": "rejected by webhook"}
    if path == "/hide":
        return {"success": [item for item in body["objects"] if not item.get("secret")]}
    return {"success": None}


def _handler(endpoint: Endpoint) -> type[BaseHTTPRequestHandler]:
    class Webhook(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            endpoint.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
            if self.path == "/slow":
                time.sleep(3)
                self.close_connection = True
                return None  # Hangar gave up long ago
            if self.path == "/huge":
                return self._huge()
            if self.path == "/redirect":
                return self._send(302, b"", {"Location": "http://169.254.169.254/latest/meta-data/"})
            if self.path == "/malformed":
                return self._send(200, b"<html>not json</html>")
            return self._send(200, json.dumps(_answer_for(self.path, body)).encode())

        def _send(self, status: int, payload: bytes, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **(extra or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _huge(self) -> None:
            """50 MB without a Content-Length: only reading it would tell its size."""
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            sent = 0
            try:
                chunk = b'{"success": "' + b"x" * CHUNK
                while sent < HUGE_BYTES:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    sent += len(chunk)
                    chunk = b"x" * CHUNK
            except OSError:
                pass  # Hangar hung up: what the test expects
            endpoint.huge_bytes_sent.append(sent)

        def log_message(self, *args: object) -> None:
            pass

    return Webhook


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    endpoint = Endpoint(port=0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(endpoint))
    server.daemon_threads = True
    endpoint.port = int(server.server_address[1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield endpoint
    server.shutdown()
    server.server_close()


@pytest.fixture
def loopback_allowed(settings: Any) -> None:
    """What an operator sets for a webhook server on the same machine (docs/egress.md)."""
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = ["127.0.0.1/32"]
    settings.HANGAR_CLOUD_WEBHOOK_ALLOW_HTTP = True


@pytest.fixture
def default_policy(settings: Any) -> None:
    settings.HANGAR_EGRESS_PROXY = None
    settings.HANGAR_EGRESS_ALLOWED_DOMAINS = []
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = []
    settings.HANGAR_CLOUD_WEBHOOK_ALLOW_HTTP = False


async def _hook(app: ParseApp, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await app.request("POST", path, body, master=True)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _post_class(app: ParseApp) -> None:
    """Create the Post class (a client key may not create classes) with the fields the tests write."""
    fields = {
        name: {"type": kind} for name, kind in (("title", "String"), ("touched", "Boolean"), ("secret", "Boolean"))
    }
    response = await app.request("POST", "/schemas/Post", {"className": "Post", "fields": fields}, master=True)
    assert response.status_code == 200, response.text


async def _eventually(check: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the webhook was never called"
        await asyncio.sleep(0.05)


# CRUD, errors and calls


async def test_function_webhook_lifecycle(app_a: ParseApp, endpoint: Endpoint, loopback_allowed: None):
    created = await _hook(app_a, "/hooks/functions", {"functionName": "hello", "url": endpoint.url("/hello")})
    assert created == {"functionName": "hello", "url": endpoint.url("/hello")}
    listed = await app_a.request("GET", "/hooks/functions", master=True)
    assert listed.json() == [created]
    one = await app_a.request("GET", "/hooks/functions/hello", master=True)
    assert one.json() == created
    again = await app_a.request(
        "POST", "/hooks/functions", {"functionName": "hello", "url": endpoint.url("/x")}, master=True
    )
    assert (again.status_code, again.json()) == (400, {"code": 143, "error": "function name: hello already exists"})

    called = await app_a.request("POST", "/functions/hello", {"name": "Ada"})
    assert called.json() == {"result": "Hello Ada"}, called.text
    [call] = endpoint.calls("/hello")
    assert call["headers"][WEBHOOK_KEY_HEADER] == webhook_key(app_a.tenant.application_id)
    body = call["body"]
    assert (body["functionName"], body["params"], body["master"]) == ("hello", {"name": "Ada"}, False)
    assert "ip" in body
    assert "user" not in body
    assert not any(name.endswith("-key") for name in body["headers"]), "the caller's keys never reach a webhook"

    moved = await app_a.request("PUT", "/hooks/functions/hello", {"url": endpoint.url("/hello2")}, master=True)
    assert moved.json() == {"functionName": "hello", "url": endpoint.url("/hello2")}
    assert (await app_a.request("POST", "/functions/hello", {})).json() == {"result": "second url"}

    no_url = await app_a.request("PUT", "/hooks/functions/hello", {}, master=True)
    assert no_url.json() == {"code": 143, "error": "invalid hook declaration"}
    deleted = await app_a.request("PUT", "/hooks/functions/hello", {"__op": "Delete"}, master=True)
    assert (deleted.status_code, deleted.json()) == (200, {})
    gone = await app_a.request("GET", "/hooks/functions/hello", master=True)
    assert gone.json() == {"code": 143, "error": "no function named: hello is defined"}
    assert (await app_a.request("POST", "/functions/hello", {})).json() == {
        "code": 141, "error": 'Invalid function: "hello"'
    }  # fmt: skip
    missing = await app_a.request("PUT", "/hooks/functions/hello", {"url": endpoint.url("/hello")}, master=True)
    assert missing.json() == {"code": 143, "error": "no function named: hello is defined"}


async def test_a_signed_in_callers_user_reaches_the_webhook(
    app_a: ParseApp, endpoint: Endpoint, loopback_allowed: None
):
    user_id, token = await sync_to_async(insert_user_with_session)(app_a.tenant, "ada")
    await _hook(app_a, "/hooks/functions", {"functionName": "echo", "url": endpoint.url("/echo")})
    response = await app_a.request("POST", "/functions/echo", {"n": 2}, session=token)
    assert response.json() == {"result": {"params": {"n": 2}, "master": False}}
    [call] = endpoint.calls("/echo")
    assert (call["body"]["user"]["objectId"], call["body"]["user"]["username"]) == (user_id, "ada")
    assert "sessionToken" not in call["body"]["user"]
    assert "x-parse-session-token" not in {name.lower() for name in call["body"]["headers"]}


def test_the_operator_reads_the_webhook_key_with_a_command(tenant_a: Tenant):
    out = io.StringIO()
    call_command("cloud_webhook_key", app=tenant_a.application_id, stdout=out)
    assert out.getvalue().strip() == webhook_key(tenant_a.application_id)
    assert webhook_key(tenant_a.application_id) != webhook_key("another-app")
    with pytest.raises(CommandError):
        call_command("cloud_webhook_key", app="no-such-app", stdout=io.StringIO())


async def test_delete_method_and_master_payload(app_a: ParseApp, endpoint: Endpoint, loopback_allowed: None):
    await _hook(app_a, "/hooks/functions", {"functionName": "echo", "url": endpoint.url("/echo")})
    echoed = await app_a.request("POST", "/functions/echo", {"n": 1}, master=True)
    assert echoed.json() == {"result": {"params": {"n": 1}, "master": True}}
    deleted = await app_a.request("DELETE", "/hooks/functions/echo", master=True)
    assert deleted.json() == {}
    assert (await app_a.request("GET", "/hooks/functions", master=True)).json() == []


async def test_webhook_errors_are_141(app_a: ParseApp, endpoint: Endpoint, loopback_allowed: None):
    for name in ("fail", "fail-object", "malformed", "redirect"):
        await _hook(app_a, "/hooks/functions", {"functionName": name, "url": endpoint.url(f"/{name}")})
    assert (await app_a.request("POST", "/functions/fail", {})).json() == {"code": 141, "error": "nope"}
    assert (await app_a.request("POST", "/functions/fail-object", {})).json() == {"code": 141, "error": "bad input"}
    malformed = await app_a.request("POST", "/functions/malformed", {})
    assert malformed.json() == {"code": 141, "error": "Malformed webhook response."}
    redirected = await app_a.request("POST", "/functions/redirect", {})
    assert redirected.json()["code"] == 141
    assert "redirect" in redirected.json()["error"]
    assert [call["path"] for call in endpoint.seen].count("/redirect") == 1


async def test_bad_declarations_are_143(app_a: ParseApp, endpoint: Endpoint, loopback_allowed: None):
    url = endpoint.url("/hello")
    declarations = [
        ("/hooks/functions", {"url": url}),
        ("/hooks/functions", {"functionName": "", "url": url}),
        ("/hooks/functions", {"functionName": "f"}),
        ("/hooks/functions", {"functionName": ["f"], "url": url}),
        ("/hooks/triggers", {"className": "Post", "triggerName": "beforeNothing", "url": url}),
        ("/hooks/triggers", {"className": "Post", "triggerName": "beforeSave"}),
        ("/hooks/triggers", {"className": "no such/class", "triggerName": "beforeSave", "url": url}),
        ("/hooks/triggers", {"functionName": "f", "url": url}),
    ]
    for path, body in declarations:
        response = await app_a.request("POST", path, body, master=True)
        assert (response.status_code, response.json()) == (400, {"code": 143, "error": "invalid hook declaration"}), (
            body
        )
    not_json = await app_a.request("POST", "/hooks/functions", ["not", "an", "object"], master=True)
    assert not_json.json()["code"] in (107, 143)


# Trigger webhooks


async def test_trigger_webhooks_change_reject_and_follow_writes(
    app_a: ParseApp, endpoint: Endpoint, loopback_allowed: None
):
    created = await _hook(
        app_a, "/hooks/triggers", {"className": "Post", "triggerName": "beforeSave", "url": endpoint.url("/touch")}
    )
    assert created == {"className": "Post", "triggerName": "beforeSave", "url": endpoint.url("/touch")}
    await _hook(
        app_a, "/hooks/triggers", {"className": "Post", "triggerName": "afterSave", "url": endpoint.url("/after")}
    )
    await _hook(
        app_a, "/hooks/triggers", {"className": "Post", "triggerName": "beforeDelete", "url": endpoint.url("/reject")}
    )
    await _hook(
        app_a, "/hooks/triggers", {"className": "Post", "triggerName": "afterFind", "url": endpoint.url("/hide")}
    )
    duplicate = await app_a.request(
        "POST", "/hooks/triggers", {"className": "Post", "triggerName": "beforeSave", "url": endpoint.url("/x")},
        master=True,
    )  # fmt: skip
    assert duplicate.json() == {"code": 143, "error": "class Post already has trigger beforeSave"}

    await _post_class(app_a)
    saved = await app_a.request("POST", "/classes/Post", {"title": "hi"})
    assert saved.status_code == 201, saved.text
    object_id = saved.json()["objectId"]
    assert object_id != "forged"
    fetched = (await app_a.request("GET", f"/classes/Post/{object_id}", master=True)).json()
    assert (fetched["touched"], fetched["title"]) == (True, "hi")
    [before] = endpoint.calls("/touch")
    assert before["body"]["triggerName"] == "beforeSave"
    assert (before["body"]["object"]["className"], before["body"]["object"]["title"]) == ("Post", "hi")
    assert before["headers"][WEBHOOK_KEY_HEADER] == webhook_key(app_a.tenant.application_id)
    await _eventually(lambda: endpoint.calls("/after"))
    assert endpoint.calls("/after")[0]["body"]["object"]["objectId"] == object_id

    refused = await app_a.request("DELETE", f"/classes/Post/{object_id}")
    assert (refused.status_code, refused.json()) == (400, {"code": 141, "error": "rejected by webhook"})

    await app_a.request("POST", "/classes/Post", {"title": "hidden", "secret": True})
    found = (await app_a.request("GET", "/classes/Post", master=True)).json()["results"]
    assert [item["title"] for item in found] == ["hi"]
    assert "className" not in found[0]

    listed = (await app_a.request("GET", "/hooks/triggers", master=True)).json()
    assert {(hook["className"], hook["triggerName"]) for hook in listed} == {
        ("Post", "beforeSave"), ("Post", "afterSave"), ("Post", "beforeDelete"), ("Post", "afterFind"),
    }  # fmt: skip
    one = await app_a.request("GET", "/hooks/triggers/Post/beforeDelete", master=True)
    assert one.json() == {"className": "Post", "triggerName": "beforeDelete", "url": endpoint.url("/reject")}
    removed = await app_a.request("PUT", "/hooks/triggers/Post/beforeDelete", {"__op": "Delete"}, master=True)
    assert removed.json() == {}
    assert (await app_a.request("DELETE", f"/classes/Post/{object_id}")).status_code == 200
    gone = await app_a.request("GET", "/hooks/triggers/Post/beforeDelete", master=True)
    assert gone.json() == {"code": 143, "error": "class Post does not exist"}
    update_missing = await app_a.request(
        "PUT", "/hooks/triggers/Post/beforeDelete", {"url": endpoint.url("/x")}, master=True
    )
    assert update_missing.json() == {"code": 143, "error": "class Post does not exist"}


async def test_the_bundle_wins_over_a_webhook_of_the_same_name(
    app_a: ParseApp, endpoint: Endpoint, loopback_allowed: None
):
    await deploy_async(app_a.tenant, {"main.py": """
        from hangar_cloud import define

        @define("hello")
        def hello(request):
            return "from the bundle"
    """})  # fmt: skip
    await _hook(app_a, "/hooks/functions", {"functionName": "hello", "url": endpoint.url("/hello")})
    await _hook(app_a, "/hooks/functions", {"functionName": "other", "url": endpoint.url("/hello")})
    assert (await app_a.request("POST", "/functions/hello", {})).json() == {"result": "from the bundle"}
    assert (await app_a.request("POST", "/functions/other", {"name": "B"})).json() == {"result": "Hello B"}
    assert [call["body"]["functionName"] for call in endpoint.seen] == ["other"]


# Who may use it


async def test_client_keys_cannot_use_the_hooks_api(app_a: ParseApp, endpoint: Endpoint, loopback_allowed: None):
    await _hook(app_a, "/hooks/functions", {"functionName": "hello", "url": endpoint.url("/hello")})
    attempts = [
        ("GET", "/hooks/functions", None), ("GET", "/hooks/functions/hello", None),
        ("POST", "/hooks/functions", {"functionName": "evil", "url": endpoint.url("/hello")}),
        ("PUT", "/hooks/functions/hello", {"url": endpoint.url("/fail")}),
        ("PUT", "/hooks/functions/hello", {"__op": "Delete"}), ("DELETE", "/hooks/functions/hello", None),
        ("GET", "/hooks/triggers", None),
        ("POST", "/hooks/triggers", {"className": "Post", "triggerName": "beforeSave", "url": endpoint.url("/x")}),
    ]  # fmt: skip
    for method, path, body in attempts:
        response = await app_a.request(method, path, body)
        assert (response.status_code, response.json()) == (403, {"error": "unauthorized: master key is required"})
    anonymous = await app_a.client.get(
        "/parse/hooks/functions", headers={"X-Parse-Application-Id": app_a.tenant.application_id}
    )
    assert anonymous.status_code == 403
    assert (await app_a.request("GET", "/hooks/functions/hello", master=True)).json()["url"] == endpoint.url("/hello")


async def test_another_apps_master_key_cannot_see_change_or_run_the_webhooks(
    app_a: ParseApp, app_b: ParseApp, endpoint: Endpoint, loopback_allowed: None
):
    await _hook(app_a, "/hooks/functions", {"functionName": "hello", "url": endpoint.url("/hello")})
    await _hook(
        app_a, "/hooks/triggers", {"className": "Post", "triggerName": "beforeSave", "url": endpoint.url("/touch")}
    )
    assert (await app_b.request("GET", "/hooks/functions", master=True)).json() == []
    assert (await app_b.request("GET", "/hooks/triggers", master=True)).json() == []
    assert (await app_b.request("GET", "/hooks/functions/hello", master=True)).json()["code"] == 143
    assert (await app_b.request("GET", "/hooks/triggers/Post/beforeSave", master=True)).json()["code"] == 143
    changed = await app_b.request("PUT", "/hooks/functions/hello", {"url": endpoint.url("/fail")}, master=True)
    assert changed.json() == {"code": 143, "error": "no function named: hello is defined"}
    await app_b.request("PUT", "/hooks/functions/hello", {"__op": "Delete"}, master=True)
    await app_b.request("DELETE", "/hooks/triggers/Post/beforeSave", master=True)

    run_by_b = await app_b.request("POST", "/functions/hello", {"name": "Eve"}, master=True)
    assert run_by_b.json() == {"code": 141, "error": 'Invalid function: "hello"'}
    await _post_class(app_b)
    saved_by_b = await app_b.request("POST", "/classes/Post", {"title": "b"})
    fetched = (await app_b.request("GET", f"/classes/Post/{saved_by_b.json()['objectId']}", master=True)).json()
    assert "touched" not in fetched
    assert endpoint.seen == [], "app A's webhooks never ran for app B"
    # App A's webhooks are intact and still run.
    assert (await app_a.request("POST", "/functions/hello", {"name": "Ada"})).json() == {"result": "Hello Ada"}
    assert (await app_a.request("GET", "/hooks/triggers", master=True)).json()[0]["url"] == endpoint.url("/touch")


# The egress policy


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data/", "https://10.1.2.3/hook", "https://192.168.0.10/hook",
        "https://localhost/hook", "https://127.0.0.1/hook", "https://127.1/hook", "https://2130706433/hook",
        "https://[::1]/hook", "https://[::ffff:127.0.0.1]/hook", "https://0.0.0.0/hook",
        "file:///etc/passwd", "ftp://example.com/hook", "gopher://example.com/", "http://example.com/hook",
        "https:///no-host", "not a url",
    ],
)  # fmt: skip
async def test_internal_and_unsafe_urls_are_refused_at_registration(app_a: ParseApp, default_policy: None, url: str):
    response = await app_a.request("POST", "/hooks/functions", {"functionName": "f", "url": url}, master=True)
    assert (response.status_code, response.json()["code"]) == (400, 143), response.text
    assert (await app_a.request("GET", "/hooks/functions", master=True)).json() == []


async def test_a_name_resolving_to_loopback_is_refused(
    app_a: ParseApp,
    default_policy: None,
    resolver: dict[str, list[str]],  # noqa: F811
):
    name = f"hooks{UNRESOLVABLE_SUFFIX}"
    resolver[name] = ["127.0.0.1"]
    response = await app_a.request(
        "POST", "/hooks/functions", {"functionName": "f", "url": f"https://{name}/"}, master=True
    )
    assert response.json()["code"] == 143
    assert "non-public" in response.json()["error"]


async def test_the_policy_is_applied_again_when_the_webhook_is_called(
    app_a: ParseApp,
    endpoint: Endpoint,
    settings: Any,
    resolver: dict[str, list[str]],  # noqa: F811
):
    """A URL registered while allowed (or while its name resolved elsewhere) is refused at call time."""
    settings.HANGAR_CLOUD_WEBHOOK_ALLOW_HTTP = True
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = ["127.0.0.1/32"]
    await _hook(app_a, "/hooks/functions", {"functionName": "hello", "url": endpoint.url("/hello")})
    rebinding = f"rebind{UNRESOLVABLE_SUFFIX}"
    resolver[rebinding] = ["93.184.215.14"]  # public when registered...
    await _hook(
        app_a, "/hooks/functions", {"functionName": "rebound", "url": f"http://{rebinding}:{endpoint.port}/hello"}
    )
    resolver[rebinding] = ["127.0.0.1"]  # ...loopback when called
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = []
    for name in ("hello", "rebound"):
        response = await app_a.request("POST", "/functions/hello" if name == "hello" else "/functions/rebound", {})
        assert (response.status_code, response.json()) == (
            400,
            {"code": 141, "error": "The webhook's URL is not allowed."},
        )
    assert endpoint.seen == []


async def test_a_slow_webhook_times_out_with_141(
    app_a: ParseApp, endpoint: Endpoint, loopback_allowed: None, settings: Any
):
    settings.HANGAR_CLOUD_FUNCTION_TIMEOUT_SECONDS = 1.0
    await _hook(app_a, "/hooks/functions", {"functionName": "slow", "url": endpoint.url("/slow")})
    started = time.monotonic()
    response = await app_a.request("POST", "/functions/slow", {})
    assert time.monotonic() - started < 2.5
    assert (response.status_code, response.json()) == (
        400, {"code": 141, "error": "The webhook did not answer in time or could not be reached."}
    )  # fmt: skip


async def test_a_slow_trigger_webhook_times_out_with_141(
    app_a: ParseApp, endpoint: Endpoint, loopback_allowed: None, settings: Any
):
    settings.HANGAR_CLOUD_TRIGGER_TIMEOUT_SECONDS = 0.5
    await _post_class(app_a)
    await _hook(
        app_a, "/hooks/triggers", {"className": "Post", "triggerName": "beforeSave", "url": endpoint.url("/slow")}
    )
    response = await app_a.request("POST", "/classes/Post", {"title": "x"})
    assert (response.status_code, response.json()["code"]) == (400, 141)
    assert (await app_a.request("GET", "/classes/Post", master=True)).json()["results"] == []


async def test_a_huge_response_is_cut(app_a: ParseApp, endpoint: Endpoint, loopback_allowed: None, settings: Any):
    settings.HANGAR_CLOUD_WEBHOOK_MAX_RESPONSE_BYTES = 256 * 1024
    await _hook(app_a, "/hooks/functions", {"functionName": "huge", "url": endpoint.url("/huge")})
    response = await app_a.request("POST", "/functions/huge", {})
    assert (response.status_code, response.json()) == (
        400,
        {"code": 141, "error": "The webhook's response is too large."},
    )
    await _eventually(lambda: endpoint.huge_bytes_sent)
    assert endpoint.huge_bytes_sent[0] < HUGE_BYTES, "Hangar stopped reading long before the end"


async def test_server_info_advertises_hooks(app_a: ParseApp):
    features = (await app_a.request("GET", "/serverInfo", master=True)).json()["features"]
    assert features["hooks"] == {"create": True, "read": True, "update": True, "delete": True}
