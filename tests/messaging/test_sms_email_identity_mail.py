"""Identity's mails through the app's email provider: one mail per request, however often its task runs."""

from __future__ import annotations

import json
import secrets

import pytest
from django.db import connection

from hangar.identity.tasks import user_email_send
from hangar.messaging.sms_email_models import Message
from tests.conftest import Tenant
from tests.messaging.provider_doubles import ProviderDouble

pytestmark = pytest.mark.django_db(transaction=True)


def _user_with_email(tenant: Tenant, email: str) -> str:
    user_id = secrets.token_hex(5)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO datastore_object (app_id, class_name, object_id, data, _rperm, _wperm) "
            "VALUES (%s, '_User', %s, %s, %s, %s)",
            [tenant.app.pk, user_id, json.dumps({"username": "ada", "email": email}), [user_id], [user_id]],
        )
    return user_id


def test_a_redelivered_mail_task_sends_one_mail(tenant_a: Tenant, providers: ProviderDouble) -> None:
    user_id = _user_with_email(tenant_a, "ada@example.com")
    for _ in range(2):  # the worker was killed after the send: the broker delivers the task again
        user_email_send(app_pk=tenant_a.app.pk, user_id=user_id, kind="reset", token="t0ken", send_id="s1")
    assert [r.message.to for r in providers.sent] == [["ada@example.com"]]
    assert "t0ken" in providers.sent[0].message.text  # type: ignore[union-attr]
    message = Message.objects.get(app=tenant_a.app, source="identity")
    # The reset link is a credential: gone from the record once delivered.
    assert (message.status, message.text, message.sensitive) == ("sent", "", True)
    # A new request (another send id) is another mail.
    user_email_send(app_pk=tenant_a.app.pk, user_id=user_id, kind="reset", token="t0ken", send_id="s2")
    assert len(providers.sent) == 2


def test_a_mail_recorded_but_never_queued_goes_out_on_redelivery(tenant_a: Tenant, providers: ProviderDouble) -> None:
    """The first run died between its commit and queueing the delivery: the second run queues it."""
    user_id = _user_with_email(tenant_a, "ben@example.com")
    Message.objects.create(
        app=tenant_a.app, channel="email", source="identity", idempotency_key=f"identity:verify:{user_id}:s1",
        to=["ben@example.com"], subject="Verify", text="link", sensitive=True,
    )  # fmt: skip
    user_email_send(app_pk=tenant_a.app.pk, user_id=user_id, kind="verify", token="tok", send_id="s1")
    assert len(providers.sent) == 1
    assert Message.objects.get(app=tenant_a.app).status == "sent"


def test_another_apps_mail_is_not_this_apps(tenant_a: Tenant, tenant_b: Tenant, providers: ProviderDouble) -> None:
    user_id = _user_with_email(tenant_a, "cyd@example.com")
    user_email_send(app_pk=tenant_b.app.pk, user_id=user_id, kind="reset", token="tok", send_id="s1")
    assert providers.sent == []  # app B has no such user: nothing is mailed
    user_email_send(app_pk=tenant_a.app.pk, user_id=user_id, kind="reset", token="tok", send_id="s1")
    assert [r.app_pk for r in providers.sent] == [tenant_a.app.pk]


def test_the_apps_own_templates_word_its_account_mails_and_codes(tenant_a: Tenant, providers: ProviderDouble) -> None:
    from hangar.identity.tasks import mfa_code_send
    from hangar.messaging.message_templates import sender_settings_update, template_save

    template_save(app_pk=tenant_a.app.pk, channel="email", name="password_reset", subject="Reset, {{ username }}",
                  text="Follow {{ link }}", html="<a href='{{ link }}'>reset</a>")  # fmt: skip
    template_save(app_pk=tenant_a.app.pk, channel="email", name="verify_email", subject="Verify", text="no link here")
    template_save(app_pk=tenant_a.app.pk, channel="sms", name="mfa_code", text="{{ code }} is your {{ app_name }} code")
    sender_settings_update(
        app_pk=tenant_a.app.pk, values={"sms_sender_id": "Acme", "email_from_address": "a@acme.test"}
    )
    user_id = _user_with_email(tenant_a, "dee@example.com")
    user_email_send(app_pk=tenant_a.app.pk, user_id=user_id, kind="reset", token="tok1", send_id="r")
    user_email_send(app_pk=tenant_a.app.pk, user_id=user_id, kind="verify", token="tok2", send_id="v")
    mfa_code_send(app_pk=tenant_a.app.pk, user_id=user_id, mobile="+14155550100", code="424242", nonce="n")
    reset, verify, code = (r.message for r in providers.sent)
    assert reset.subject == "Reset, ada"  # type: ignore[union-attr]
    assert "tok1" in reset.text
    assert "tok1" in (reset.html or "")
    assert reset.sender == "a@acme.test"  # type: ignore[union-attr]
    # A template that would drop the link is not used: the default mail goes out.
    assert "tok2" in verify.text
    assert verify.subject.startswith("Please verify")
    assert (code.body, code.sender) == ("424242 is your alice-app code", "Acme")  # type: ignore[union-attr]
