"""Files in an S3 bucket (AWS, MinIO, Ceph, ...) through django-storages and boto3, one prefix per app.

Uploads go through boto3's managed transfer, which sends a non-seekable stream as a
multipart upload of bounded parts (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from storages.backends.s3 import S3Storage

from hangar.files.adapters.base import CHUNK_BYTES, FileStorage, FileStorageError

# Parts held in memory at once: max_concurrency x multipart_chunksize (2 x 8 MB).
_TRANSFER = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024, max_concurrency=2)


def _error(action: str, key: str, exc: Exception) -> FileStorageError:
    code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
    retryable = not isinstance(exc, ClientError) or code in {"SlowDown", "InternalError", "RequestTimeout"}
    return FileStorageError(f"S3 {action} of {key} failed: {exc}", retryable=retryable)


class S3FileStorage(FileStorage):
    @classmethod
    def configuration(cls) -> tuple[object, ...]:
        return (
            settings.HANGAR_FILES_S3_BUCKET, settings.HANGAR_FILES_S3_REGION, settings.HANGAR_FILES_S3_ENDPOINT_URL,
            settings.HANGAR_FILES_S3_PREFIX, settings.HANGAR_FILES_S3_ACCESS_KEY_ID,
            settings.HANGAR_FILES_S3_SECRET_ACCESS_KEY,
        )  # fmt: skip

    def __init__(self) -> None:
        options: dict[str, Any] = {
            "bucket_name": settings.HANGAR_FILES_S3_BUCKET,
            "region_name": settings.HANGAR_FILES_S3_REGION,
            "endpoint_url": settings.HANGAR_FILES_S3_ENDPOINT_URL,
            "location": settings.HANGAR_FILES_S3_PREFIX,
            "access_key": settings.HANGAR_FILES_S3_ACCESS_KEY_ID,
            "secret_key": settings.HANGAR_FILES_S3_SECRET_ACCESS_KEY,
            "file_overwrite": True,
            "default_acl": None,
        }
        self._signed = S3Storage(**options, querystring_auth=True)
        self._public = S3Storage(**options, querystring_auth=False)
        self.prefix = settings.HANGAR_FILES_S3_PREFIX

    def _full_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def save(self, key: str, stream: BinaryIO, *, content_type: str, attachment: bool) -> None:
        extra = {"ContentType": content_type}
        if attachment:
            # Also when the bucket serves the object itself (public/presigned URLs).
            extra["ContentDisposition"] = "attachment"
        try:
            self._signed.bucket.Object(self._full_key(key)).upload_fileobj(stream, ExtraArgs=extra, Config=_TRANSFER)
        except (BotoCoreError, ClientError) as exc:
            raise _error("upload", key, exc) from exc

    def read(self, key: str, *, start: int, end: int) -> Iterator[bytes]:
        try:
            answer = self._signed.bucket.Object(self._full_key(key)).get(Range=f"bytes={start}-{end}")
        except (BotoCoreError, ClientError) as exc:
            raise _error("read", key, exc) from exc
        body = answer["Body"]
        try:
            yield from body.iter_chunks(CHUNK_BYTES)
        finally:
            body.close()

    def delete(self, key: str) -> None:
        try:
            self._signed.bucket.Object(self._full_key(key)).delete()
        except (BotoCoreError, ClientError) as exc:
            raise _error("delete", key, exc) from exc

    def delete_prefix(self, prefix: str) -> None:
        try:
            self._signed.bucket.objects.filter(Prefix=self._full_key(prefix.rstrip("/") + "/")).delete()
        except (BotoCoreError, ClientError) as exc:
            raise _error("delete", prefix, exc) from exc

    def direct_url(self, key: str, *, presigned_seconds: int | None) -> str | None:
        if presigned_seconds is None:
            return str(self._public.url(key))
        return str(self._signed.url(key, expire=presigned_seconds))
