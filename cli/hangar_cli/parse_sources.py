"""Reading a Parse Server app: from its Postgres adapter's database, or from JSON exports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hangar_cli.parse_import import (
    BUILTIN,
    PARSE_DEFAULT_FIELDS,
    ImportSourceError,
    ParseApp,
    _files_in,
    acl_from_permissions,
    clean_clp,
    clean_fields,
    clean_indexes,
    column_value,
    copy_row,
    iso_date,
    permissions_from_acl,
    session_fields,
    user_fields,
    wanted_class,
)

BATCH_ROWS = 5000


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class ParsePostgresSource:
    """Parse Server's Postgres adapter layout, read in one REPEATABLE READ snapshot."""

    def __init__(self, database_url: str, *, sessions: bool = True) -> None:
        import psycopg
        from psycopg.rows import dict_row

        self.sessions = sessions
        try:
            self.conn = psycopg.connect(database_url, row_factory=dict_row, connect_timeout=10)
        except psycopg.Error as exc:
            raise ImportSourceError(f"cannot connect to the Parse database: {exc}") from exc
        self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    def app(self) -> ParseApp:
        import psycopg

        app = ParseApp()
        try:
            rows = self.conn.execute('SELECT "className", "schema" FROM "_SCHEMA"').fetchall()
        except psycopg.Error as exc:
            raise ImportSourceError(
                "no _SCHEMA table: not a database written by Parse Server's Postgres adapter"
            ) from exc
        for row in rows:
            name, schema = row["className"], row["schema"] or {}
            if not wanted_class(name, sessions=self.sessions):
                continue
            fields = clean_fields({**PARSE_DEFAULT_FIELDS.get(name, {}), **(schema.get("fields") or {})})
            app.classes[name] = {
                "fields": fields, "clp": clean_clp(schema.get("classLevelPermissions")),
                "indexes": clean_indexes(schema.get("indexes"), fields),
            }  # fmt: skip
        self._volatile_classes(app)
        config = self.conn.execute("SELECT to_regclass('\"_GlobalConfig\"') AS t").fetchone()
        if config and config["t"]:
            found = self.conn.execute('SELECT params, "masterKeyOnly" FROM "_GlobalConfig" LIMIT 1').fetchone()
            if found:
                app.config = {"params": found["params"] or {}, "master_key_only": found["masterKeyOnly"] or {}}
        for owner, spec in app.classes.items():
            for key, field_spec in spec["fields"].items():
                if field_spec["type"] == "Relation":
                    table = _quoted(f"_Join:{key}:{owner}")
                    exists = self.conn.execute("SELECT to_regclass(%s) AS t", [table]).fetchone()
                    if exists and exists["t"]:
                        for link in self.conn.execute(f'SELECT "owningId", "relatedId" FROM {table}'):
                            app.relations.append(
                                (owner, link["owningId"], key, field_spec["targetClass"], link["relatedId"])
                            )
        return app

    def _volatile_classes(self, app: ParseApp) -> None:
        """Classes Parse writes without a _SCHEMA row (_PushStatus, _JobStatus): their tables, with Parse's columns."""
        for name, fields in PARSE_DEFAULT_FIELDS.items():
            if name in app.classes or not wanted_class(name, sessions=self.sessions):
                continue
            exists = self.conn.execute("SELECT to_regclass(%s) AS t", [_quoted(name)]).fetchone()
            if exists and exists["t"]:
                app.classes[name] = {"fields": clean_fields(fields), "clp": None, "indexes": {}}

    def objects(self, app: ParseApp, files: set[str]) -> Iterator[bytes]:
        for name, spec in app.classes.items():
            count = 0
            with self.conn.cursor(name=f"import_{len(name)}_{abs(hash(name))}") as cursor:
                cursor.execute(f"SELECT * FROM {_quoted(name)}")
                while batch := cursor.fetchmany(BATCH_ROWS):
                    for columns in batch:
                        row = self._row(name, spec["fields"], columns, files)
                        if row is not None:
                            yield row
                            count += 1
            app.counts[name] = count

    @staticmethod
    def _row(name: str, fields: dict[str, Any], columns: dict[str, Any], files: set[str]) -> bytes | None:
        data: dict[str, Any] = {}
        for key, value in columns.items():
            spec = fields.get(key)
            if value is None or spec is None or spec["type"] == "Relation":
                continue
            data[key] = column_value(spec, value)
        read, write = columns.get("_rperm"), columns.get("_wperm")
        if name == "_User":
            user_fields(data, columns)
        if name == "_Session":
            owner = session_fields(data)
            if owner is None:
                return None
            read = write = owner  # as Hangar's own sessions (hangar.identity.sessions): no ACL, the user's alone
        acl = acl_from_permissions(read, write) if name != "_Session" else None
        if acl is not None:
            data["ACL"] = acl
        _files_in(data, files)
        # Parse leaves both empty only on rows it did not write itself; the epoch stands in for them.
        created = iso_date(columns.get("createdAt") or columns.get("updatedAt") or "1970-01-01T00:00:00Z")
        updated = iso_date(columns.get("updatedAt") or created["iso"])
        return copy_row(name, columns["objectId"], data, read, write, created, updated)

    def close(self) -> None:
        self.conn.close()


