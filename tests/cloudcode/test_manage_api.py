"""The management API for cloud code: upload, validate, list, activate (rollback), variables, logs, run.

Every request goes through Hangar's ASGI application with a developer's access token; bundles
are validated and functions run in the real bubblewrap sandbox.
"""

from __future__ import annotations

import io
import stat
import struct
import zipfile
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async

from hangar.cloudcode.models import CloudActivation, CloudVariable, CloudVersion
from tenants.models import AuditEvent
from tenants.services import access_token_create, developer_sign_up, invitation_accept, invitation_create
from tests.conftest import PASSWORD, Tenant

pytestmark = pytest.mark.django_db(transaction=True)

HELLO = """
from hangar_cloud import define, ParseError
import os

@define("hello")
def hello(request):
    request.log.info("greeting", request.params.get("name"))
    return f"Hello {request.params.get('name')} from VERSION"

@define("fails")
def fails(request):
    raise ParseError(142, "bad input")

@define("secret")
def secret(request):
    return os.environ.get("API_TOKEN")
"""


def hello_files(version: str = "v1") -> dict[str, str]:
    return {"main.py": HELLO.replace("VERSION", version)}


def zip_of(entries: dict[str, bytes], *, links: tuple[str, ...] = ()) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in links:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, content)
    return out.getvalue()


def lying_sizes(archive: bytes) -> bytes:
    """The zip with every member claiming to unpack to 100 bytes (a bomb that hides its size)."""
    data = bytearray(archive)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = data.find(signature)
        while start != -1:
            data[start + offset : start + offset + 4] = struct.pack("<I", 100)
            start = data.find(signature, start + 4)
    return bytes(data)


