"""A Parse Server app turned into a Hangar backup archive, which ``hangar import parse`` restores.

Two sources: the PostgreSQL database Parse Server's Postgres adapter wrote (one table per
class, ``_SCHEMA``, ``_Join:<field>:<class>`` tables for relations, ``_GlobalConfig``), or a
directory of Parse JSON exports (``<Class>.json``, each ``{"results": [...]}`` or a list).
The conversion runs here, on the developer's machine, so the server never connects to a
database a tenant names. Users keep their passwords: Parse's bcrypt hashes
(``_hashed_password``, or ``bcryptPassword`` in parse.com exports) go over as they are and
Hangar verifies them at login. Sessions come along too (unless ``--no-sessions``), so users
logged in on Parse stay logged in: Parse's ``_Session`` rows keep their token, user, expiry
and ``createdWith``, but the token is stored only as Hangar stores its own, a SHA-256 digest
(``_session_token_hash``, hangar.identity.sessions), and the row is readable and writable by
its user only. ``_PushStatus`` and ``_JobStatus`` rows (push and job history) come along as
they are; Parse keeps those two out of ``_SCHEMA``, so their fields are Parse's defaults.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import mimetypes
import re
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FORMAT = 1
# Parse's system classes Hangar keeps; the rest (_Hooks, _Idempotency, _GraphQLConfig, _GlobalConfig
# as a class) are Parse Server's own bookkeeping.
IMPORTED_SYSTEM_CLASSES = (
    "_User", "_Role", "_Installation", "_Audience", "_JobSchedule", "_Session", "_PushStatus", "_JobStatus",
)  # fmt: skip
# Parse Server's columns of the classes it keeps out of _SCHEMA ("volatile" classes; Parse Server's
# SchemaController.defaultColumns), and of _Session, which may be missing from it too.
PARSE_DEFAULT_FIELDS: dict[str, dict[str, dict[str, Any]]] = {
    "_Session": {
        "restricted": {"type": "Boolean"}, "user": {"type": "Pointer", "targetClass": "_User"},
        "installationId": {"type": "String"}, "sessionToken": {"type": "String"}, "expiresAt": {"type": "Date"},
        "createdWith": {"type": "Object"},
    },
    "_PushStatus": {
        "pushTime": {"type": "String"}, "source": {"type": "String"}, "query": {"type": "String"},
        "payload": {"type": "String"}, "title": {"type": "String"}, "expiry": {"type": "Number"},
        "expiration_interval": {"type": "Number"}, "status": {"type": "String"}, "numSent": {"type": "Number"},
        "numFailed": {"type": "Number"}, "pushHash": {"type": "String"}, "errorMessage": {"type": "Object"},
        "sentPerType": {"type": "Object"}, "failedPerType": {"type": "Object"},
        "sentPerUTCOffset": {"type": "Object"}, "failedPerUTCOffset": {"type": "Object"}, "count": {"type": "Number"},
    },
    "_JobStatus": {
        "jobName": {"type": "String"}, "source": {"type": "String"}, "status": {"type": "String"},
        "message": {"type": "String"}, "params": {"type": "Object"}, "finishedAt": {"type": "Date"},
    },
}  # fmt: skip
TYPES = {"String", "Number", "Boolean", "Date", "Object", "Array", "Pointer", "Relation", "File", "GeoPoint",
         "Polygon", "Bytes"}  # fmt: skip
BUILTIN = {"objectId": {"type": "String"}, "createdAt": {"type": "Date"}, "updatedAt": {"type": "Date"},
           "ACL": {"type": "ACL"}}  # fmt: skip
CLP_KEYS = {"find", "count", "get", "create", "update", "delete", "addField", "readUserFields", "writeUserFields",
            "protectedFields"}  # fmt: skip
_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_CLASS = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_POINT = re.compile(r"\(\s*([-0-9.eE+]+)\s*,\s*([-0-9.eE+]+)\s*\)")


class ImportSourceError(ValueError):
    """The source is not a Parse Server database or export this importer understands."""


@dataclass
class ParseApp:
    classes: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {fields, clp, indexes}
    config: dict[str, Any] | None = None
    relations: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def wanted_class(name: str, *, sessions: bool = True) -> bool:
    if name == "_Session":
        return sessions
    return bool(_CLASS.fullmatch(name)) if not name.startswith("_") else name in IMPORTED_SYSTEM_CLASSES


def session_fields(data: dict[str, Any]) -> list[str] | None:
    """A Parse session as Hangar keeps one: the token as its digest only; returns its user id (None: no user or
    no token, a session nobody could use, left out).

    The digest is hangar.identity.sessions.session_token_hash: SHA-256 of the token, in hex.
    """
    token, user = data.pop("sessionToken", None), data.get("user")
    if not isinstance(token, str) or not token or not isinstance(user, dict) or not user.get("objectId"):
        return None
    data["_session_token_hash"] = hashlib.sha256(token.encode()).hexdigest()
    return [str(user["objectId"])]


def iso_date(value: datetime | str) -> dict[str, str]:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"__type": "Date", "iso": text}


def acl_from_permissions(read: list[str] | None, write: list[str] | None) -> dict[str, Any] | None:
    if read is None and write is None:
        return None
    acl: dict[str, dict[str, bool]] = {}
    for principal in read or []:
        acl.setdefault(principal, {})["read"] = True
    for principal in write or []:
        acl.setdefault(principal, {})["write"] = True
    return acl


def permissions_from_acl(acl: Any) -> tuple[list[str] | None, list[str] | None]:
    if not isinstance(acl, dict):
        return None, None
    read = sorted(p for p, rule in acl.items() if isinstance(rule, dict) and rule.get("read"))
    write = sorted(p for p, rule in acl.items() if isinstance(rule, dict) and rule.get("write"))
    return read, write


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 2**53 else value


def _points(text: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in _POINT.findall(text)]


def column_value(spec: dict[str, Any], value: Any) -> Any:
    """A value of a Parse Postgres column in Hangar's stored (wire) encoding (docs/datastore.md)."""
    kind = spec.get("type")
    if kind == "Date":
        return iso_date(value)
    if kind == "Pointer":
        return {"__type": "Pointer", "className": spec["targetClass"], "objectId": value}
    if kind == "File":
        return {"__type": "File", "name": value}
    if kind == "GeoPoint":  # Parse stores point(longitude, latitude)
        (longitude, latitude), *_ = _points(str(value))
        return {"__type": "GeoPoint", "latitude": latitude, "longitude": longitude}
    if kind == "Polygon":  # Parse stores each [lat, lng] as (lng, lat)
        return {"__type": "Polygon", "coordinates": [[y, x] for x, y in _points(str(value))]}
    if kind == "Number":
        return _number(value)
    return value