def _infer(value: Any) -> dict[str, Any] | None:
    if isinstance(value, bool):
        return {"type": "Boolean"}
    if isinstance(value, int | float):
        return {"type": "Number"}
    if isinstance(value, str):
        return {"type": "String"}
    if isinstance(value, list):
        return {"type": "Array"}
    if isinstance(value, dict):
        kind = value.get("__type")
        if kind in {"Pointer", "Relation"}:
            return {"type": kind, "targetClass": value.get("className")}
        if kind in {"Date", "File", "GeoPoint", "Polygon", "Bytes"}:
            return {"type": kind}
        return {"type": "Object"}
    return None


class ParseJsonSource:
    """A directory of Parse JSON exports: ``<Class>.json`` holding ``{"results": [...]}`` or a list of objects."""

    def __init__(self, directory: Path, *, sessions: bool = True) -> None:
        self.paths = {
            path.stem: path for path in sorted(directory.glob("*.json")) if wanted_class(path.stem, sessions=sessions)
        }
        if not self.paths:
            raise ImportSourceError(f"{directory} holds no <Class>.json export files")
        self.rows: dict[str, list[dict[str, Any]]] = {}

    def _load(self, name: str) -> list[dict[str, Any]]:
        try:
            raw = json.loads(self.paths[name].read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ImportSourceError(f"{self.paths[name]} is not JSON: {exc}") from exc
        rows = raw.get("results") if isinstance(raw, dict) else raw
        if not isinstance(rows, list):
            raise ImportSourceError(f"{self.paths[name]} holds neither a list nor {{'results': [...]}}")
        return [row for row in rows if isinstance(row, dict) and isinstance(row.get("objectId"), str)]

    def app(self) -> ParseApp:
        app = ParseApp()
        for name in self.paths:
            rows = self.rows[name] = self._load(name)
            fields: dict[str, Any] = {}
            for row in rows:
                for key, value in row.items():
                    found = _infer(value)
                    if key not in BUILTIN and found and key not in fields and not key.startswith("_"):
                        fields[key] = found
                    if found and found["type"] == "Relation":
                        fields[key] = found
            fields = {**PARSE_DEFAULT_FIELDS.get(name, {}), **fields}
            app.classes[name] = {"fields": clean_fields(fields), "clp": None, "indexes": {}}
        return app

    def objects(self, app: ParseApp, files: set[str]) -> Iterator[bytes]:
        for name, rows in self.rows.items():
            count = 0
            for row in rows:
                converted = self._row(name, app.classes[name]["fields"], row, files)
                if converted is not None:
                    yield converted
                    count += 1
            app.counts[name] = count

    @staticmethod
    def _row(name: str, fields: dict[str, Any], row: dict[str, Any], files: set[str]) -> bytes | None:
        data = {key: value for key, value in row.items() if key in fields and fields[key]["type"] != "Relation"}
        for key, value in list(data.items()):
            if value is None:
                del data[key]
            elif fields[key]["type"] == "Date" and isinstance(value, dict):
                data[key] = iso_date(value["iso"])
        password = row.get("_hashed_password") or row.get("bcryptPassword")
        if name == "_User" and isinstance(password, str):
            data["_hashed_password"] = password
        read, write = permissions_from_acl(row.get("ACL"))
        if name == "_Session":
            owner = session_fields(data)
            if owner is None:
                return None
            read = write = owner
        elif row.get("ACL") is not None:
            data["ACL"] = row["ACL"]
        _files_in(data, files)
        created = iso_date(row.get("createdAt") or row.get("updatedAt") or "1970-01-01T00:00:00Z")
        updated = iso_date(row.get("updatedAt") or created["iso"])
        return copy_row(name, row["objectId"], data, read, write, created, updated)

    def close(self) -> None:
        return None
