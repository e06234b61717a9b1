"""Celery tasks of end-user identity: the verification and password-reset mails."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import connection
from django.template.loader import render_to_string

from tenants.models import App


def email_link(application_id: str, page: str, token: str) -> str:
    return f"{settings.HANGAR_PUBLIC_URL}/apps/{application_id}/{page}?token={token}"


# A mail goes out within a few SMTP round trips (EMAIL_TIMEOUT each), so two minutes ends only
# a stuck run. A worker lost after sending sends it again on redelivery: at worst a duplicate
# mail with a link that works, never a lost one.
@shared_task(name="identity.user_email_send", time_limit=120)
def user_email_send(*, app_pk: int, user_id: str, kind: str, token: str) -> None:
    """Mail a verification or reset link to the user's current address (nothing if it has none)."""
    app = App.objects.get(pk=app_pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data->>'email', data->>'username' FROM datastore_object "
            "WHERE app_id = %s AND class_name = '_User' AND object_id = %s",
            [app_pk, user_id],
        )
        row = cursor.fetchone()
    if row is None or not row[0]:
        return
    email, username = row
    page = "verify_email" if kind == "verify" else "choose_password"
    context = {"app_name": app.name, "username": username, "link": email_link(app.application_id, page, token)}
    subject = f"Please verify your email for {app.name}" if kind == "verify" else f"Password reset for {app.name}"
    body = render_to_string(f"identity/mail_{kind}.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email])
