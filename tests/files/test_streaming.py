"""A large upload streams to storage: the server process never holds the file whole."""

from __future__ import annotations

import hashlib

import httpx
import psutil
import pytest

from hangar.files.services import file_settings_update
from tests.conftest import LiveServer, Tenant
from tests.datastore.conftest import insert_user_with_session

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SIZE = 50 * 1024 * 1024
CHUNK = 256 * 1024


def _body() -> object:
    block = bytes(range(256)) * (CHUNK // 256)
    for _ in range(SIZE // CHUNK):
        yield block


def test_a_50_mb_upload_does_not_grow_the_server_by_its_size(live_server: LiveServer, tenant_a: Tenant):
    file_settings_update(app_pk=tenant_a.app.pk, max_upload_bytes=SIZE)
    _, token = insert_user_with_session(tenant_a, "ada")
    headers = {**tenant_a.parse_headers(), "X-Parse-Session-Token": token, "Content-Type": "application/octet-stream"}
    server = psutil.Process(live_server.process.pid)
    with httpx.Client(base_url=live_server.url, timeout=120) as client:
        warm = client.post("/parse/files/warm.bin", content=b"warm-up", headers=headers)
        assert warm.status_code == 201, warm.text
        before = server.memory_info().rss
        response = client.post("/parse/files/big.bin", content=_body(), headers=headers)
        after = server.memory_info().rss
        assert response.status_code == 201, response.text
        growth = after - before
        assert growth < SIZE // 4, f"the server grew by {growth} bytes during a {SIZE}-byte upload"
        digest = hashlib.md5(usedforsecurity=False)
        with client.stream("GET", response.json()["url"].removeprefix(live_server.url)) as download:
            assert download.headers["content-length"] == str(SIZE)
            for chunk in download.iter_bytes():
                digest.update(chunk)
    expected = hashlib.md5(b"".join([bytes(range(256)) * (CHUNK // 256)]) * (SIZE // CHUNK), usedforsecurity=False)
    assert digest.hexdigest() == expected.hexdigest()


def test_an_oversize_streamed_upload_is_cut_off_with_129(live_server: LiveServer, tenant_a: Tenant):
    file_settings_update(app_pk=tenant_a.app.pk, max_upload_bytes=1024 * 1024)
    _, token = insert_user_with_session(tenant_a, "ada")
    headers = {**tenant_a.parse_headers(), "X-Parse-Session-Token": token}

    def chunked() -> object:  # no Content-Length: the limit is enforced while the bytes arrive
        for _ in range(8):
            yield b"x" * CHUNK

    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        response = client.post("/parse/files/big.bin", content=chunked(), headers=headers)
    assert (response.status_code, response.json()["code"]) == (400, 129)
