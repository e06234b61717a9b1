"""Where the CLI keeps the server and the personal access token: one JSON file, readable by its owner only."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import click

CONFIG_NAME = "config.json"


def config_dir() -> Path:
    """``$HANGAR_CONFIG_DIR``, else the platform's per-user config dir (~/.config/hangar on Linux)."""
    override = os.environ.get("HANGAR_CONFIG_DIR")
    return Path(override) if override else Path(click.get_app_dir("hangar"))


@dataclass
class Credentials:
    server: str
    token: str
    email: str = ""


def credentials_load() -> Credentials | None:
    path = config_dir() / CONFIG_NAME
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}; run `hangar login` again") from exc
    if not isinstance(raw, dict) or not raw.get("server") or not raw.get("token"):
        return None
    return Credentials(server=str(raw["server"]), token=str(raw["token"]), email=str(raw.get("email", "")))


def credentials_save(credentials: Credentials) -> Path:
    """Write the file with mode 0600 from the start: the token is never readable by others, not even briefly."""
    directory = config_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / CONFIG_NAME
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"server": credentials.server, "token": credentials.token, "email": credentials.email}, handle)
    os.chmod(temporary, 0o600)  # an existing file keeps its old mode through O_CREAT
    os.replace(temporary, path)
    return path


def credentials_forget() -> bool:
    path = config_dir() / CONFIG_NAME
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
