"""A schema push the datastore refuses partway changes nothing: the operations before the refusal are undone."""

from __future__ import annotations

from typing import Any

import pytest

from hangar.schema_history.models import SchemaMigration
from hangar.schema_history.selectors import schema_document_get
from hangar.schema_history.services import SchemaChangeError, schema_push
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db(transaction=True)

GOOD: dict[str, Any] = {"classes": {"Post": {"fields": {"title": {"type": "String"}}}}}


def _with_refused_permissions() -> dict[str, Any]:
    """A new class and a new field (accepted), then a CLP on Post naming a pointer field it lacks (refused)."""
    return {
        "classes": {
            "Post": {
                "fields": {"title": {"type": "String"}, "body": {"type": "String"}},
                "classLevelPermissions": {"readUserFields": ["noSuchPointer"]},
            },
            "Comment": {"fields": {"text": {"type": "String"}}},
        }
    }


def test_a_refused_operation_undoes_the_ones_before_it(tenant_a: Tenant) -> None:
    app = tenant_a.app
    schema_push(app=app, raw=GOOD, author="a@example.com", allow_destructive=False)
    before = schema_document_get(app=app)

    with pytest.raises(SchemaChangeError) as refused:
        schema_push(app=app, raw=_with_refused_permissions(), author="a@example.com", allow_destructive=False)

    assert "nothing changed" in refused.value.message
    assert refused.value.migration is None
    assert schema_document_get(app=app) == before  # no Comment class, no Post.body
    assert list(SchemaMigration.objects.filter(app=app).values_list("number", flat=True)) == [1]


def test_a_push_refused_at_its_first_operation_records_nothing(tenant_a: Tenant) -> None:
    app = tenant_a.app
    only_bad = {"classes": {"Comment": {"fields": {"text": {"type": "String"}},
                                        "classLevelPermissions": {"readUserFields": ["noSuchPointer"]}}}}  # fmt: skip
    with pytest.raises(SchemaChangeError):
        schema_push(app=app, raw=only_bad, author="a@example.com", allow_destructive=False)
    assert not SchemaMigration.objects.filter(app=app).exists()
