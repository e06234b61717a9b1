"""Production mode refuses to start on development defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]


def _load_settings(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HANGAR_", "SECRET_KEY", "DATABASE_", "REDIS_", "ALLOWED_"))
    }
    clean.update({"PYTHONPATH": f"{REPO_DIR / 'platform'}:{REPO_DIR}", "HANGAR_VAR_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "-c", "import hangar.settings"], env=clean, capture_output=True, text=True, cwd=REPO_DIR
    )


PRODUCTION_ENV = {
    "HANGAR_ENV": "production",
    "SECRET_KEY": "s" * 50,
    "HANGAR_ENCRYPTION_KEY": "e" * 40,
    "DATABASE_URL": "postgresql://hangar@db.internal/hangar",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "ALLOWED_HOSTS": "hangar.example.com",
}


def test_production_with_explicit_settings_loads(tmp_path):
    result = _load_settings(PRODUCTION_ENV, tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_production_refuses_each_missing_setting(tmp_path):
    for missing in ("SECRET_KEY", "HANGAR_ENCRYPTION_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"):
        env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
        result = _load_settings(env, tmp_path)
        assert result.returncode != 0, missing
        assert missing in result.stderr, result.stderr[-500:]


def test_development_generates_a_secret_key_once(tmp_path):
    assert _load_settings({}, tmp_path).returncode == 0
    first = (tmp_path / "secret_key").read_text()
    assert _load_settings({}, tmp_path).returncode == 0
    assert (tmp_path / "secret_key").read_text() == first
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"


def test_secret_from_file(tmp_path):
    secret_file = tmp_path / "key.txt"
    secret_file.write_text("from-a-file-" * 5)
    env = {**PRODUCTION_ENV, "SECRET_KEY_FILE": str(secret_file)}
    del env["SECRET_KEY"]
    result = _load_settings(env, tmp_path)
    assert result.returncode == 0, result.stderr


def test_the_suite_runs_with_the_test_settings():
    """`make test` must not inherit the development settings (eager Celery, test mail, fast hashing)."""
    from django.conf import settings

    assert settings.SETTINGS_MODULE == "hangar.settings_test"
    assert settings.CELERY_TASK_ALWAYS_EAGER is True
