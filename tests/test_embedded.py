"""What a running `make run` records for commands run beside it, and when that record is believed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hangar.embedded import SERVICES_FILE, services_forget, services_missing, services_record, services_recorded


def _sockets(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "pg").mkdir()
    (tmp_path / "pg" / ".s.PGSQL.5432").touch()
    (tmp_path / "redis.sock").touch()
    return {
        "DATABASE_URL": f"postgresql://postgres:@/hangar?host={tmp_path / 'pg'}",
        "REDIS_URL": f"unix://{tmp_path / 'redis.sock'}?db=0",
    }


def test_a_record_of_a_running_launcher_is_used_and_forgotten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "HANGAR_ENV"):
        monkeypatch.delenv(name, raising=False)
    urls = _sockets(tmp_path)
    services_record(tmp_path, urls)
    assert oct((tmp_path / SERVICES_FILE).stat().st_mode & 0o777) == "0o600"
    assert services_recorded(tmp_path) == urls
    assert services_missing(tmp_path) is None
    services_forget(tmp_path)
    assert not (tmp_path / SERVICES_FILE).exists()
    assert "make run" in (services_missing(tmp_path) or "")
    secret = tmp_path / "database_url"
    secret.write_text("postgresql://u@db.internal/x")
    monkeypatch.setenv("DATABASE_URL_FILE", str(secret))
    assert "DATABASE_URL" not in (services_missing(tmp_path) or ""), "a *_FILE setting counts as set"


def test_a_record_whose_launcher_or_sockets_are_gone_is_ignored(tmp_path: Path) -> None:
    urls = _sockets(tmp_path)
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / SERVICES_FILE).write_text(json.dumps({"pid": int(finished.stdout), **urls}))
    assert services_recorded(tmp_path) == {}
    (tmp_path / SERVICES_FILE).write_text(json.dumps({"pid": os.getpid(), **urls}))
    (tmp_path / "redis.sock").unlink()
    assert services_recorded(tmp_path) == {}


def test_settings_read_the_record_only_when_the_variables_are_unset(tmp_path: Path) -> None:
    urls = _sockets(tmp_path)
    services_record(tmp_path, {**urls, "HANGAR_PUBLIC_URL": "http://127.0.0.1:8123"})
    show = "import hangar.settings as s; print(s.DATABASES['default']['HOST'], s.REDIS_URL, s.HANGAR_PUBLIC_URL)"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "HANGAR_", "DJANGO_"))}
    env = {**base, "PYTHONPATH": "platform:.", "HANGAR_VAR_DIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", show], env=env, capture_output=True, text=True, check=True)
    assert run.stdout.split() == [str(tmp_path / "pg"), urls["REDIS_URL"], "http://127.0.0.1:8123"]
    explicit = {**env, "DATABASE_URL": "postgresql://u@db.internal/x", "REDIS_URL": "redis://cache.internal/1"}
    run = subprocess.run([sys.executable, "-c", show], env=explicit, capture_output=True, text=True, check=True)
    assert run.stdout.split()[:2] == ["db.internal", "redis://cache.internal/1"]
    production = {**explicit, "HANGAR_ENV": "production", "SECRET_KEY": "s" * 50, "HANGAR_ENCRYPTION_KEY": "e" * 40}
    run = subprocess.run(
        [sys.executable, "-c", show], env={**production, "ALLOWED_HOSTS": "x"}, capture_output=True, text=True
    )
    assert "127.0.0.1:8123" not in run.stdout, "production ignores a development launcher's record"
    services_forget(tmp_path)


def test_tests_beside_a_running_server_get_their_own_redis_database() -> None:
    from hangar.launcher import TEST_REDIS_DATABASE, _redis_database

    assert _redis_database("unix:///v/redis/redis.sock?db=0", TEST_REDIS_DATABASE) == "unix:///v/redis/redis.sock?db=1"
    assert _redis_database("redis://cache:6379/0", TEST_REDIS_DATABASE) == "redis://cache:6379/1"
