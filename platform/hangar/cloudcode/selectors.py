"""Reads of the cloud-code tables (control plane, sync ORM)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from io import BytesIO
from typing import Any

from django.db import connection

from hangar.caller import Caller, DeployedCode
from hangar.cloudcode.bundles import bundle_sources
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


def variables_of(app_pk: int) -> list[dict[str, Any]]:
    """Names of the app's variables; values of plain ones, never of secrets."""
    return [
        {"name": v.name, "secret": v.is_secret, "value": None if v.is_secret else decrypt_secret(v.ciphertext)}
        for v in CloudVariable.objects.filter(app_id=app_pk)
    ]


# The same active-version read as admission's (hangar.admission.registry), by app pk: a
# Celery task has no request to admit, only the app it was queued for.
_DEPLOYED_CODE_SQL = """
SELECT a.application_id, v.id, v.number, v.handlers,
       (SELECT count(*) || ':' || COALESCE(max(cv.updated_at)::text, '') FROM cloudcode_cloudvariable cv
        WHERE cv.app_id = a.id)
FROM tenants_app a
LEFT JOIN cloudcode_cloudactivation c ON c.app_id = a.id
LEFT JOIN cloudcode_cloudversion v ON v.id = c.version_id
WHERE a.id = %s AND a.status = 'active'
"""


def master_caller_of(app_pk: int) -> Caller | None:
    """The master caller of an active app with its active code (``cloud_code`` None without one); None if gone."""
    with connection.cursor() as cursor:
        cursor.execute(_DEPLOYED_CODE_SQL, [app_pk])
        row = cursor.fetchone()
    if row is None:
        return None
    application_id, version_id, number, handlers, stamp = row
    code = None
    if version_id is not None:
        if isinstance(handlers, str):
            handlers = json.loads(handlers)
        code = DeployedCode.from_handlers(
            application_id=application_id, version_id=version_id, version_number=number, handlers=handlers,
            variables_stamp=stamp,
        )  # fmt: skip
    return Caller(app_pk=app_pk, is_master=True, cloud_code=code)


def job_schedules_all() -> list[tuple[int, str, dict[str, Any]]]:
    """Every active app's job schedules as (app pk, objectId, fields), for the scheduler's tick.

    Read on the control plane's connection (the tables' owner, outside row-level
    security): the tick is the one reader that must see every app's schedules.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.app_id, o.object_id, o.data FROM datastore_object o "
            "JOIN tenants_app a ON a.id = o.app_id AND a.status = 'active' "
            "WHERE o.class_name = '_JobSchedule' ORDER BY o.app_id, o.object_id"
        )
        rows = cursor.fetchall()
    return [(pk, object_id, json.loads(data) if isinstance(data, str) else data) for pk, object_id, data in rows]


def release_latest(app_pk: int) -> list[dict[str, Any]]:
    """The active version as Parse's ``/releases/latest`` (the dashboard's Cloud Code page); [] without one.

    ``checksums`` and ``userFiles`` are JSON text, as the dashboard parses them: each file's
    SHA-256, and the version number the file belongs to.
    """
    activation = CloudActivation.objects.filter(app_id=app_pk).select_related("version").first()
    if activation is None:
        return []
    version = activation.version
    with zipfile.ZipFile(BytesIO(bytes(version.archive))) as bundle:
        checksums = {entry.filename: hashlib.sha256(bundle.read(entry)).hexdigest() for entry in bundle.infolist()}
    return [
        {
            "version": version.number,
            "parseVersion": "hangar",
            "timestamp": activation.activated_at.isoformat(),
            "checksums": json.dumps(checksums),
            "userFiles": json.dumps(dict.fromkeys(checksums, version.number)),
        }
    ]


def release_script(app_pk: int, path: str) -> str | None:
    """The text of one file of the active version (``/scripts/<path>``); None if there is no such text file."""
    version = active_version(app_pk)
    if version is None:
        return None
    return bundle_sources(bytes(version.archive)).get(path)
