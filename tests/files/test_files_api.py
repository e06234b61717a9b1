"""Files over the Parse REST API (reference §11) on both backends: upload, download, delete, limits."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from urllib.parse import parse_qsl, urlsplit

import httpx
import orjson
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from hangar.files.selectors import file_usage_get
from hangar.files.services import file_settings_update
from tests.files.conftest import FileApp

pytestmark = pytest.mark.django_db(transaction=True)
STORED_NAME = re.compile(r"^[0-9a-f]{32}_hello\.txt$")


def _error(response: httpx.Response) -> tuple[int, int, str]:
    body = response.json()
    return response.status_code, body.get("code"), body.get("error")


async def _settings(app: FileApp, **fields: object) -> None:
    await sync_to_async(file_settings_update)(app_pk=app.tenant.app.pk, **fields)


async def test_raw_upload_then_download(files_a: FileApp, backend: str):
    response = await files_a.upload("hello.txt", b"Hello, World!")
    assert response.status_code == 201, response.text
    body = response.json()
    assert STORED_NAME.match(body["name"])
    expected_url = f"{settings.HANGAR_PUBLIC_URL}/parse/files/{files_a.tenant.application_id}/{body['name']}"
    assert body["url"] == expected_url
    assert response.headers["location"] == expected_url
    got = await files_a.download(body["url"])
    assert got.status_code == 200
    assert got.content == b"Hello, World!"
    assert got.headers["content-type"] == "text/plain"
    assert got.headers["content-length"] == "13"
    assert got.headers["etag"] == f'"{hashlib.sha256(b"Hello, World!").hexdigest()}"'
    assert got.headers["last-modified"].endswith("GMT")
    assert "max-age" in got.headers["cache-control"]
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "content-disposition" not in got.headers


async def test_js_sdk_base64_envelope(files_a: FileApp, backend: str):
    envelope = {
        "base64": base64.b64encode(b"\x00\x01binary").decode(), "_ContentType": "application/octet-stream",
        "fileData": {"metadata": {"owner": "ada"}, "tags": {}}, "_ApplicationId": files_a.tenant.application_id,
        "_JavaScriptKey": files_a.tenant.keys["javascript"], "_SessionToken": files_a.session,
        "_ClientVersion": "js5.3.0",
    }  # fmt: skip
    response = await files_a.client.post(
        "/parse/files/blob.bin", content=orjson.dumps(envelope), headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 201, response.text
    name = response.json()["name"]
    got = await files_a.download(name)
    assert (got.content, got.headers["content-type"]) == (b"\x00\x01binary", "application/octet-stream")
    meta = await files_a.client.get(f"/parse/files/{files_a.tenant.application_id}/metadata/{name}")
    assert meta.json() == {"metadata": {"owner": "ada"}}


async def test_extension_added_from_the_content_type(files_a: FileApp):
    response = await files_a.upload("hello", b"hi", "text/plain")
    assert STORED_NAME.match(response.json()["name"])


async def test_file_field_round_trips_with_its_url(files_a: FileApp):
    name = (await files_a.upload("hello.txt", b"x")).json()["name"]
    created = await files_a.request("POST", "/classes/Doc", {"f": {"__type": "File", "name": name}}, master=True)
    fetched = await files_a.request("GET", f"/classes/Doc/{created.json()['objectId']}", master=True)
    url = fetched.json()["f"]["url"]
    assert url.endswith(f"/parse/files/{files_a.tenant.application_id}/{name}")
    assert (await files_a.download(url)).content == b"x"


async def test_upload_policy_follows_parse_server_defaults(files_a: FileApp):
    public = await files_a.upload("hello.txt", b"x", public=True)
    assert _error(public) == (400, 130, "File upload by public is disabled.")
    assert (await files_a.upload("hello.txt", b"x", master=True)).status_code == 201
    html = await files_a.upload("page.html", b"<p>", "text/html")
    assert _error(html) == (400, 130, "File upload of extension html is disabled.")
    await _settings(files_a, enable_for_public=True)
    assert (await files_a.upload("hello.txt", b"x", public=True)).status_code == 201


async def test_bad_file_names(files_a: FileApp):
    assert _error(await files_a.upload("a$b.txt", b"x"))[1:] == (122, "Filename contains invalid characters.")
    assert _error(await files_a.upload("a" * 129, b"x"))[1:] == (122, "Filename too long.")
    assert _error(await files_a.upload("empty.txt", b""))[1:] == (130, "Invalid file upload.")


async def test_range_requests(files_a: FileApp, backend: str):
    name = (await files_a.upload("digits.txt", b"0123456789")).json()["name"]
    part = await files_a.download(name, Range="bytes=2-5")
    assert (part.status_code, part.content, part.headers["content-range"]) == (206, b"2345", "bytes 2-5/10")
    tail = await files_a.download(name, Range="bytes=-3")
    assert (tail.status_code, tail.content) == (206, b"789")
    open_ended = await files_a.download(name, Range="bytes=7-")
    assert open_ended.content == b"789"
    assert open_ended.headers["content-length"] == "3"
    beyond = await files_a.download(name, Range="bytes=10-")
    assert (beyond.status_code, beyond.headers["content-range"]) == (416, "bytes */10")


async def test_if_none_match_answers_304(files_a: FileApp):
    name = (await files_a.upload("hello.txt", b"cached")).json()["name"]
    first = await files_a.download(name)
    again = await files_a.download(name, **{"If-None-Match": first.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")
    changed = await files_a.download(name, **{"If-None-Match": '"other"'})
    assert changed.status_code == 200


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("page.html", "text/html"), ("logo.svg", "image/svg+xml"), ("feed.xml", "application/xml"),
     ("app.js", "text/javascript"), ("innocent.png", "text/html")],
)  # fmt: skip
async def test_active_content_is_an_attachment(files_a: FileApp, backend: str, name: str, content_type: str):
    """An uploaded page or SVG never runs script on Hangar's origin: it downloads instead."""
    uploaded = await files_a.upload(name, b"<svg onload=alert(1)>", content_type, master=True)
    got = await files_a.download(uploaded.json()["name"])
    assert got.headers["content-disposition"] == "attachment"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in got.headers["content-security-policy"]