@dataclass
class Console:
    """One developer's token-authenticated calls to the cloud-code API of one app."""

    http: httpx.AsyncClient
    token: str | None
    org_pk: int
    app_pk: int

    def url(self, suffix: str) -> str:
        return f"/api/v1/organizations/{self.org_pk}/apps/{self.app_pk}/cloud-code{suffix}"

    async def call(self, method: str, suffix: str, **options: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(options.pop("headers", {}))
        return await self.http.request(method, self.url(suffix), headers=headers, timeout=30, **options)

    async def upload(self, files: dict[str, str], **extra: Any) -> httpx.Response:
        return await self.call("POST", "/versions", json={"files": files, **extra})

    async def run(self, name: str, params: Any = None) -> httpx.Response:
        return await self.call("POST", "/run", json={"name": name, "params": params or {}})


def _token(developer: Any) -> str:
    return access_token_create(developer=developer, name="tests")[1]


def _member(tenant: Tenant, role: str) -> Any:
    email = f"{role}-{tenant.organization.pk}@example.com"
    developer = developer_sign_up(email=email, password=PASSWORD, name=role.title())
    _, token = invitation_create(actor=tenant.developer, organization=tenant.organization, email=email, role=role)
    invitation_accept(developer=developer, token=token)
    return developer


async def console_for(http: httpx.AsyncClient, tenant: Tenant, role: str | None = None) -> Console:
    """The tenant's owner, or a new member of its organization with ``role``."""
    developer = tenant.developer if role is None else await sync_to_async(_member)(tenant, role)
    token = await sync_to_async(_token)(developer)
    return Console(http, token, tenant.organization.pk, tenant.app.pk)


@pytest.fixture
async def alice(parse_client: httpx.AsyncClient, tenant_a: Tenant) -> Console:
    return await console_for(parse_client, tenant_a)


async def _audit_actions(tenant: Tenant) -> list[str]:
    query = AuditEvent.objects.filter(organization=tenant.organization, action__startswith="cloud_code.")
    return await sync_to_async(lambda: list(query.order_by("pk").values_list("action", flat=True)))()


async def test_upload_lists_runs_and_logs(alice: Console, tenant_a: Tenant):
    uploaded = await alice.upload(hello_files(), note="first")
    assert uploaded.status_code == 201, uploaded.text
    version = uploaded.json()
    assert (version["number"], version["active"], version["note"]) == (1, True, "first")
    assert version["created_by"] == tenant_a.developer.email
    assert {f["name"] for f in version["handlers"]["functions"]} == {"hello", "fails", "secret"}
    assert version["size"] > 0
    assert len(version["sha256"]) == 64

    listed = (await alice.call("GET", "/versions")).json()
    assert [(v["number"], v["active"]) for v in listed] == [(1, True)]

    ran = await alice.run("hello", {"name": "Ada"})
    assert (ran.status_code, ran.json()) == (200, {"result": "Hello Ada from v1"})
    failed = await alice.run("fails")
    assert failed.json() == {"error": {"code": 142, "error": "bad input"}}
    unknown = await alice.run("nope")
    assert unknown.json() == {"error": {"code": 141, "error": 'Invalid function: "nope"'}}

    logs = (await alice.call("GET", "/logs")).json()
    newest = {record["name"]: record for record in reversed(logs["results"])}
    assert newest["hello"]["outcome"] == "ok"
    assert any("greeting Ada" in line["message"] for line in newest["hello"]["lines"])
    assert newest["fails"]["outcome"] == "error"
    assert newest["fails"]["code"] == 142
    # The live tail: nothing new after the cursor, then exactly the next invocation.
    tail = (await alice.call("GET", "/logs", params={"since": logs["cursor"]})).json()
    assert tail["results"] == []
    assert tail["cursor"] == logs["cursor"]
    await alice.run("hello", {"name": "Grace"})
    tail = (await alice.call("GET", "/logs", params={"since": logs["cursor"]})).json()
    assert [r["name"] for r in tail["results"]] == ["hello"]
    assert any("Grace" in line["message"] for line in tail["results"][0]["lines"])
    errors = (await alice.call("GET", "/logs", params={"level": "error"})).json()["results"]
    assert {r["name"] for r in errors} == {"fails"}  # an unknown name is refused before any invocation

    assert await _audit_actions(tenant_a) == ["cloud_code.deploy"] + ["cloud_code.run"] * 4


async def test_zip_upload_and_rollback(alice: Console, tenant_a: Tenant):
    archive = zip_of({"bundle/main.py": HELLO.replace("VERSION", "v1").encode()})
    first = await alice.call("POST", "/versions", files={"bundle": ("code.zip", archive, "application/zip")})
    assert first.status_code == 201, first.text
    second = await alice.upload(hello_files("v2"))
    assert second.json()["number"] == 2
    assert (await alice.run("hello", {"name": "A"})).json() == {"result": "Hello A from v2"}

    rolled_back = await alice.call("POST", "/versions/1/activate")
    assert rolled_back.status_code == 200, rolled_back.text
    assert [(v["number"], v["active"]) for v in rolled_back.json()] == [(2, False), (1, True)]
    assert (await alice.run("hello", {"name": "A"})).json() == {"result": "Hello A from v1"}

    stored = await alice.upload(hello_files("v3"), activate=False)
    assert (stored.json()["number"], stored.json()["active"]) == (3, False)
    assert (await alice.run("hello", {"name": "A"})).json() == {"result": "Hello A from v1"}
    missing = await alice.call("POST", "/versions/9/activate")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert await _audit_actions(tenant_a) == [
        "cloud_code.deploy", "cloud_code.deploy", "cloud_code.run", "cloud_code.activate", "cloud_code.run",
        "cloud_code.deploy", "cloud_code.run",
    ]  # fmt: skip


async def test_validation_errors_name_the_file_and_line(alice: Console, tenant_a: Tenant):
    broken = await alice.upload({"main.py": "import helper\n", "helper.py": "x = 1\n\ndef f(:\n    pass\n"})
    assert broken.status_code == 400, broken.text
    body = broken.json()
    assert (body["code"], body["field"], body["file"], body["line"]) == ("invalid_bundle", "bundle", "helper.py", 3)
    assert body["detail"].startswith("helper.py:3: ")
    failing_import = await alice.upload({"main.py": "import not_a_module_anywhere\n"})
    assert failing_import.status_code == 400
    assert (failing_import.json()["file"], failing_import.json()["line"]) == ("main.py", 1)
    assert await sync_to_async(CloudVersion.objects.filter(app=tenant_a.app).count)() == 0


async def test_variables_and_secrets(parse_client: httpx.AsyncClient, alice: Console, tenant_a: Tenant):
    set_secret = await alice.call("PUT", "/variables/API_TOKEN", json={"value": "s3cr3t-value", "secret": True})
    assert set_secret.status_code == 200, set_secret.text
    await alice.call("PUT", "/variables/REGION", json={"value": "eu"})
    listed = (await alice.call("GET", "/variables")).json()
    assert [(v["name"], v["secret"], v["value"]) for v in listed] == [
        ("API_TOKEN", True, "••••••••"), ("REGION", False, "eu"),
    ]  # fmt: skip
    assert "s3cr3t-value" not in set_secret.text
    # The bundle sees the secret; the platform stores it encrypted and never echoes it.
    await alice.upload(hello_files())
    assert (await alice.run("secret")).json() == {"result": "s3cr3t-value"}
    stored = await sync_to_async(lambda: CloudVariable.objects.get(app=tenant_a.app, name="API_TOKEN").ciphertext)()
    assert "s3cr3t-value" not in stored
    events = await sync_to_async(
        lambda: list(AuditEvent.objects.filter(action="cloud_code.variable_set").values_list("details", flat=True))
    )()
    assert events
    assert all("s3cr3t" not in str(details) for details in events)

    developer = await console_for(parse_client, tenant_a, "developer")
    denied = await developer.call("PUT", "/variables/API_TOKEN", json={"value": "mine", "secret": False})
    assert (denied.status_code, denied.json()["code"]) == (403, "permission_denied")
    assert "s3cr3t" not in (await developer.call("GET", "/variables")).text

    bad_name = await alice.call("PUT", "/variables/1bad-name", json={"value": "x"})
    assert (bad_name.status_code, bad_name.json()["field"]) == (400, "name")
    no_value = await alice.call("PUT", "/variables/OK", json={"secret": True})
    assert (no_value.status_code, no_value.json()["field"]) == (400, "value")
    huge = await alice.call("PUT", "/variables/BIG", json={"value": "x" * 40_000})
    assert huge.status_code == 400
    assert (await alice.call("DELETE", "/variables/REGION")).status_code == 204
    assert (await alice.call("DELETE", "/variables/REGION")).status_code == 404
    assert [v["name"] for v in (await alice.call("GET", "/variables")).json()] == ["API_TOKEN"]


async def test_roles(parse_client: httpx.AsyncClient, alice: Console, tenant_a: Tenant):
    await alice.upload(hello_files())
    viewer = await console_for(parse_client, tenant_a, "viewer")
    assert (await viewer.call("GET", "/versions")).status_code == 200
    assert (await viewer.call("GET", "/logs")).status_code == 200
    assert (await viewer.call("GET", "/variables")).status_code == 200
    for method, suffix, body in [
        ("POST", "/versions", {"files": hello_files("viewer")}),
        ("POST", "/versions/1/activate", None),
        ("POST", "/run", {"name": "hello"}),
        ("PUT", "/variables/X", {"value": "1"}),
        ("DELETE", "/variables/X", None),
    ]:
        answer = await viewer.call(method, suffix, json=body)
        assert (answer.status_code, answer.json()["code"]) == (403, "permission_denied"), (method, suffix)
    developer = await console_for(parse_client, tenant_a, "developer")
    assert (await developer.upload(hello_files("dev"))).status_code == 201
    assert (await developer.run("hello", {"name": "D"})).json() == {"result": "Hello D from dev"}


async def test_other_organizations_and_anonymous_are_denied(
    parse_client: httpx.AsyncClient, alice: Console, tenant_a: Tenant, tenant_b: Tenant
):
    await alice.upload(hello_files())
    await alice.call("PUT", "/variables/API_TOKEN", json={"value": "alice-secret", "secret": True})
    bob = await console_for(parse_client, tenant_b)
    # Bob names Alice's app under her organization, and under his own: both look like nothing is there.
    for target in (Console(parse_client, bob.token, tenant_a.organization.pk, tenant_a.app.pk),
                   Console(parse_client, bob.token, tenant_b.organization.pk, tenant_a.app.pk)):  # fmt: skip
        for method, suffix, body in [
            ("GET", "/versions", None), ("POST", "/versions", {"files": hello_files("bob")}),
            ("POST", "/versions/1/activate", None), ("GET", "/variables", None),
            ("PUT", "/variables/API_TOKEN", {"value": "bob"}), ("DELETE", "/variables/API_TOKEN", None),
            ("GET", "/logs", None), ("POST", "/run", {"name": "secret"}),
        ]:  # fmt: skip
            answer = await target.call(method, suffix, json=body)
            assert (answer.status_code, answer.json()["code"]) == (404, "not_found"), (method, suffix)
            assert "alice-secret" not in answer.text
    anonymous = Console(parse_client, None, tenant_a.organization.pk, tenant_a.app.pk)
    for method, suffix in [("GET", "/versions"), ("POST", "/run"), ("GET", "/logs"), ("GET", "/variables")]:
        assert (await anonymous.call(method, suffix)).status_code in (401, 403)
    assert await sync_to_async(CloudVersion.objects.filter(app=tenant_a.app).count)() == 1
    assert await sync_to_async(CloudVersion.objects.filter(app=tenant_b.app).count)() == 0
    assert await sync_to_async(CloudActivation.objects.filter(app=tenant_b.app).count)() == 0
    assert await _audit_actions(tenant_b) == []


async def _rejected(answer: httpx.Response, fragment: str) -> None:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert fragment in body["detail"], body


async def test_hostile_uploads_are_refused(alice: Console, tenant_a: Tenant, settings: Any):
    async def send_zip(data: bytes) -> httpx.Response:
        return await alice.call("POST", "/versions", files={"bundle": ("b.zip", data, "application/zip")})

    main = HELLO.encode()
    await _rejected(await send_zip(zip_of({"main.py": main, "../x.py": b"x = 1"})), "inside the bundle")
    await _rejected(await send_zip(zip_of({"main.py": main, "/etc/x.py": b"x = 1"})), "inside the bundle")
    await _rejected(await alice.upload({"main.py": HELLO, "../../x.py": "x = 1"}), "inside the bundle")
    await _rejected(await send_zip(zip_of({"main.py": main, "l.py": b"/etc/passwd"}, links=("l.py",))), "links")
    await _rejected(await send_zip(b"this is not a zip at all"), "not a zip")
    await _rejected(await send_zip(zip_of({"main.py": main, "ext.so": b"\x7fELF"})), "compiled extensions")
    await _rejected(await alice.upload({"helper.py": "x = 1"}), "no main.py")
    truncated = zip_of({"main.py": main * 50})
    await _rejected(await send_zip(truncated[: len(truncated) // 2]), "")

    settings.HANGAR_CLOUD_MAX_BUNDLE_BYTES = 64 * 1024
    # A zip bomb: a few kilobytes that would unpack to 10 MB.
    bomb = zip_of({"main.py": main, "padding.txt": b"\0" * (10 * 1024 * 1024)})
    assert len(bomb) < 64 * 1024
    await _rejected(await send_zip(bomb), "larger than")
    await _rejected(await send_zip(lying_sizes(bomb)), "damaged")
    await _rejected(await send_zip(b"PK" + b"\0" * (80 * 1024)), "larger than")
    await _rejected(await alice.upload({"main.py": HELLO, "big.py": "#" * (70 * 1024)}), "larger than")

    for body in ({}, {"files": ["main.py"]}, {"files": {"main.py": 3}}, {"files": {}, "bundle": "x"}, [1, 2], "text"):
        answer = await alice.call("POST", "/versions", json=body)
        assert (answer.status_code, answer.json().get("code")) == (400, "invalid"), (body, answer.text)
    too_big_json = await alice.upload({"main.py": "#" * (3 * 1024 * 1024)})
    assert too_big_json.status_code in (400, 413), too_big_json.text
    garbage = await alice.call("POST", "/versions", content=b"{not json", headers={"Content-Type": "application/json"})
    assert garbage.status_code == 400
    for body in ({"name": ""}, {"name": "hello", "params": [1]}, {"params": {}}, {"name": "x" * 500}):
        assert (await alice.call("POST", "/run", json=body)).status_code == 400, body
    for params in ({"since": "abc"}, {"limit": "0"}, {"limit": "100000"}, {"level": "debug"}):
        assert (await alice.call("GET", "/logs", params=params)).status_code == 400, params
    assert (await alice.call("POST", "/versions/abc/activate")).status_code == 404
    assert await sync_to_async(CloudVersion.objects.filter(app=tenant_a.app).count)() == 0


async def test_run_without_any_deployed_code(alice: Console):
    answer = await alice.run("hello")
    assert (answer.status_code, answer.json()) == (200, {"error": {"code": 141, "error": 'Invalid function: "hello"'}})
    assert (await alice.call("GET", "/versions")).json() == []


SLOW = """
import time
from hangar_cloud import define

@define("slow")
def slow(request):
    time.sleep(request.params["seconds"])
    return "done"
"""


async def test_settings_deadlines_and_webhook_key(
    parse_client: httpx.AsyncClient, alice: Console, tenant_a: Tenant, tenant_b: Tenant, settings
):
    shown = (await alice.call("GET", "/settings")).json()
    assert shown["function_timeout_seconds"] is None
    assert shown["trigger_timeout_seconds"] is None
    assert shown["function_timeout_default"] == settings.HANGAR_CLOUD_FUNCTION_TIMEOUT_SECONDS
    assert shown["function_timeout_max"] == settings.HANGAR_CLOUD_FUNCTION_TIMEOUT_MAX_SECONDS
    assert shown["webhook_key"]
    assert len(shown["webhook_key"]) >= 32
    assert (await alice.upload({"main.py": SLOW})).status_code == 201
    assert (await alice.run("slow", {"seconds": 1.5})).json() == {"result": "done"}

    # The app's own deadline applies to its next call, on every process (the app's version is bumped).
    updated = await alice.call("PUT", "/settings", json={"function_timeout_seconds": 1, "trigger_timeout_seconds": 2})
    assert updated.status_code == 200, updated.text
    assert (updated.json()["function_timeout_seconds"], updated.json()["trigger_timeout_seconds"]) == (1, 2)
    outcome = (await alice.run("slow", {"seconds": 1.5})).json()
    assert outcome["error"]["code"] == 141, outcome
    assert (await alice.run("slow", {"seconds": 0.1})).json() == {"result": "done"}
    actions = await _audit_actions(tenant_a)
    assert "cloud_code.settings_update" in actions

    # Beyond the platform's maximum, zero, negative or not a number: refused, nothing changed.
    for body, field in [
        ({"function_timeout_seconds": settings.HANGAR_CLOUD_FUNCTION_TIMEOUT_MAX_SECONDS + 1},
         "function_timeout_seconds"),
        ({"trigger_timeout_seconds": 0}, "trigger_timeout_seconds"),
        ({"function_timeout_seconds": -3}, "function_timeout_seconds"),
        ({"function_timeout_seconds": "soon"}, "function_timeout_seconds"),
    ]:  # fmt: skip
        refused = await alice.call("PUT", "/settings", json=body)
        assert (refused.status_code, refused.json()["field"]) == (400, field), refused.text
    assert (await alice.call("GET", "/settings")).json()["function_timeout_seconds"] == 1

    # A viewer reads the deadlines but neither the webhook key nor a change; another organization sees nothing.
    viewer = await console_for(parse_client, tenant_a, "viewer")
    seen = (await viewer.call("GET", "/settings")).json()
    assert seen["webhook_key"] is None
    assert seen["function_timeout_seconds"] == 1
    denied = await viewer.call("PUT", "/settings", json={"function_timeout_seconds": 5})
    assert (denied.status_code, denied.json()["code"]) == (403, "permission_denied")
    bob = await console_for(parse_client, tenant_b)
    for target in (Console(parse_client, bob.token, tenant_a.organization.pk, tenant_a.app.pk),
                   Console(parse_client, bob.token, tenant_b.organization.pk, tenant_a.app.pk)):  # fmt: skip
        for method in ("GET", "PUT"):
            answer = await target.call(method, "/settings", json={"function_timeout_seconds": 30})
            assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
            assert shown["webhook_key"] not in answer.text
    # Bob's own app has its own key.
    assert (await bob.call("GET", "/settings")).json()["webhook_key"] not in (None, shown["webhook_key"])
    anonymous = Console(parse_client, None, tenant_a.organization.pk, tenant_a.app.pk)
    assert (await anonymous.call("GET", "/settings")).status_code in (401, 403)


async def test_the_plan_bounds_an_apps_deadlines(alice: Console, tenant_a: Tenant):
    from tenants.models import Plan

    assert (await alice.upload({"main.py": SLOW})).status_code == 201
    assert (await alice.call("PUT", "/settings", json={"function_timeout_seconds": 3})).status_code == 200

    def plan_assign() -> None:
        plan = Plan.objects.create(name="tight", requests_per_second=0, cloud_function_timeout_max_seconds=0.5)
        tenant_a.organization.plan = plan
        tenant_a.organization.save(update_fields=["plan"])

    await sync_to_async(plan_assign)()
    shown = (await alice.call("GET", "/settings")).json()
    assert (shown["function_timeout_max"], shown["function_timeout_seconds"]) == (0.5, 3)
    refused = await alice.call("PUT", "/settings", json={"function_timeout_seconds": 1})
    assert (refused.status_code, refused.json()["field"]) == (400, "function_timeout_seconds")
    # The deadline set before the plan was lowered is held to the plan's maximum.
    outcome = (await alice.run("slow", {"seconds": 1.5})).json()
    assert outcome["error"]["code"] == 141
    assert "0.5" in outcome["error"]["error"]
