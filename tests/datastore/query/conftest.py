"""Fixtures for the query compiler: rows written straight into an app's partition, and a finder
that runs compiled queries exactly the way the data plane does."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from django.db import connection

from hangar.datastore.acl_sql import acl_read_condition
from hangar.datastore.query import CompiledQuery, QueryContext, compile_query
from hangar.datastore.system_classes import DEFAULT_FIELDS, system_class_schema
from tests.conftest import Tenant

SCHEMAS: dict[str, dict[str, dict[str, Any]]] = {
    "Item": {
        **DEFAULT_FIELDS,
        "name": {"type": "String"},
        "score": {"type": "Number"},
        "flag": {"type": "Boolean"},
        "born": {"type": "Date"},
        "tags": {"type": "Array"},
        "posts": {"type": "Array"},
        "meta": {"type": "Object"},
        "owner": {"type": "Pointer", "targetClass": "_User"},
        "post": {"type": "Pointer", "targetClass": "Post"},
        "likes": {"type": "Relation", "targetClass": "_User"},
        "location": {"type": "GeoPoint"},
        "area": {"type": "Polygon"},
        "doc": {"type": "File"},
        "body": {"type": "String"},
    },
    "Post": {
        **DEFAULT_FIELDS,
        "title": {"type": "String"},
        "stars": {"type": "Number"},
        "city": {"type": "String"},
        "author": {"type": "Pointer", "targetClass": "_User"},
    },
    "_User": system_class_schema("_User"),
}


def pointer(class_name: str, object_id: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": class_name, "objectId": object_id}


def date(iso: str) -> dict[str, str]:
    return {"__type": "Date", "iso": iso}


def geopoint(latitude: float, longitude: float) -> dict[str, Any]:
    return {"__type": "GeoPoint", "latitude": latitude, "longitude": longitude}


@dataclass
class Store:
    """One app's partition: write rows, compile and run queries against them."""

    app_pk: int

    def put(
        self,
        class_name: str,
        object_id: str,
        data: dict[str, Any] | None = None,
        *,
        rperm: list[str] | None = None,
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
    ) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO datastore_object (app_id, class_name, object_id, data, _rperm, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s::jsonb, %s, COALESCE(%s, now()), COALESCE(%s, %s, now()))",
                [self.app_pk, class_name, object_id, json.dumps(data or {}), rperm, created_at, updated_at, created_at],
            )

    def relate(self, owner_class: str, owner_id: str, key: str, related_class: str, related_id: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO datastore_relation (app_id, owner_class, owner_id, key, related_class, related_id)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [self.app_pk, owner_class, owner_id, key, related_class, related_id],
            )

    def compile(
        self,
        class_name: str,
        where: Any,
        *,
        order: Any = None,
        principals: tuple[str, ...] | None = None,
        schemas: dict[str, Any] | None = None,
    ) -> CompiledQuery:
        context = QueryContext(
            app_pk=self.app_pk, schemas=SCHEMAS if schemas is None else schemas, principals=principals
        )
        return compile_query(class_name=class_name, where=where, order=order, context=context)

    def find(
        self,
        class_name: str,
        where: Any,
        *,
        order: Any = None,
        principals: tuple[str, ...] | None = None,
        schemas: dict[str, Any] | None = None,
        limit: int = 1000,
    ) -> list[str]:
        """Matching object ids, in the query's order (sorted by id when it has none)."""
        compiled = self.compile(class_name, where, order=order, principals=principals, schemas=schemas)
        acl_sql, acl_params = acl_read_condition(principals) if principals is not None else ("TRUE", [])
        statement = (
            "SELECT object_id FROM datastore_object WHERE app_id = %s AND class_name = %s"
            f" AND ({acl_sql}) AND ({compiled.where_sql})"
        )
        params = [self.app_pk, class_name, *acl_params, *compiled.params]
        if compiled.order_sql:
            statement += f" ORDER BY {compiled.order_sql}"
            params += compiled.order_params
        statement += " LIMIT %s OFFSET %s"
        params += [limit, 0]
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            ids = [row[0] for row in cursor.fetchall()]
        return ids if compiled.order_sql else sorted(ids)


@pytest.fixture
def store(tenant_a: Tenant) -> Store:
    return Store(app_pk=tenant_a.app.pk)


@pytest.fixture
def other_store(tenant_b: Tenant) -> Store:
    return Store(app_pk=tenant_b.app.pk)
