"""Reads of an app's push audiences for the management API: the live count of a saved or unsaved audience.

The app is checked at the edge (the developer's membership, the app in the organization);
the count itself runs on the app's data plane as its master (hangar.messaging.audiences).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import async_to_sync

from hangar.messaging.audiences import audience_count, installation_count
from hangar.parse_errors import OBJECT_NOT_FOUND, ParseError
from tenants.errors import NotFoundError, ValidationFailedError
from tenants.models import App, Developer, Organization
from tenants.roles import Permission
from tenants.services.access import membership_require


def _app_for(developer: Developer, organization: Organization, app_pk: int, permission: Permission) -> App:
    membership_require(actor=developer, organization=organization, permission=permission)
    app = organization.apps.filter(pk=app_pk, status=App.Status.ACTIVE).first()
    if app is None:
        raise NotFoundError("App not found.")
    return app


def _counted(count: Callable[..., Awaitable[int]], **arguments: Any) -> int:
    try:
        return int(async_to_sync(count)(**arguments))
    except ParseError as exc:
        if exc.code == OBJECT_NOT_FOUND:
            raise NotFoundError("Audience not found.") from exc
        raise ValidationFailedError(exc.message, field="where") from exc


def push_audience_count(*, developer: Developer, organization: Organization, app_pk: int, audience_id: str) -> int:
    """How many of the app's installations the saved audience reaches now."""
    app = _app_for(developer, organization, app_pk, Permission.VIEW_PUSH)
    return _counted(audience_count, app_pk=app.pk, audience_id=audience_id)


def push_query_count(*, developer: Developer, organization: Organization, app_pk: int, where: dict[str, Any]) -> int:
    """How many of the app's installations an installation query reaches now (an audience being built)."""
    # Any query, run as the app's master: its count answers questions about every field (a
    # deviceToken matched one character at a time), so it is a sender's right, not a viewer's.
    app = _app_for(developer, organization, app_pk, Permission.SEND_PUSH)
    return _counted(installation_count, app_pk=app.pk, where=where)
