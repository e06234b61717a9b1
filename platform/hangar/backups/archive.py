"""The backup archive: writing an app into one tar file, and reading one back into an app.

Layout (``FORMAT`` 1)::

    manifest.json        format, app, counts, when
    objects.copy.gz      the app's objects in PostgreSQL's COPY text format, gzip level 1
    relations.copy.gz    its Relation rows, the same way
    state.json           schema rows, Parse Config, LiveQuery classes, file records, cloud-code versions
                         (which one is active) and variables (encrypted, as stored)
    files/<n>            each stored file's bytes (the n-th record of state.json's files)
    cloud/<number>.zip   each cloud-code version's bundle

Objects and relations are COPYed on the app's own partition, the fastest path PostgreSQL
has (the same as ``pg_dump`` of those rows); password hashes are inside the ``_User``
objects' data, so users keep logging in after a restore. Sessions are left out unless
asked for. The writer reads everything in one REPEATABLE READ snapshot.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

import psycopg
from django.db import connection

from hangar.datastore.partitions import object_partition, relation_partition

FORMAT = 1
OBJECT_COLUMNS = "class_name, object_id, data, _rperm, _wperm, created_at, updated_at, expire_at"
RELATION_COLUMNS = "owner_class, owner_id, key, related_class, related_id"
PROGRESS_EVERY_ROWS = 50_000
_BLOCK_BYTES = 1 << 20
Progress = Callable[[str, int], None]


class ArchiveError(ValueError):
    """Not a Hangar backup archive of a format this Hangar reads, or a damaged one."""


@dataclass
class Written:
    path: Path
    counts: dict[str, int] = field(default_factory=dict)


@contextmanager
def snapshot_connection() -> Iterator[psycopg.Connection[Any]]:
    """A connection of its own in a REPEATABLE READ, read-only transaction: one consistent view of the app."""
    connection.ensure_connection()
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=False) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        conn.execute("SET LOCAL statement_timeout = 0")
        yield conn


def _copy_out(conn: psycopg.Connection[Any], query: str, target: gzip.GzipFile, part: str, progress: Progress) -> int:
    """COPY the query's rows into ``target``; returns how many.

    libpq hands COPY data over one row at a time: the rows are gathered into blocks of about
    a megabyte before they are counted and compressed, so the per-row Python work is one append.
    """
    rows, reported = 0, 0
    block = bytearray()
    with conn.cursor() as cursor, cursor.copy(query) as copy:
        for chunk in copy:
            block += chunk
            if len(block) >= _BLOCK_BYTES:
                rows += block.count(b"\n")  # COPY text escapes newlines inside values: one per row
                target.write(block)
                block.clear()
                if rows - reported >= PROGRESS_EVERY_ROWS:
                    progress(part, rows)
                    reported = rows
    rows += block.count(b"\n")
    target.write(block)
    progress(part, rows)
    return rows


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> None:
    tar.add(str(path), arcname=name, recursive=False)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def _add_stream(tar: tarfile.TarFile, name: str, chunks: Iterator[bytes]) -> None:
    """A stored file into the tar without holding it whole: spooled to disk past a few megabytes."""
    with tempfile.SpooledTemporaryFile(max_size=_BLOCK_BYTES * 4) as spool:
        for chunk in chunks:
            spool.write(chunk)
        info = tarfile.TarInfo(name)
        info.size, info.mode = spool.tell(), 0o600
        spool.seek(0)
        tar.addfile(info, spool)


def _rows(conn: psycopg.Connection[Any], query: str, params: list[Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())


def _state(conn: psycopg.Connection[Any], app_pk: int) -> dict[str, Any]:
    schema = _rows(
        conn, "SELECT class_name, fields, class_level_permissions, indexes FROM datastore_schemaclass "
        "WHERE app_id = %s ORDER BY class_name", [app_pk],
    )  # fmt: skip
    config = _rows(conn, "SELECT params, master_key_only FROM datastore_parseconfig WHERE app_id = %s", [app_pk])
    app = _rows(conn, "SELECT name, application_id, live_query_classes FROM tenants_app WHERE id = %s", [app_pk])
    files = _rows(
        conn, "SELECT name, backend, content_type, size, etag, metadata, tags FROM files_storedfile "
        "WHERE app_id = %s ORDER BY id", [app_pk],
    )  # fmt: skip
    versions = _rows(
        conn, "SELECT v.number, v.sha256, v.size, v.handlers, v.note, v.created_by, "
        "(a.version_id = v.id) AS active FROM cloudcode_cloudversion v "
        "LEFT JOIN cloudcode_cloudactivation a ON a.app_id = v.app_id WHERE v.app_id = %s ORDER BY v.number",
        [app_pk],
    )  # fmt: skip
    variables = _rows(
        conn, "SELECT name, ciphertext, is_secret FROM cloudcode_cloudvariable WHERE app_id = %s ORDER BY name",
        [app_pk],
    )  # fmt: skip
    return {
        "schema": schema,
        "config": config[0] if config else None,
        "live_query_classes": app[0]["live_query_classes"] if app else [],
        "files": files,
        "cloud_versions": [{**row, "active": bool(row["active"])} for row in versions],
        # Encrypted as stored (hangar.secretbox): only a deployment with the same key can restore them.
        "cloud_variables": variables,
    }


def archive_write(
    *, app_pk: int, include_sessions: bool, work_dir: Path, progress: Progress,
    file_reader: Callable[[str, str, int], Iterator[bytes]],
) -> Written:  # fmt: skip
    """Write the app into ``work_dir/backup.tar``; ``file_reader(backend, name, size)`` yields a file's bytes."""
    written = Written(work_dir / "backup.tar")
    where = "" if include_sessions else " WHERE class_name <> '_Session'"
    with snapshot_connection() as conn:
        objects_path, relations_path = work_dir / "objects.copy.gz", work_dir / "relations.copy.gz"
        with gzip.open(objects_path, "wb", compresslevel=1) as out:
            query = f"COPY (SELECT {OBJECT_COLUMNS} FROM {object_partition(app_pk)}{where}) TO STDOUT"
            written.counts["objects"] = _copy_out(conn, query, out, "objects", progress)
        with gzip.open(relations_path, "wb", compresslevel=1) as out:
            query = f"COPY (SELECT {RELATION_COLUMNS} FROM {relation_partition(app_pk)}) TO STDOUT"
            written.counts["relations"] = _copy_out(conn, query, out, "relations", progress)
        state = _state(conn, app_pk)
        with tarfile.open(written.path, "w") as tar:
            _add_file(tar, "objects.copy.gz", objects_path)
            _add_file(tar, "relations.copy.gz", relations_path)
            for index, record in enumerate(state["files"]):
                _add_stream(tar, f"files/{index}", file_reader(record["backend"], record["name"], record["size"]))
                progress("files", index + 1)
            for row in _rows(conn, "SELECT number, archive FROM cloudcode_cloudversion WHERE app_id = %s", [app_pk]):
                _add_bytes(tar, f"cloud/{row['number']}.zip", bytes(row["archive"]))
            written.counts.update(
                files=len(state["files"]), cloud_versions=len(state["cloud_versions"]),
                cloud_variables=len(state["cloud_variables"]),
            )  # fmt: skip
            _add_bytes(tar, "state.json", json.dumps(state, default=str).encode())
            manifest = {"format": FORMAT, "include_sessions": include_sessions, "counts": written.counts}
            _add_bytes(tar, "manifest.json", json.dumps(manifest).encode())
        objects_path.unlink()
        relations_path.unlink()
    return written


