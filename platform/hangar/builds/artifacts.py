"""Artifacts in file storage (local or S3) and their signed, expiring download links."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core import signing

from hangar.builds.android.spec import ARTIFACT_MEDIA_TYPES
from hangar.builds.models import Build
from hangar.files.adapters import current_backend, storage_for

_LINK_SALT = "hangar.builds.artifact"


def artifact_format(build: Build) -> str:
    return str(build.spec.get("artifact_format", "apk"))


def artifact_media_type(build: Build) -> str:
    return ARTIFACT_MEDIA_TYPES[artifact_format(build)]


def artifact_store(build: Build, artifact: Path) -> tuple[str, str, int, str]:
    """(backend, key, size, sha256) of the APK or AAB stored under the app's own folder."""
    name = f"{build.spec.get('package_name', 'app')}-{build.number}.{artifact_format(build)}"
    key = f"app{build.app_id}/builds/{build.uid}/{name}"
    backend = current_backend()
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    with artifact.open("rb") as stream:
        storage_for(backend).save(key, stream, content_type=artifact_media_type(build), attachment=True)
    return backend, key, artifact.stat().st_size, digest


def artifact_chunks(build: Build) -> Iterator[bytes]:
    size = int(build.artifact_size or 0)
    return storage_for(build.artifact_backend).read(build.artifact_key, start=0, end=max(size - 1, 0))


def artifact_delete(build: Build) -> None:
    if build.artifact_key:
        artifact_delete_key(build.artifact_backend, build.artifact_key)


def artifact_delete_key(backend: str, key: str) -> None:
    storage_for(backend).delete(key)


def download_token(build: Build) -> str:
    """A token naming one build's artifact; it is the capability, so it is signed and short-lived."""
    return signing.dumps({"b": build.uid, "a": build.app_id}, salt=_LINK_SALT, compress=True)


def build_uid_from_token(token: str) -> tuple[str, int] | None:
    """(build uid, app pk) of a valid, unexpired token; None otherwise."""
    try:
        data = signing.loads(token, salt=_LINK_SALT, max_age=settings.HANGAR_BUILDS_LINK_TTL_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("b"), str) or not isinstance(data.get("a"), int):
        return None
    return data["b"], data["a"]
