"""Loading a backup archive into an app, replacing what it holds.

Objects, relations, schema rows, Parse Config, file records, cloud-code versions and
variables are replaced in one transaction on the control-plane connection (COPY into the
app's own partitions); the files' bytes are written to storage first, under the target
app's keys. The old rows are deleted, not truncated, and nothing takes a table lock: the
app's readers go on reading the old content (MVCC) until the commit switches them to the
new one at once, and a restore that fails or whose worker dies rolls back whole. The
transaction holds the app's schema-change lock (hangar.schema_history), so no push or
rollback interleaves. After the commit, index DDL runs (it cannot run in a transaction) and
every process is told that the app's schema, keys and code changed, and that its sessions
and roles did.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from asgiref.sync import async_to_sync
from django.db import DatabaseError, connection, transaction

from hangar.backups.archive import OBJECT_COLUMNS, RELATION_COLUMNS, ArchiveError, OpenArchive, Progress
from hangar.cloudcode.models import CloudActivation, CloudVariable, CloudVersion
from hangar.datastore.class_rules import class_rules
from hangar.datastore.clp import clp_validate
from hangar.datastore.indexes import create_statement, index_sql_name, indexes_build, indexes_drop
from hangar.datastore.models import ParseConfig, SchemaClass
from hangar.datastore.names import SYSTEM_FIELDS, is_valid_field_name, validate_class_name
from hangar.datastore.partitions import object_partition, relation_partition
from hangar.datastore.schema_registry import schema_changed
from hangar.datastore.system_classes import SYSTEM_CLASS_FIELDS, system_class_permissions, system_class_schema
from hangar.datastore.values import TYPES
from hangar.files.adapters import current_backend, storage_for
from hangar.files.models import FileUsage, StoredFile
from hangar.files.names import is_active
from hangar.files.selectors import storage_key
from hangar.invalidation import publish_app_changed_on_commit
from hangar.parse_errors import ParseError
from hangar.schema_history.recording import LOCK_NAMESPACE as SCHEMA_LOCK_NAMESPACE
from hangar.secretbox import SecretDecryptionError, decrypt_secret
from tenants.models import App

# A stored file's name as the files service makes them (hangar.files.names): never a path.
_FILE_NAME = re.compile(r"[_a-zA-Z0-9][a-zA-Z0-9@. ~_-]{0,199}")


@dataclass
class Restored:
    counts: dict[str, int]
    failed_indexes: list[str]
    skipped_variables: list[str] = field(default_factory=list)


def _with_app_id(app_pk: int, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """COPY rows without an app id, each prefixed with ``app_pk``: rows end at a newline (COPY text escapes
    newlines inside values), so whole lines are rewritten with one C-level replace per block."""
    prefix = f"{int(app_pk)}\t".encode()
    joined = b"\n" + prefix
    rest = b""
    for chunk in chunks:
        block = rest + chunk
        end = block.rfind(b"\n") + 1
        rest = block[end:]
        if end:
            yield prefix + block[: end - 1].replace(b"\n", joined) + b"\n"
    if rest:
        yield prefix + rest


def _copy_in(table: str, columns: str, app_pk: int, chunks: Iterator[bytes], part: str, progress: Progress) -> int:
    """Replace the app's rows in its partition: DELETE (row versions: readers keep the old ones until the commit)
    then COPY, with the app id added to each row."""
    rows = 0
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")
        raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no COPY
        with raw.copy(f"COPY {table} (app_id, {columns}) FROM STDIN") as copy:
            for chunk in _with_app_id(app_pk, chunks):
                copy.write(chunk)
                rows += chunk.count(b"\n")
                progress(part, rows)
    return rows


def _field_checked(class_name: str, name: Any, spec: Any) -> None:
    if not isinstance(name, str) or not (name in SYSTEM_FIELDS or is_valid_field_name(name)):
        raise ArchiveError(f"the archive's schema has an invalid field name in {class_name}: {name!r}")
    if not isinstance(spec, dict) or spec.get("type") not in TYPES:
        raise ArchiveError(f"the archive's schema has an invalid type for {class_name}.{name}")
    if spec["type"] in {"Pointer", "Relation"}:
        validate_class_name(str(spec.get("targetClass")))


def schema_rows_checked(rows: Any) -> list[dict[str, Any]]:
    """The archive's schema rows, validated as /schemas would (an archive is input like any other),
    with every system class the app must have."""
    if not isinstance(rows, list):
        raise ArchiveError("the archive's schema is not a list")
    checked: dict[str, dict[str, Any]] = {}
    try:
        for row in rows:
            class_name = validate_class_name(str(row["class_name"]))
            fields = row["fields"]
            if not isinstance(fields, dict):
                raise ArchiveError(f"the archive's schema of {class_name} has no fields object")
            for name, spec in fields.items():
                _field_checked(class_name, name, spec)
            clp = clp_validate(row["class_level_permissions"], fields)
            indexes = row.get("indexes") or {}
            for name, key in indexes.items():
                create_statement(0, class_name, name, key, fields)
            checked[class_name] = {"class_name": class_name, "fields": fields, "class_level_permissions": clp,
                                   "indexes": indexes}  # fmt: skip
    except ParseError as exc:
        raise ArchiveError(f"the archive's schema is invalid: {exc.message}") from exc
    except (KeyError, TypeError, AttributeError) as exc:
        raise ArchiveError("the archive's schema rows are damaged") from exc
    for class_name, row in checked.items():
        if class_name in SYSTEM_CLASS_FIELDS:  # its built-in fields are not the archive's to take away
            row["fields"] = {**system_class_schema(class_name), **row["fields"]}
    for class_name in SYSTEM_CLASS_FIELDS:
        checked.setdefault(class_name, {
            "class_name": class_name, "fields": system_class_schema(class_name),
            "class_level_permissions": system_class_permissions(class_name), "indexes": {},
        })  # fmt: skip
    return list(checked.values())


def _schema_replace(app: App, rows: list[dict[str, Any]]) -> tuple[list[str], dict[str, dict[str, str]]]:
    """New schema rows; returns the old index names to drop and the new indexes to build."""
    old = [
        index_sql_name(app.pk, row.class_name, name)
        for row in SchemaClass.objects.filter(app=app)
        for name in (row.indexes or {})
    ]
    SchemaClass.objects.filter(app=app).delete()
    SchemaClass.objects.bulk_create(
        SchemaClass(app=app, class_name=row["class_name"], fields=row["fields"],
                    class_level_permissions=row["class_level_permissions"], indexes=row["indexes"] or {})
        for row in rows
    )  # fmt: skip
    builds = {
        row["class_name"]: {
            name: create_statement(app.pk, row["class_name"], name, key, row["fields"])
            for name, key in (row["indexes"] or {}).items()
        }
        for row in rows
        if row["indexes"]
    }
    return old, builds


def _files_replace(app: App, archive: OpenArchive, progress: Progress) -> tuple[int, list[tuple[str, str]]]:
    """Store the archive's files under the app; returns the count and the replaced files to remove after commit."""
    backend = current_backend()
    storage = storage_for(backend)
    records = archive.state.get("files") or []
    for record in records:
        if not isinstance(record, dict) or not _FILE_NAME.fullmatch(str(record.get("name", ""))):
            raise ArchiveError("the archive lists a file with an invalid name")
    kept = {record["name"] for record in records}
    stale = [(row.backend, row.name) for row in StoredFile.objects.filter(app=app) if row.name not in kept]
    StoredFile.objects.filter(app=app).delete()
    total = 0
    for index, record in enumerate(records):
        stream = archive.file_stream(index)
        size = archive.tar.getmember(f"files/{index}").size
        storage.save(
            storage_key(app.pk, record["name"]), stream, content_type=record["content_type"],
            attachment=is_active(record["content_type"], record["name"]),
        )  # fmt: skip
        StoredFile.objects.create(
            app=app, name=record["name"], backend=backend, content_type=record["content_type"], size=size,
            etag=record["etag"], metadata=record.get("metadata") or {}, tags=record.get("tags") or {},
        )  # fmt: skip
        total += size
        progress("files", index + 1)
    FileUsage.objects.update_or_create(app=app, defaults={"bytes": total, "count": len(records)})
    return len(records), stale


