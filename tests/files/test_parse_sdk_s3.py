"""The Parse JS SDK's file suite (tests/e2e/sdk/files.test.mjs) against a live server whose files
backend is S3 (the moto server), so Parse.File works through both backends; the bytes land in the bucket."""

from __future__ import annotations

import pytest

from hangar.files.models import StoredFile
from tests.conftest import LiveServer, Tenant
from tests.e2e import test_parse_sdk as sdk
from tests.files.conftest import S3_BUCKET, S3_SDK_PREFIX, MotoServer, s3_keys


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_parse_js_sdk_files_on_s3(
    request: pytest.FixtureRequest, live_server_s3: LiveServer, moto_server: MotoServer, tenant_a: Tenant
) -> None:
    sdk.run_sdk_suite(request, live_server_s3.url, tenant_a, sdk.SDK_DIR / "files.test.mjs")

    prefix = f"{S3_SDK_PREFIX}/app{tenant_a.app.pk}/"
    keys = s3_keys(moto_server, prefix)
    stored = list(StoredFile.objects.filter(app_id=tenant_a.app.pk))
    assert stored, "the SDK suite recorded no files"
    assert {record.backend for record in stored} == {"s3"}
    # Every file the suite kept is in the bucket, under the app's prefix (the destroyed one is gone).
    assert {f"{prefix}{record.name}" for record in stored} == set(keys)
    hello = next(record for record in stored if record.name.endswith("_hello.txt"))
    body = moto_server.client().get_object(Bucket=S3_BUCKET, Key=f"{prefix}{hello.name}")["Body"].read()
    assert body == b"Hello, Hangar!"
    assert not any(key.endswith("_doomed.txt") for key in keys)