@dataclass
class OpenArchive:
    tar: tarfile.TarFile
    manifest: dict[str, Any]
    state: dict[str, Any]

    def member(self, name: str) -> IO[bytes]:
        try:
            handle = self.tar.extractfile(name)
        except KeyError as exc:
            raise ArchiveError(f"the archive has no {name}") from exc
        if handle is None:
            raise ArchiveError(f"{name} in the archive is not a file")
        return handle

    def file_stream(self, index: int) -> BinaryIO:
        """A stored file's bytes as a stream (read from the tar as they are needed)."""
        return cast(BinaryIO, self.member(f"files/{index}"))  # tarfile's ExFileObject is a binary reader

    def cloud_bundle(self, number: int) -> bytes:
        return self.member(f"cloud/{number}.zip").read()

    def copy_chunks(self, name: str) -> Iterator[bytes]:
        with gzip.GzipFile(fileobj=self.member(name)) as stream:
            while chunk := stream.read(1 << 20):
                yield chunk


def archive_open(path: Path) -> OpenArchive:
    try:
        tar = tarfile.open(path, "r:")
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        state = json.loads(tar.extractfile("state.json").read())  # type: ignore[union-attr]
    except (tarfile.TarError, KeyError, AttributeError, ValueError, OSError) as exc:
        raise ArchiveError("not a Hangar backup archive (a tar with manifest.json and state.json)") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"unsupported backup format {manifest.get('format') if isinstance(manifest, dict) else '?'}")
    if not isinstance(state, dict) or not isinstance(state.get("schema"), list):
        raise ArchiveError("the archive's state.json is damaged")
    return OpenArchive(tar, manifest, state)