def _cloud_replace(app: App, archive: OpenArchive) -> int:
    versions = archive.state.get("cloud_versions") or []
    CloudActivation.objects.filter(app=app).delete()
    CloudVersion.objects.filter(app=app).delete()
    active = None
    for row in versions:
        version = CloudVersion.objects.create(
            app=app, number=row["number"], archive=archive.cloud_bundle(row["number"]), sha256=row["sha256"],
            size=row["size"], handlers=row["handlers"], note=row["note"], created_by=row["created_by"],
        )  # fmt: skip
        if row.get("active"):
            active = version
    if active is not None:
        CloudActivation.objects.create(app=app, version=active)
    return len(versions)


def _variables_replace(app: App, rows: Any) -> list[str]:
    """The archive's cloud-code variables, still encrypted; returns the names this deployment cannot open.

    A variable's ciphertext is kept as it is (hangar.secretbox: the deployment's
    HANGAR_ENCRYPTION_KEYS), so a backup never holds a secret in clear, and only a deployment
    holding one of the keys that sealed it can restore it: another one skips it (and says so).
    """
    if not isinstance(rows, list):
        raise ArchiveError("the archive's cloud-code variables are damaged")
    CloudVariable.objects.filter(app=app).delete()
    skipped = []
    for row in rows:
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("name"), str)
            or not isinstance(row.get("ciphertext"), str)
        ):
            raise ArchiveError("the archive's cloud-code variables are damaged")
        try:
            decrypt_secret(row["ciphertext"])
        except SecretDecryptionError:
            skipped.append(row["name"])
            continue
        CloudVariable.objects.create(
            app=app, name=row["name"][:128], ciphertext=row["ciphertext"], is_secret=bool(row.get("is_secret"))
        )
    return skipped


