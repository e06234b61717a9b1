"""Push from the dashboard: send a campaign, save and delete audiences.

A send is what ``POST /parse/push`` does, with ``source: "webui"``: the body the console
built (hangar.messaging.console) is checked by ``push_spec_from_request`` and recorded by
``campaign_create``, so the dashboard has no second code path to a device. Audiences are
``_Audience`` objects written as the app's master through the datastore, as
``/push_audiences`` writes them. Every write checks the developer's role on the app and
records an audit event.
"""

from __future__ import annotations

from typing import Any

import redis
from asgiref.sync import async_to_sync
from django.core.cache import cache

from hangar.caller import Caller
from hangar.datastore import objects
from hangar.messaging.audiences import audience_body
from hangar.messaging.campaigns import campaign_create
from hangar.messaging.push_classes import AUDIENCE_CLASS
from hangar.messaging.push_requests import installation_query_check, push_spec_from_request
from hangar.parse_errors import OBJECT_NOT_FOUND, ParseError
from tenants.audit import audit_record
from tenants.errors import NotFoundError, PushUnavailableError, ValidationFailedError
from tenants.models import App, Developer, Organization
from tenants.roles import Permission
from tenants.services.access import membership_require

AUDIENCE_NAME_MAX = 100
# How long a console form's send token is remembered: a resubmitted form (double click,
# reload after a timeout) within it answers the campaign already recorded.
SEND_ONCE_SECONDS = 24 * 60 * 60
_SENDING = "sending"


def _app_for(actor: Developer, organization: Organization, app_pk: int) -> App:
    membership_require(actor=actor, organization=organization, permission=Permission.SEND_PUSH)
    app = organization.apps.filter(pk=app_pk, status=App.Status.ACTIVE).first()
    if app is None:
        raise NotFoundError("App not found.")
    return app


def _master(app: App) -> Caller:
    return Caller(app_pk=app.pk, is_master=True)


async def _recorded(app: App, body: dict[str, Any]) -> str:
    spec = await push_spec_from_request(caller=_master(app), body=body, source="webui")
    return await campaign_create(app_pk=app.pk, spec=spec)


def _send_once_claim(key: str) -> str | None:
    """Claim the form's token; None when this is its first send, else the earlier campaign's id."""
    try:
        if cache.add(key, _SENDING, timeout=SEND_ONCE_SECONDS):
            return None
        earlier = cache.get(key)
    except redis.RedisError as exc:
        # Fail closed: without the token a double submit could send the push twice.
        raise PushUnavailableError("Sending is unavailable right now (Redis does not answer); try again.") from exc
    if earlier is None or earlier == _SENDING:
        raise ValidationFailedError("This form is being sent already: its campaign appears in the list in a moment.")
    return str(earlier)


def push_send(
    *, actor: Developer, organization: Organization, app_pk: int, body: dict[str, Any], once: str = ""
) -> str:
    """Check a push request body as ``POST /parse/push`` does and record its campaign; returns its id.

    ``once``, the console form's token, makes a resubmitted form answer the campaign it
    already recorded instead of sending the push again.
    """
    app = _app_for(actor, organization, app_pk)
    key = f"push-console:send:{app.pk}:{once}" if once else None
    if key is not None and (earlier := _send_once_claim(key)) is not None:
        return earlier
    try:
        campaign_id = async_to_sync(_recorded)(app, body)
    except BaseException as exc:
        if key is not None:
            cache.delete(key)  # nothing was recorded: the corrected form may be sent
        if isinstance(exc, ParseError):
            raise ValidationFailedError(exc.message) from exc
        raise
    if key is not None:
        cache.set(key, campaign_id, timeout=SEND_ONCE_SECONDS)
    data = body.get("data")
    has_alert = isinstance(data, dict) and "alert" in data
    audit_record(
        actor=actor, organization=organization, action="push.send", target_type="app",
        target_id=app.application_id, target_name=app.name,
        details={"campaign": campaign_id, "push_time": body.get("push_time"), "has_alert": has_alert},
    )  # fmt: skip
    return campaign_id


async def _audience_created(app: App, name: str, where: dict[str, Any]) -> str:
    master = _master(app)
    await installation_query_check(master, where)  # a saved audience must be countable and sendable
    _, audience_id = await objects.object_create(
        caller=master, class_name=AUDIENCE_CLASS, body=audience_body({"name": name, "query": where}), files_base=""
    )
    return audience_id


def push_audience_create(
    *, actor: Developer, organization: Organization, app_pk: int, name: str, where: dict[str, Any]
) -> str:
    """Save an installation query as a named ``_Audience``; returns its objectId."""
    app = _app_for(actor, organization, app_pk)
    name = name.strip()
    if not name:
        raise ValidationFailedError("Name the audience.", field="audience_name")
    if len(name) > AUDIENCE_NAME_MAX:
        raise ValidationFailedError(f"An audience's name has at most {AUDIENCE_NAME_MAX} characters.")
    try:
        audience_id = async_to_sync(_audience_created)(app, name, where)
    except ParseError as exc:
        raise ValidationFailedError(exc.message, field="where") from exc
    audit_record(
        actor=actor, organization=organization, action="push.audience_create", target_type="app",
        target_id=app.application_id, target_name=app.name, details={"audience": audience_id, "name": name},
    )  # fmt: skip
    return audience_id


def push_audience_delete(*, actor: Developer, organization: Organization, app_pk: int, audience_id: str) -> None:
    app = _app_for(actor, organization, app_pk)
    try:
        async_to_sync(objects.object_delete)(
            caller=_master(app), class_name=AUDIENCE_CLASS, object_id=audience_id, files_base=""
        )
    except ParseError as exc:
        if exc.code == OBJECT_NOT_FOUND:
            raise NotFoundError("Audience not found.") from exc
        raise ValidationFailedError(exc.message) from exc
    audit_record(
        actor=actor, organization=organization, action="push.audience_delete", target_type="app",
        target_id=app.application_id, target_name=app.name, details={"audience": audience_id},
    )  # fmt: skip
