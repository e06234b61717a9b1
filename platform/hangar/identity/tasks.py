"""Celery tasks of end-user identity: the verification and password-reset mails, and MFA's texted codes.

Both go out through the app's providers (hangar.messaging: ``email_provider_for`` and
``sms_provider_for``; without credentials of its own an app's mail goes through the operator's
EMAIL_* SMTP settings) as a message record under a key of their own: the task run twice (a
worker killed after the send, a broker redelivery) finds the record and sends nothing again.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import connection
from django.template.loader import render_to_string

from hangar.identity.email_flows import token_digest
from hangar.messaging.sends import app_template_render, email_sender, message_send_once, sms_sender
from tenants.models import App

# An app's own templates for these messages, by name (else the platform's default words).
MAIL_TEMPLATES = {"verify": "verify_email", "reset": "password_reset"}
MFA_CODE_TEMPLATE = "mfa_code"


def email_link(application_id: str, page: str, token: str) -> str:
    return f"{settings.HANGAR_PUBLIC_URL}/apps/{application_id}/{page}?token={token}"


def _user_email(app_pk: int, user_id: str) -> tuple[str | None, str | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data->>'email', data->>'username' FROM datastore_object "
            "WHERE app_id = %s AND class_name = '_User' AND object_id = %s",
            [app_pk, user_id],
        )
        row = cursor.fetchone()
    return (row[0], row[1]) if row else (None, None)


@shared_task(name="identity.user_email_send", time_limit=120)
def user_email_send(*, app_pk: int, user_id: str, kind: str, token: str, send_id: str = "") -> None:
    """Mail a verification or reset link to the user's current address (nothing if it has none), once per send_id."""
    app = App.objects.get(pk=app_pk)
    email, username = _user_email(app_pk, user_id)
    if not email:
        return
    page = "verify_email" if kind == "verify" else "choose_password"
    link = email_link(app.application_id, page, token)
    context = {"app_name": app.name, "username": username, "link": link}
    subject = f"Please verify your email for {app.name}" if kind == "verify" else f"Password reset for {app.name}"
    text, html = str(render_to_string(f"identity/mail_{kind}.txt", context)), ""
    # The app's own email template, when it has one (docs/messaging.md, "Templates").
    custom = app_template_render(app_pk=app_pk, channel="email", name=MAIL_TEMPLATES[kind], context=context)
    if custom is not None and link in custom.text + custom.html:  # a mail without its link is no use
        subject, text, html = custom.subject or subject, custom.text or text, custom.html
    sender, reply_to = email_sender(app_pk)
    # The link is a credential: the record keeps it only until delivered, and no API shows it.
    message_send_once(
        app_pk=app_pk, idempotency_key=f"identity:{kind}:{user_id}:{send_id or token_digest(token)}", channel="email",
        source="identity", to=[email], subject=subject, text=text, html=html, sender=sender, reply_to=reply_to,
        sensitive=True,
    )  # fmt: skip


@shared_task(name="identity.mfa_code_send", time_limit=120)
def mfa_code_send(*, app_pk: int, user_id: str, mobile: str, code: str, nonce: str) -> None:
    """Text a sign-in code (hangar.identity.mfa), once per code."""
    app = App.objects.get(pk=app_pk)
    custom = app_template_render(
        app_pk=app_pk, channel="sms", name=MFA_CODE_TEMPLATE, context={"app_name": app.name, "code": code}
    )
    text = custom.text if custom is not None and code in custom.text else f"Your {app.name} verification code is {code}"
    message_send_once(
        app_pk=app_pk, idempotency_key=f"mfa:{user_id}:{nonce}", channel="sms", source="mfa", to=[mobile],
        text=text, sender=sms_sender(app_pk), sensitive=True,
    )  # fmt: skip
