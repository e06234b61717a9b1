"""Reads of the cloud-code tables (control plane, sync ORM)."""

from __future__ import annotations

from typing import Any

from hangar.cloudcode.models import CloudActivation, CloudVariable, CloudVersion
from hangar.secretbox import decrypt_secret


def version_archive_and_env(app_pk: int, version_id: int) -> tuple[bytes, dict[str, str]]:
    """A version's bundle and the app's variables, decrypted only to hand them to the sandbox."""
    version = CloudVersion.objects.only("archive").get(pk=version_id, app_id=app_pk)
    env = {v.name: decrypt_secret(v.ciphertext) for v in CloudVariable.objects.filter(app_id=app_pk)}
    return bytes(version.archive), env


def versions_of(app_pk: int) -> list[CloudVersion]:
    return list(CloudVersion.objects.filter(app_id=app_pk).defer("archive"))


def active_version(app_pk: int) -> CloudVersion | None:
    activation = CloudActivation.objects.filter(app_id=app_pk).select_related("version").first()
    return activation.version if activation else None


def active_version_id(app_pk: int) -> int | None:
    return CloudActivation.objects.filter(app_id=app_pk).values_list("version_id", flat=True).first()


def variables_of(app_pk: int) -> list[dict[str, Any]]:
    """Names of the app's variables; values of plain ones, never of secrets."""
    return [
        {"name": v.name, "secret": v.is_secret, "value": None if v.is_secret else decrypt_secret(v.ciphertext)}
        for v in CloudVariable.objects.filter(app_id=app_pk)
    ]
