"""``manage.py build_request`` exactly as docs/builds.md spells it, run as an operator would, in its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.builds.conftest import LABEL, icon_png, requires_toolchain, web_bundle
from tests.conftest import REPO_DIR, _database_url, make_tenant

pytestmark = [requires_toolchain, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _command_env(var_dir: Path) -> dict[str, str]:
    # No worker here: Celery runs the build in the command's own process (eager), as the built-in agent.
    return {
        **os.environ, "DATABASE_URL": _database_url(settings.DATABASES["default"]), "REDIS_URL": settings.REDIS_URL,
        "HANGAR_ENCRYPTION_KEYS": ",".join(settings.HANGAR_ENCRYPTION_KEYS), "SECRET_KEY": settings.SECRET_KEY,
        "HANGAR_BUILDS_VAULT_KEYS": ",".join(settings.HANGAR_BUILDS_VAULT_KEYS), "CELERY_TASK_ALWAYS_EAGER": "true",
        "HANGAR_VAR_DIR": str(var_dir), "PYTHONPATH": f"{REPO_DIR / 'platform'}:{REPO_DIR}",
    }  # fmt: skip


def _profile(folder: Path, **overrides: object) -> Path:
    (folder / "icon.png").write_bytes(icon_png())
    (folder / "site.zip").write_bytes(web_bundle())
    profile = {"package_name": "com.example.operator", "label": LABEL, "version_code": 3, "version_name": "0.3",
               "icon": "icon.png", "web_bundle": "site.zip", **overrides}  # fmt: skip
    path = folder / "profile.json"
    path.write_text(json.dumps(profile))
    return path


def _run(args: list[str], var_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "build_request", *args], cwd=REPO_DIR, env=_command_env(var_dir),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_build_request_prints_the_state_the_artifact_and_the_signer(pkcs12_keystore, tmp_path):  # type: ignore[no-untyped-def]
    tenant = make_tenant("operator")
    (tmp_path / "storepass").write_text(pkcs12_keystore.store_password + "\n")
    (tmp_path / "keypass").write_text(pkcs12_keystore.key_password + "\n")
    result = _run(
        ["--app", tenant.application_id, "--platform", "android", "--profile", str(_profile(tmp_path)),
         "--keystore", str(pkcs12_keystore.path), "--alias", pkcs12_keystore.alias,
         "--storepass-file", str(tmp_path / "storepass"), "--keypass-file", str(tmp_path / "keypass"),
         "--wait", "--json"],
        tmp_path / "var",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["state"] == "succeeded"
    assert printed["signer_sha256"] == pkcs12_keystore.sha256
    assert printed["artifact_url"].startswith(settings.HANGAR_PUBLIC_URL + "/builds/artifacts/")
    apk = Path(printed["artifact_path"])
    verified = subprocess.run(["apksigner", "verify", "--print-certs", str(apk)], capture_output=True, text=True)
    assert f"certificate SHA-256 digest: {pkcs12_keystore.sha256}" in verified.stdout
    assert pkcs12_keystore.store_password not in result.stdout + result.stderr


def test_build_request_reports_a_bad_profile_and_fails(pkcs12_keystore, tmp_path):  # type: ignore[no-untyped-def]
    tenant = make_tenant("operator2")
    (tmp_path / "storepass").write_text(pkcs12_keystore.store_password)
    result = _run(
        ["--app", tenant.application_id, "--platform", "android",
         "--profile", str(_profile(tmp_path, package_name="not a package")),
         "--keystore", str(pkcs12_keystore.path), "--alias", pkcs12_keystore.alias,
         "--storepass-file", str(tmp_path / "storepass"), "--wait", "--json"],
        tmp_path / "var",
    )  # fmt: skip
    assert result.returncode != 0
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["error_code"] == "invalid_build_spec"
    assert printed["field"] == "package_name"


def test_build_request_refuses_an_unknown_app(tmp_path):  # type: ignore[no-untyped-def]
    result = _run(["--app", "nope", "--profile", str(_profile(tmp_path)), "--wait", "--json"], tmp_path / "var")
    assert result.returncode != 0
    assert "no app with applicationId 'nope'" in result.stderr


def test_a_broker_outage_leaves_the_build_queued_and_the_reaper_sends_it(pkcs12_keystore, tmp_path):  # type: ignore[no-untyped-def]
    """The request is kept whatever the broker does; the reaper's tick tells the workers again."""
    import socket
    import time

    from hangar.builds.models import Build
    from hangar.builds.runner import build_reap

    tenant = make_tenant("outage")
    (tmp_path / "storepass").write_text(pkcs12_keystore.store_password)
    with socket.socket() as probe:  # a port nothing listens on: the broker is down
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    env = {**_command_env(tmp_path / "var"), "CELERY_TASK_ALWAYS_EAGER": "false", "HANGAR_ENV": "test",
           "DJANGO_SETTINGS_MODULE": "hangar.settings", "CELERY_BROKER_URL": f"redis://127.0.0.1:{dead}/0"}  # fmt: skip
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", "build_request", "--app", tenant.application_id, "--profile",
         str(_profile(tmp_path)), "--keystore", str(pkcs12_keystore.path), "--alias", pkcs12_keystore.alias,
         "--storepass-file", str(tmp_path / "storepass"), "--json"],
        cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert time.monotonic() - started < 60
    assert json.loads(result.stdout.strip().splitlines()[-1])["state"] == "queued"
    assert "the reaper will" in result.stderr
    build = Build.objects.get(app=tenant.app)
    assert build.state == "queued"
    build_reap()  # the broker is back (this process's, eager): the notice goes out and a worker runs it
    build.refresh_from_db()
    assert build.state == "succeeded"
