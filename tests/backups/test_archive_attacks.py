"""A restore reads an archive the caller made: hand-made archives cannot reach another app, plant a
path as a file name, or slip an invalid schema in; each is refused with nothing of the app changed."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from hangar.backups.archive import ArchiveError
from hangar.backups.services import backup_restore_from_file
from hangar.datastore.models import SchemaClass
from tests.conftest import Tenant
from tests.datastore.conftest import ParseApp

pytestmark = pytest.mark.django_db(transaction=True)

GOOD_ROW = 'Note\tn000000001\t{"text":"mine"}\t\\N\t\\N\t2026-01-01 00:00:00+00\t2026-01-01 00:00:00+00\t\\N\n'
SCHEMA = [{
    "class_name": "Note", "indexes": {},
    "fields": {"objectId": {"type": "String"}, "createdAt": {"type": "Date"}, "updatedAt": {"type": "Date"},
               "ACL": {"type": "ACL"}, "text": {"type": "String"}},
    "class_level_permissions": {"find": {"*": True}, "get": {"*": True}},
}]  # fmt: skip


def _archive(path: Path, *, objects: str = GOOD_ROW, state: dict[str, Any] | None = None,
             files: dict[str, bytes] | None = None) -> Path:  # fmt: skip
    state = state or {"schema": SCHEMA, "config": None, "live_query_classes": [], "files": [], "cloud_versions": []}
    with tarfile.open(path, "w") as tar:
        for name, data in {
            "manifest.json": json.dumps({"format": 1}).encode(),
            "state.json": json.dumps(state).encode(),
            "objects.copy.gz": gzip.compress(objects.encode()),
            "relations.copy.gz": gzip.compress(b""),
            **(files or {}),
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


async def _state(app: ParseApp) -> tuple[Any, ...]:
    objects = await app.request("GET", "/classes/Thing", master=True)
    classes = await sync_to_async(
        lambda: sorted(SchemaClass.objects.filter(app=app.tenant.app).values_list("class_name", flat=True))
    )()
    return objects.json(), classes


async def _refused(tenant: Tenant, path: Path, message: str) -> None:
    with pytest.raises(ArchiveError, match=message):
        await sync_to_async(backup_restore_from_file)(app=tenant.app, path=path)


async def test_a_good_hand_made_archive_restores(app_a: ParseApp, tenant_a: Tenant, tmp_path: Path):
    await sync_to_async(backup_restore_from_file)(app=tenant_a.app, path=_archive(tmp_path / "ok.tar"))
    note = await app_a.request("GET", "/classes/Note/n000000001", master=True)
    assert note.json()["text"] == "mine"


async def test_rows_cannot_name_another_app(app_a: ParseApp, app_b: ParseApp, tenant_a: Tenant, tenant_b: Tenant,
                                            tmp_path: Path):  # fmt: skip
    await app_a.request("POST", "/classes/Thing", {"n": 1}, master=True)
    await app_b.request("POST", "/classes/Thing", {"n": 2}, master=True)
    before_a, before_b = await _state(app_a), await _state(app_b)
    # An extra leading column with Bob's app id: COPY refuses the row shape, the whole restore rolls back.
    planted = f"{tenant_b.app.pk}\t{GOOD_ROW}"
    await _refused(tenant_a, _archive(tmp_path / "a.tar", objects=planted), "could not be loaded")
    assert await _state(app_a) == before_a
    assert await _state(app_b) == before_b


async def test_file_names_cannot_be_paths(app_a: ParseApp, tenant_a: Tenant, tmp_path: Path):
    record = {"name": "../../app999/planted.txt", "content_type": "text/plain", "size": 1, "etag": "x"}
    state = {"schema": SCHEMA, "config": None, "files": [record], "cloud_versions": []}
    before = await _state(app_a)
    await _refused(tenant_a, _archive(tmp_path / "f.tar", state=state, files={"files/0": b"x"}), "invalid name")
    assert await _state(app_a) == before


async def test_an_invalid_schema_is_refused(app_a: ParseApp, tenant_a: Tenant, tmp_path: Path):
    bad_field = [{**SCHEMA[0], "fields": {**SCHEMA[0]["fields"], "bad-name'; DROP": {"type": "String"}}}]
    bad_type = [{**SCHEMA[0], "fields": {**SCHEMA[0]["fields"], "x": {"type": "Script"}}}]
    bad_clp = [{**SCHEMA[0], "class_level_permissions": {"find": {"*": "yes"}}}]
    bad_index = [{**SCHEMA[0], "indexes": {"i": {"missing": 1}}}]
    before = await _state(app_a)
    for rows, message in ((bad_field, "invalid field name"), (bad_type, "invalid type"),
                          (bad_clp, "schema is invalid"), (bad_index, "schema is invalid")):  # fmt: skip
        state = {"schema": rows, "config": None, "files": [], "cloud_versions": []}
        await _refused(tenant_a, _archive(tmp_path / "s.tar", state=state), message)
    assert await _state(app_a) == before


async def test_not_a_tar_and_a_wrong_format_are_refused(tenant_a: Tenant, tmp_path: Path):
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"\x00" * 2048 + b"junk")
    await _refused(tenant_a, junk, "not a Hangar backup archive")
    path = _archive(tmp_path / "v2.tar")
    with tarfile.open(path) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    members["manifest.json"] = json.dumps({"format": 2}).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    await _refused(tenant_a, path, "unsupported backup format 2")
