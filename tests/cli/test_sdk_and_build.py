"""``hangar sdk generate`` and ``hangar build android --wait`` against the live server."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.builds.conftest import Keystore, pkcs12_keystore, requires_toolchain, save_profile, upload_credential  # noqa: F401
from tests.cli.conftest import Cli
from tests.conftest import Tenant
from tests.tenants.conftest import client_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_sdk_generate_writes_the_apps_openapi_document_and_wheel(alice_cli: Cli, tenant_a: Tenant, tmp_path: Path):
    app = tenant_a.application_id
    out = tmp_path / "sdk"
    written = alice_cli.ok("sdk", "generate", "--lang", "openapi", "--out", str(out), "--app", app, "--json").json()
    document = json.loads(Path(written["path"]).read_text())
    assert document["openapi"].startswith("3.1")
    assert Path(written["path"]).parent == out
    assert written["version"]
    assert written["schema_hash"]

    wheel = alice_cli.ok("sdk", "generate", "--lang", "python", "--out", str(out), "--app", app, "--json").json()
    assert wheel["path"].endswith(".whl")
    with zipfile.ZipFile(wheel["path"]) as archive:
        assert any(name.endswith(".py") for name in archive.namelist())


def test_sdk_generate_for_another_organizations_app_is_not_found(bob_cli: Cli, tenant_a: Tenant, tmp_path: Path):
    out = tmp_path / "out"
    refused = bob_cli.run("sdk", "generate", "--lang", "openapi", "--out", str(out), "--app", tenant_a.application_id)
    assert refused.code == 4, refused
    assert not out.exists()


@requires_toolchain
def test_build_android_waits_and_downloads_a_signed_apk(
    alice_cli: Cli,
    tenant_a: Tenant,
    tmp_path: Path,
    pkcs12_keystore: Keystore,  # noqa: F811
):
    api = client_for(tenant_a.developer)
    assert upload_credential(api, tenant_a, pkcs12_keystore).status_code == 201
    assert save_profile(api, tenant_a).status_code in (200, 201)
    out = tmp_path / "artifacts"

    built = alice_cli.ok(
        "build", "android", "--wait", "--out", str(out), "--app", tenant_a.application_id, "--json", timeout=240
    ).json()

    assert built["state"] == "succeeded"
    assert built["signer_sha256"].replace(":", "").lower() == pkcs12_keystore.sha256.replace(":", "").lower()
    apk = Path(built["artifact_path"])
    assert apk.parent == out
    assert apk.suffix == ".apk"
    verified = subprocess.run(["apksigner", "verify", str(apk)], capture_output=True, text=True, check=False)
    assert verified.returncode == 0, verified.stderr


def test_build_of_a_missing_profile_is_refused_with_the_servers_message(alice_cli: Cli, tenant_a: Tenant):
    refused = alice_cli.run("build", "android", "--profile", "nope", "--app", tenant_a.application_id)
    assert refused.code in (1, 4), refused
    assert "nope" in refused.stderr or "profile" in refused.stderr.lower()
