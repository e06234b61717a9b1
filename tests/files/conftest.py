"""File tests run on both backends: the local folder, and S3 served by a moto server process."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings as django_settings

from tests.conftest import REPO_DIR, LiveServer, Tenant, _free_port, start_live_server, stop_live_server
from tests.datastore.conftest import ParseApp, insert_user_with_session

S3_REGION = "us-east-1"
S3_BUCKET = "hangar-test-files"


@dataclass
class MotoServer:
    endpoint_url: str

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.endpoint_url, region_name=S3_REGION,
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )  # fmt: skip


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """A real S3 endpoint on loopback (``python -m moto.server``), one bucket, for the whole session."""
    port = _free_port()
    log_path = Path(django_settings.VAR_DIR) / "moto-server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO_DIR,
        )  # fmt: skip
    server = MotoServer(endpoint_url=f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(server.endpoint_url, timeout=1)
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"moto server did not start; see {log_path}") from None
            time.sleep(0.2)
    server.client().create_bucket(Bucket=S3_BUCKET)
    yield server
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, settings: Any) -> str:
    """Uploads go to this backend; S3 tests get a prefix of their own in the moto bucket."""
    if request.param == "s3":
        moto: MotoServer = request.getfixturevalue("moto_server")
        settings.HANGAR_FILES_BACKEND = "s3"
        settings.HANGAR_FILES_S3_BUCKET = S3_BUCKET
        settings.HANGAR_FILES_S3_REGION = S3_REGION
        settings.HANGAR_FILES_S3_ENDPOINT_URL = moto.endpoint_url
        settings.HANGAR_FILES_S3_PREFIX = f"t{secrets.token_hex(4)}"
        settings.HANGAR_FILES_S3_ACCESS_KEY_ID = "testing"
        settings.HANGAR_FILES_S3_SECRET_ACCESS_KEY = "testing"
    return str(request.param)


S3_SDK_PREFIX = "sdk-s3"


@pytest.fixture(scope="session")
def live_server_s3(django_db_setup: None, moto_server: MotoServer) -> Iterator[LiveServer]:
    """A second uvicorn process like ``live_server``, storing new uploads in the moto bucket
    under ``S3_SDK_PREFIX`` (the same HANGAR_FILES_S3_* settings the ``backend`` fixture sets)."""
    server = start_live_server(
        {
            "HANGAR_FILES_BACKEND": "s3",
            "HANGAR_FILES_S3_BUCKET": S3_BUCKET,
            "HANGAR_FILES_S3_REGION": S3_REGION,
            "HANGAR_FILES_S3_ENDPOINT_URL": moto_server.endpoint_url,
            "HANGAR_FILES_S3_PREFIX": S3_SDK_PREFIX,
            "HANGAR_FILES_S3_ACCESS_KEY_ID": "testing",
            "HANGAR_FILES_S3_SECRET_ACCESS_KEY": "testing",
        },
        log_name="live-server-s3.log",
    )
    yield server
    stop_live_server(server)


def s3_keys(moto: MotoServer, prefix: str) -> list[str]:
    listed = moto.client().list_objects_v2(Bucket=S3_BUCKET, Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


@dataclass
class FileApp(ParseApp):
    """A ParseApp with a logged-in user's session, for uploads (public uploads are refused by default)."""

    session: str = ""

    async def upload(
        self, name: str, data: bytes, content_type: str | None = "text/plain", *, master: bool = False,
        session: str | None = None, public: bool = False,
    ) -> httpx.Response:  # fmt: skip
        headers = self.headers(master=master, session=None if (master or public) else (session or self.session))
        if content_type:
            headers["Content-Type"] = content_type
        return await self.client.post(f"/parse/files/{name}", content=data, headers=headers)

    async def download(self, url_or_name: str, **headers: str) -> httpx.Response:
        path = url_or_name.split("://", 1)[-1].split("/", 1)[-1] if "://" in url_or_name else (
            f"parse/files/{self.tenant.application_id}/{url_or_name}"
        )  # fmt: skip
        return await self.client.get(f"/{path}", headers=headers)


@pytest.fixture
def files_a(parse_client: httpx.AsyncClient, tenant_a: Tenant) -> FileApp:
    return FileApp(parse_client, tenant_a, session=insert_user_with_session(tenant_a, "ada")[1])


@pytest.fixture
def files_b(parse_client: httpx.AsyncClient, tenant_b: Tenant) -> FileApp:
    return FileApp(parse_client, tenant_b, session=insert_user_with_session(tenant_b, "bea")[1])