def clean_fields(fields: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, spec in fields.items():
        if name in BUILTIN or not _FIELD.fullmatch(name) or not isinstance(spec, dict):
            continue
        if spec.get("type") in TYPES:
            out[name] = {k: spec[k] for k in ("type", "targetClass", "required", "defaultValue") if k in spec}
    return out


def clean_clp(clp: Any) -> dict[str, Any] | None:
    if not isinstance(clp, dict):
        return None
    return {key: value for key, value in clp.items() if key in CLP_KEYS}


def clean_indexes(indexes: Any, fields: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(indexes, dict):
        return {}
    return {
        name: key for name, key in indexes.items()
        if name != "_id_" and isinstance(key, dict) and key and all(k in fields for k in key)
    }  # fmt: skip


# COPY text format (https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2)
def _copy_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_array(items: list[str] | None) -> str:
    if items is None:
        return "\\N"
    quoted = ",".join('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items)
    return _copy_text("{" + quoted + "}")


def copy_row(
    class_name: str, object_id: str, data: dict[str, Any], read: list[str] | None, write: list[str] | None,
    created: dict[str, str], updated: dict[str, str],
) -> bytes:  # fmt: skip
    fields = [
        _copy_text(class_name), _copy_text(object_id), _copy_text(json.dumps(data, separators=(",", ":"))),
        _copy_array(read), _copy_array(write), created["iso"], updated["iso"], "\\N",
    ]  # fmt: skip
    return ("\t".join(fields) + "\n").encode()


def _schema_row(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"class_name": name, "fields": {**BUILTIN, **spec["fields"]}, "indexes": spec["indexes"]}
    clp = spec.get("clp")
    if clp is None:
        # Public, but for what only the master key may do in a system class (as Hangar's own CLP shows it;
        # hangar.datastore.system_classes enforces it whatever the CLP says).
        master_only = _MASTER_ONLY.get(name, ())
        clp = {op: ({} if op in master_only else {"*": True}) for op in _OPERATIONS}
    row["class_level_permissions"] = clp
    return row


_OPERATIONS = ("find", "count", "get", "create", "update", "delete", "addField")
_MASTER_ONLY = {"_Session": ("create", "addField"), "_PushStatus": _OPERATIONS, "_JobStatus": _OPERATIONS}


def archive_build(
    app: ParseApp, objects: Iterator[bytes], target: Path, after_objects: Callable[[], None] = lambda: None
) -> dict[str, int]:
    """Write ``target`` in Hangar's backup format 1 (hangar.backups.archive) from converted rows."""
    objects_gz, relations_gz = tempfile.TemporaryFile(), io.BytesIO()
    count = 0
    with gzip.GzipFile(fileobj=objects_gz, mode="wb", compresslevel=1) as out:
        for row in objects:
            out.write(row)
            count += 1
    after_objects()  # the files the objects name are known now
    with gzip.GzipFile(fileobj=relations_gz, mode="wb", compresslevel=1) as out:
        for relation in app.relations:
            out.write(("\t".join(_copy_text(part) for part in relation) + "\n").encode())
    names = sorted(app.files)
    state = {
        "schema": [_schema_row(name, spec) for name, spec in sorted(app.classes.items())],
        "config": app.config,
        "live_query_classes": [],
        "files": [
            {"name": name, "backend": "import", "size": len(app.files[name]), "metadata": {}, "tags": {},
             "content_type": mimetypes.guess_type(name)[0] or "application/octet-stream",
             "etag": hashlib.md5(app.files[name], usedforsecurity=False).hexdigest()}
            for name in names
        ],
        "cloud_versions": [],
    }  # fmt: skip
    counts = {"objects": count, "relations": len(app.relations), "files": len(names), "cloud_versions": 0}
    with tarfile.open(target, "w") as tar:
        info = tarfile.TarInfo("objects.copy.gz")
        info.size, info.mode = objects_gz.tell(), 0o600
        objects_gz.seek(0)
        tar.addfile(info, objects_gz)
        objects_gz.close()
        _add(tar, "relations.copy.gz", relations_gz.getvalue())
        for index, name in enumerate(names):
            _add(tar, f"files/{index}", app.files[name])
        _add(tar, "state.json", json.dumps(state).encode())
        _add(tar, "manifest.json", json.dumps({"format": FORMAT, "source": "parse", "counts": counts}).encode())
    target.chmod(0o600)
    return counts


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def files_collect(app: ParseApp, names: set[str], files_dir: Path | None) -> list[str]:
    """Read the referenced files from Parse's files directory; returns the names not found there."""
    missing = []
    for name in sorted(names):
        path = files_dir / name if files_dir else None
        if path is not None and "/" not in name and path.is_file():
            app.files[name] = path.read_bytes()
        else:
            missing.append(name)
    return missing


def _files_in(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        if value.get("__type") == "File" and isinstance(value.get("name"), str):
            found.add(value["name"])
        else:
            for item in value.values():
                _files_in(item, found)
    elif isinstance(value, list):
        for item in value:
            _files_in(item, found)


def user_fields(data: dict[str, Any], columns: dict[str, Any]) -> None:
    """_User's hidden columns: the bcrypt hash, and authData kept per provider (``_auth_data_<provider>``)."""
    if columns.get("_hashed_password"):
        data["_hashed_password"] = columns["_hashed_password"]
    auth = {key[len("_auth_data_"):]: value for key, value in columns.items()
            if key.startswith("_auth_data_") and value is not None}  # fmt: skip
    if auth:
        data["authData"] = auth
