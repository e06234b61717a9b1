"""Client class creation (Parse's allowClientClassCreation): off by default, switched per app from the dashboard."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tenants.services import app_client_class_creation_set
from tests.conftest import Tenant
from tests.datastore.conftest import ParseApp

pytestmark = pytest.mark.django_db(transaction=True)

MISSING = {"code": 119, "error": "This user is not allowed to access non-existent class: Pet"}


async def _allow(tenant: Tenant, allowed: bool) -> None:
    await sync_to_async(app_client_class_creation_set)(
        actor=tenant.developer, organization=tenant.organization, app_pk=tenant.app.pk, allowed=allowed
    )


async def test_a_client_save_to_a_new_class_answers_119_until_the_app_allows_it(app_a: ParseApp) -> None:
    refused = await app_a.request("POST", "/classes/Pet", {"name": "Rex"})
    assert (refused.status_code, refused.json()) == (400, MISSING)

    await _allow(app_a.tenant, True)

    empty = await app_a.request("GET", "/classes/Pet")
    assert (empty.status_code, empty.json()) == (200, {"results": []})
    created = await app_a.request("POST", "/classes/Pet", {"name": "Rex"})
    assert created.status_code == 201, created.text
    schema = (await app_a.request("GET", "/schemas/Pet", master=True)).json()
    assert schema["fields"]["name"] == {"type": "String"}

    await _allow(app_a.tenant, False)
    refused_again = await app_a.request("POST", "/classes/Toy", {"name": "Ball"})
    assert refused_again.json()["code"] == 119
    still_there = await app_a.request("POST", "/classes/Pet", {"name": "Fido"})
    assert still_there.status_code == 201, "an existing class keeps taking saves"


async def test_one_app_allowing_it_does_not_open_another_app(app_a: ParseApp, app_b: ParseApp) -> None:
    await _allow(app_a.tenant, True)

    refused = await app_b.request("POST", "/classes/Pet", {"name": "Rex"})
    assert (refused.status_code, refused.json()) == (400, MISSING)
