"""Fixtures of the end-user tests: the data API helpers of tests/datastore, and sign-up shortcuts."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from hangar.identity.models import AuthSettings
from tests.conftest import Tenant
from tests.datastore.conftest import ParseApp, app_a, app_b  # noqa: F401  (fixtures)
from tests.messaging.conftest import providers  # noqa: F401  (fixture)
from tests.messaging.provider_doubles import ProviderDouble

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _identity_mail_providers(providers: ProviderDouble) -> ProviderDouble:  # noqa: F811
    """Identity's mail and texted codes go through the app's providers (hangar.messaging); here the
    provider double, which hands email to Django's mail backend (locmem, or the test's SMTP server)."""
    return providers


async def sign_up(app: ParseApp, username: str, password: str = "pw-secret-1", **fields: Any) -> dict[str, Any]:  # noqa: S107
    response = await app.request("POST", "/users", {"username": username, "password": password, **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def user_fields_declare(app: ParseApp, **types: str) -> None:
    """Add custom ``_User`` fields with the master key: clients may not add fields to system classes."""
    fields = {name: {"type": kind} for name, kind in types.items()}
    response = await app.request("PUT", "/schemas/_User", {"fields": fields}, master=True)
    assert response.status_code == 200, response.text


async def auth_settings(tenant: Tenant, **values: Any) -> None:
    await sync_to_async(AuthSettings.objects.update_or_create)(app=tenant.app, defaults=values)


def _run_sql(query: str, params: list[Any]) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


async def sql(query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run SQL as the control plane (the tables' owner), from an async test."""
    return await sync_to_async(_run_sql)(query, params or [])
