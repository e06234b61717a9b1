"""Reads of end-user identity for the mailed-link pages: the app a link names, and whether a reset token is live."""

from __future__ import annotations

from django.http import Http404

from hangar.datastore.connection import app_transaction
from hangar.identity import email_flows
from tenants.models import App


def page_app_get(*, application_id: str) -> App:
    """The active app whose Parse application id a mailed link carries (404 otherwise)."""
    app = App.objects.filter(application_id=application_id, status=App.Status.ACTIVE).first()
    if app is None:
        raise Http404("No such app.")
    return app


async def reset_token_valid(*, app_pk: int, token: str) -> bool:
    """Whether ``token`` is a live password-reset token of a user of this app (and only this app)."""
    async with app_transaction(app_pk) as conn:
        cursor = await conn.execute(
            "SELECT data FROM datastore_object WHERE app_id = %s AND class_name = '_User' "
            "AND data->>'_perishable_token_hash' = %s",
            [app_pk, email_flows.token_digest(token)],
        )
        row = await cursor.fetchone()
    return row is not None and email_flows.token_matches(row[0], email_flows.RESET, token)