async def test_oversize_files_are_refused_with_129(files_a: FileApp, backend: str):
    await _settings(files_a, max_upload_bytes=10)
    too_big = await files_a.upload("big.txt", b"x" * 11)
    assert _error(too_big) == (400, 129, "File size exceeds maximum allowed: 10 bytes.")

    async def chunked():  # no Content-Length: refused while streaming
        for _ in range(4):
            yield b"xxxx"

    streamed = await files_a.client.post(
        "/parse/files/big.txt", content=chunked(), headers={**files_a.headers(session=files_a.session)}
    )
    assert _error(streamed)[:2] == (400, 129)
    assert (await files_a.upload("ok.txt", b"x" * 10)).status_code == 201
    assert await sync_to_async(file_usage_get)(app_pk=files_a.tenant.app.pk) == (10, 1)


async def test_forbidden_content_types_are_refused_with_130(files_a: FileApp):
    await _settings(files_a, allowed_content_types=["image/*", "application/pdf"])
    refused = await files_a.upload("notes.txt", b"x", "text/plain")
    assert _error(refused) == (400, 130, "File upload of type text/plain is disabled.")
    assert (await files_a.upload("a.png", b"\x89PNG", "image/png")).status_code == 201


async def test_storage_quota_of_the_plan(files_a: FileApp, backend: str):
    from tenants.models import Plan

    def on_small_plan() -> None:
        plan = Plan.objects.create(name="tiny", requests_per_second=0, storage_quota_bytes=10)
        files_a.tenant.organization.plan = plan
        files_a.tenant.organization.save(update_fields=["plan"])

    await sync_to_async(on_small_plan)()
    assert (await files_a.upload("a.txt", b"x" * 8)).status_code == 201
    over = await files_a.upload("b.txt", b"x" * 5)
    assert _error(over) == (400, 130, "Storage quota exceeded: this app may store 10 bytes of files.")
    assert await sync_to_async(file_usage_get)(app_pk=files_a.tenant.app.pk) == (8, 1)


async def test_usage_follows_uploads_and_deletes(files_a: FileApp, backend: str):
    first = (await files_a.upload("a.txt", b"x" * 100)).json()["name"]
    await files_a.upload("b.txt", b"y" * 50)
    assert await sync_to_async(file_usage_get)(app_pk=files_a.tenant.app.pk) == (150, 2)
    deleted = await files_a.client.delete(f"/parse/files/{first}", headers=files_a.headers(master=True))
    assert (deleted.status_code, deleted.content) == (200, b"")
    assert await sync_to_async(file_usage_get)(app_pk=files_a.tenant.app.pk) == (50, 1)


async def test_delete_needs_the_master_key_and_removes_the_bytes(files_a: FileApp, backend: str):
    name = (await files_a.upload("hello.txt", b"bye")).json()["name"]
    refused = await files_a.client.delete(f"/parse/files/{name}", headers=files_a.headers(session=files_a.session))
    assert refused.status_code == 403
    deleted = await files_a.client.delete(f"/parse/files/{name}", headers=files_a.headers(master=True))
    assert deleted.status_code == 200
    gone = await files_a.download(name)
    assert (gone.status_code, gone.text) == (404, "File not found.")
    again = await files_a.client.delete(f"/parse/files/{name}", headers=files_a.headers(master=True))
    assert _error(again) == (400, 153, "Could not delete file.")


async def test_unknown_app_in_a_file_url(files_a: FileApp):
    response = await files_a.client.get("/parse/files/no-such-app/x.txt")
    assert (response.status_code, response.json()) == (403, {"code": 119, "error": "Invalid application ID."})


async def test_cross_tenant_delete_and_read_are_denied(files_a: FileApp, files_b: FileApp, backend: str):
    name = (await files_a.upload("secret.txt", b"A's bytes")).json()["name"]
    by_b = await files_b.client.delete(f"/parse/files/{name}", headers=files_b.headers(master=True))
    assert _error(by_b) == (400, 153, "Could not delete file.")
    under_b = await files_b.client.get(f"/parse/files/{files_b.tenant.application_id}/{name}")
    assert (under_b.status_code, under_b.text) == (404, "File not found.")
    assert (await files_a.download(name)).content == b"A's bytes"


async def test_presigned_and_public_urls_redirect_to_the_bucket(files_a: FileApp, backend: str):
    if backend != "s3":
        pytest.skip("the local backend has no bucket URL")
    name = (await files_a.upload("hello.txt", b"from s3")).json()["name"]
    await _settings(files_a, url_mode="presigned", presigned_url_seconds=60)
    redirect = await files_a.download(name)
    query = dict(parse_qsl(urlsplit(redirect.headers["location"]).query))
    assert redirect.status_code == 302
    assert "Signature" in query or "X-Amz-Signature" in query
    assert query.get("X-Amz-Expires") == "60" or 0 < int(query["Expires"]) - time.time() <= 61
    async with httpx.AsyncClient() as outside:
        assert (await outside.get(redirect.headers["location"])).content == b"from s3"
    await _settings(files_a, url_mode="public")
    public = await files_a.download(name)
    assert public.status_code == 302
    assert "Signature" not in public.headers["location"]
    assert public.headers["location"].endswith(f"app{files_a.tenant.app.pk}/{name}")
