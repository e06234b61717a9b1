"""The official Parse JS SDK (the ``parse`` npm package) works unchanged against Hangar.

Each ``sdk/*.test.mjs`` file is a ``node:test`` suite run in one Node process against the
session's live server, with a fresh app (and, where needed, a second app and users) made
here. The JS side reads SERVER_URL, APP_ID, JS_KEY, MASTER_KEY and HANGAR_SDK_FIXTURES.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_DIR, LiveServer, Tenant
from tests.datastore.conftest import insert_user_with_session

SDK_DIR = Path(__file__).resolve().parent / "sdk"
SDK_FILES = sorted(SDK_DIR.glob("*.test.mjs"))
NODE = shutil.which("node")
PARSE_SDK = REPO_DIR / "node_modules" / "parse" / "package.json"
NODE_TIMEOUT = 120
# Users (written straight to the store: sign-up does not exist yet) that each suite acts as.
USERS_IN_A = ("ada", "ben", "cyd")


def _app_fixture(tenant: Tenant) -> dict[str, str]:
    return {"appId": tenant.application_id, **{kind: tenant.keys[kind] for kind in ("javascript", "rest", "master")}}


def _fixtures(request: pytest.FixtureRequest, tenant_a: Tenant, sdk_file: Path) -> dict[str, object]:
    users = {}
    for name in USERS_IN_A:
        user_id, token = insert_user_with_session(tenant_a, name)
        users[name] = {"id": user_id, "sessionToken": token}
    fixtures: dict[str, object] = {"appA": _app_fixture(tenant_a), "users": users}
    _deploy_suite_bundle(tenant_a, sdk_file)
    if sdk_file.name == "mfa.test.mjs":
        from hangar.identity.models import AuthSettings

        AuthSettings.objects.update_or_create(app=tenant_a.app, defaults={"mfa_options": ["TOTP"]})
    if sdk_file.name in {"cross_tenant.test.mjs", "livequery.test.mjs", "cloud_functions.test.mjs"}:
        tenant_b: Tenant = request.getfixturevalue("tenant_b")
        user_id, token = insert_user_with_session(tenant_b, "bea")
        fixtures["appB"] = _app_fixture(tenant_b)
        fixtures["usersB"] = {"bea": {"id": user_id, "sessionToken": token}}
    return fixtures


def _deploy_suite_bundle(tenant: Tenant, sdk_file: Path) -> None:
    """A suite ``name.test.mjs`` with a folder ``name.bundle/`` beside it runs against that cloud code."""
    folder = SDK_DIR / f"{sdk_file.name.removesuffix('.test.mjs')}.bundle"
    if folder.is_dir():
        from hangar.cloudcode.bundles import bundle_from_folder
        from hangar.cloudcode.services import deploy_version

        deploy_version(tenant.app, bundle_from_folder(folder), created_by="sdk-suite")


def run_sdk_suite(request: pytest.FixtureRequest, server_url: str, tenant_a: Tenant, sdk_file: Path) -> None:
    """Run one ``sdk/*.test.mjs`` suite in Node against the server at ``server_url``, as app A."""
    if NODE is None:
        pytest.skip("node is not installed: the Parse JS SDK suite needs Node 20")
    if not PARSE_SDK.exists():
        pytest.skip("node_modules/parse is missing: run `make setup` (npm ci) to install the Parse JS SDK")
    env = {
        **os.environ,
        "SERVER_URL": f"{server_url}/parse",
        "APP_ID": tenant_a.application_id,
        "JS_KEY": tenant_a.keys["javascript"],
        "MASTER_KEY": tenant_a.keys["master"],
        "HANGAR_SDK_FIXTURES": json.dumps(_fixtures(request, tenant_a, sdk_file)),
        "NODE_NO_WARNINGS": "1",
    }
    completed = subprocess.run(
        [NODE, "--test", "--test-reporter=spec", str(sdk_file)],
        cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=NODE_TIMEOUT, check=False,
    )  # fmt: skip
    print(completed.stdout)  # the spec report, shown with -rP
    assert completed.returncode == 0, (
        f"{sdk_file.name} failed (exit {completed.returncode})\n--- stdout ---\n{completed.stdout}"
        f"\n--- stderr ---\n{completed.stderr}"
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sdk_file", SDK_FILES, ids=[path.name.removesuffix(".test.mjs") for path in SDK_FILES])
def test_parse_js_sdk(
    request: pytest.FixtureRequest, live_server: LiveServer, tenant_a: Tenant, sdk_file: Path
) -> None:
    """Every suite against the session's live server (local files backend; files.test.mjs also runs
    against an S3 server in tests/files/test_parse_sdk_s3.py)."""
    run_sdk_suite(request, live_server.url, tenant_a, sdk_file)


def test_every_sdk_suite_is_collected() -> None:
    """The parametrization is not silently empty (a moved folder would otherwise pass)."""
    assert {path.name for path in SDK_FILES} >= {
        "objects.test.mjs", "queries.test.mjs", "relations.test.mjs", "batch.test.mjs", "acl.test.mjs",
        "schema_config_aggregate.test.mjs", "cross_tenant.test.mjs", "users.test.mjs", "files.test.mjs",
        "livequery.test.mjs", "cloud_functions.test.mjs", "cloud_triggers.test.mjs", "mfa.test.mjs",
    }  # fmt: skip