def _config_replace(app: App, config: dict[str, Any] | None) -> None:
    ParseConfig.objects.filter(app=app).delete()
    if config:
        ParseConfig.objects.create(app=app, params=config["params"], master_key_only=config["master_key_only"])


async def _after_commit(app_pk: int, dropped: list[str], builds: dict[str, dict[str, str]]) -> list[str]:
    await indexes_drop(dropped)
    failed = []
    for class_name, statements in builds.items():
        failed += [f"{class_name}.{name}" for name in await indexes_build(app_pk, class_name, statements)]
    await schema_changed(app_pk)
    for class_name in ("_Session", "_Role", "_User"):
        await class_rules(class_name).changed(app_pk)
    return failed


def archive_restore(
    *, app: App, archive: OpenArchive, progress: Progress, inside: Callable[[Restored], None] | None = None
) -> Restored:
    """Replace everything the app holds with the archive's content; a damaged archive changes nothing.

    ``inside(restored)`` runs last inside the restore's transaction (a restore job marks itself done there).
    """
    schema_rows = schema_rows_checked(archive.state.get("schema"))
    try:
        return _restore(app, archive, schema_rows, progress, inside)
    except ArchiveError:
        raise
    except (psycopg.Error, DatabaseError) as exc:
        # COPY refused a row (damaged or hand-made data): the transaction rolled back, nothing changed.
        raise ArchiveError(f"the archive's rows could not be loaded: {str(exc).splitlines()[0]}") from exc
    except (KeyError, TypeError, ValueError, EOFError, OSError) as exc:
        raise ArchiveError(f"the archive is damaged: {exc}") from exc


def _restore(
    app: App, archive: OpenArchive, schema_rows: list[dict[str, Any]], progress: Progress,
    inside: Callable[[Restored], None] | None,
) -> Restored:  # fmt: skip
    restored = Restored({}, [])
    counts = restored.counts
    with transaction.atomic():
        app = App.objects.select_for_update(no_key=True).get(pk=app.pk)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 0")
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SCHEMA_LOCK_NAMESPACE, app.pk])
        counts["objects"] = _copy_in(
            object_partition(app.pk), OBJECT_COLUMNS, app.pk, archive.copy_chunks("objects.copy.gz"), "objects",
            progress,
        )  # fmt: skip
        counts["relations"] = _copy_in(
            relation_partition(app.pk), RELATION_COLUMNS, app.pk, archive.copy_chunks("relations.copy.gz"),
            "relations", progress,
        )  # fmt: skip
        dropped, builds = _schema_replace(app, schema_rows)
        _config_replace(app, archive.state.get("config"))
        App.objects.filter(pk=app.pk).update(live_query_classes=archive.state.get("live_query_classes") or [])
        counts["files"], stale = _files_replace(app, archive, progress)
        counts["cloud_versions"] = _cloud_replace(app, archive)
        restored.skipped_variables = _variables_replace(app, archive.state.get("cloud_variables") or [])
        counts["cloud_variables"] = len(archive.state.get("cloud_variables") or []) - len(restored.skipped_variables)
        if inside is not None:
            inside(restored)
        publish_app_changed_on_commit(app.application_id)
    for backend, name in stale:
        try:
            storage_for(backend).delete(storage_key(app.pk, name))
        except Exception:  # noqa: S110 - a leftover file is harmless; its record is gone
            pass
    restored.failed_indexes = async_to_sync(_after_commit)(app.pk, dropped, builds)
    return restored
