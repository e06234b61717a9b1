"""Where an app's stored files live on the local backend, and their removal from every backend.

App deletion (tenants.services.apps.app_purge) calls app_files_remove, so that no
backend keeps an app's bytes after the app is gone (docs/files.md).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def app_files_dir(*, app_pk: int) -> Path:
    return Path(settings.HANGAR_FILES_DIR) / f"app{int(app_pk)}"


def app_files_remove(*, app_pk: int) -> None:
    from hangar.files.services import app_files_purge

    app_files_purge(app_pk=app_pk)
