"""Where an app's stored files live on the local backend, and their removal.

The files service (issue 5) adds S3; app deletion already calls app_files_remove so
that no backend keeps an app's bytes after the app is gone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings


def app_files_dir(*, app_pk: int) -> Path:
    return Path(settings.HANGAR_FILES_DIR) / f"app{int(app_pk)}"


def app_files_remove(*, app_pk: int) -> None:
    shutil.rmtree(app_files_dir(app_pk=app_pk), ignore_errors=True)
