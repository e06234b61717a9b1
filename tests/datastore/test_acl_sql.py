"""ACL conditions over _rperm/_wperm: public rows, shared principals, master-only rows."""

from __future__ import annotations

import pytest
from django.db import connection

from hangar.datastore.acl_sql import acl_read_condition, acl_write_condition
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db


def _visible(tenant: Tenant, condition: tuple[str, list]) -> list[str]:
    sql, params = condition
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT object_id FROM datastore_object WHERE app_id = %s AND {sql} ORDER BY object_id",
            [tenant.app.pk, *params],
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def rows(tenant_a: Tenant) -> Tenant:
    cases = [
        ("public", None, None),
        ("everyone", ["*"], ["*"]),
        ("alice", ["alice"], ["alice"]),
        ("mods", ["role:Mods", "bob"], ["role:Mods"]),
        ("master", [], []),
        ("readonly", ["*"], ["bob"]),
    ]
    with connection.cursor() as cursor:
        for object_id, rperm, wperm in cases:
            cursor.execute(
                "INSERT INTO datastore_object (app_id, class_name, object_id, _rperm, _wperm)"
                " VALUES (%s, 'C', %s, %s, %s)",
                [tenant_a.app.pk, object_id, rperm, wperm],
            )
    return tenant_a


def test_read_condition(rows: Tenant):
    assert _visible(rows, acl_read_condition(["*"])) == ["everyone", "public", "readonly"]
    assert _visible(rows, acl_read_condition(("*", "alice"))) == ["alice", "everyone", "public", "readonly"]
    assert _visible(rows, acl_read_condition(["*", "carol", "role:Mods"])) == ["everyone", "mods", "public", "readonly"]
    assert _visible(rows, acl_read_condition([])) == ["public"]


def test_write_condition(rows: Tenant):
    assert _visible(rows, acl_write_condition(["*"])) == ["everyone", "public"]
    assert _visible(rows, acl_write_condition(["*", "bob"])) == ["everyone", "public", "readonly"]


def test_principals_travel_as_parameters_never_as_sql_text():
    sql, params = acl_read_condition(["*", "x'); DROP TABLE datastore_object; --"])
    assert sql == "(_rperm IS NULL OR _rperm && ARRAY[%s, %s]::text[])"
    assert params == ["*", "x'); DROP TABLE datastore_object; --"]


@pytest.mark.parametrize("principals", ["*", ["*", 5]])
def test_principals_must_be_strings(principals: object):
    with pytest.raises(TypeError):
        acl_read_condition(principals)  # type: ignore[arg-type]
