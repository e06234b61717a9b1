"""Where backup archives are kept: a local directory, or an S3 bucket of their own.

Not the app files' storage: a files bucket may be public (docs/files.md, url modes), and a
backup holds every password hash of the app.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.conf import settings


class BackupStorageError(Exception):
    """Backup storage did not answer or refused; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class LocalBackupStorage:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise BackupStorageError(f"unsafe backup key {key!r}")
        return path

    def put(self, key: str, source: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        target.chmod(0o600)

    def fetch(self, key: str, target: Path) -> None:
        try:
            shutil.copyfile(self._path(key), target)
        except FileNotFoundError as exc:
            raise BackupStorageError(f"backup archive {key} is missing from {self.root}") from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3BackupStorage:
    def __init__(self) -> None:
        import boto3  # only this adapter needs the SDK
        from botocore.config import Config

        self.bucket = settings.HANGAR_BACKUP_S3_BUCKET
        self.prefix = settings.HANGAR_BACKUP_S3_PREFIX
        options: dict[str, Any] = {
            "region_name": settings.HANGAR_FILES_S3_REGION,
            "endpoint_url": settings.HANGAR_FILES_S3_ENDPOINT_URL,
            "aws_access_key_id": settings.HANGAR_FILES_S3_ACCESS_KEY_ID,
            "aws_secret_access_key": settings.HANGAR_FILES_S3_SECRET_ACCESS_KEY,
        }
        # Deadlines of their own: an unreachable endpoint fails the backup in seconds, not minutes.
        deadlines = Config(connect_timeout=10, read_timeout=120, retries={"max_attempts": 3, "mode": "standard"})
        self.client = boto3.client("s3", config=deadlines, **{k: v for k, v in options.items() if v})

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, action: str, key: str, work: Any) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            work()
        except (BotoCoreError, ClientError) as exc:
            code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
            retryable = not isinstance(exc, ClientError) or code in {"SlowDown", "InternalError", "RequestTimeout"}
            raise BackupStorageError(f"S3 {action} of {key} failed: {exc}", retryable=retryable) from exc

    def put(self, key: str, source: Path) -> None:
        self._call("upload", key, lambda: self.client.upload_file(str(source), self.bucket, self._key(key)))

    def fetch(self, key: str, target: Path) -> None:
        self._call("download", key, lambda: self.client.download_file(self.bucket, self._key(key), str(target)))

    def delete(self, key: str) -> None:
        self._call("delete", key, lambda: self.client.delete_object(Bucket=self.bucket, Key=self._key(key)))


def backup_storage() -> LocalBackupStorage | S3BackupStorage:
    if settings.HANGAR_BACKUP_BACKEND == "s3":
        return S3BackupStorage()
    return LocalBackupStorage(settings.HANGAR_BACKUP_DIR)
