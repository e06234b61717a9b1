"""The app's "SMS and email" page: sender settings, templates with a preview, recent messages, by role."""

from __future__ import annotations

import pytest
from django.urls import reverse

from hangar.messaging.sms_email_models import Message, MessageTemplate, SenderSettings
from tests.conftest import Tenant
from tests.dashboard.conftest import AddMember, logged_in

pytestmark = pytest.mark.django_db


def _url(tenant: Tenant, name: str, *extra: object) -> str:
    return reverse(f"dashboard:{name}", args=[tenant.organization.pk, tenant.app.pk, *extra])


def test_a_developer_sets_the_sender_and_edits_previews_and_deletes_a_template(tenant_a: Tenant) -> None:
    client = logged_in(tenant_a.developer)
    assert "SMS and email" in client.get(_url(tenant_a, "app_settings")).content.decode()
    client.post(_url(tenant_a, "sms_email_sender"), {"email_from_name": "Acme", "email_from_address": "hi@acme.test"})
    assert SenderSettings.objects.get(app=tenant_a.app).email_from_address == "hi@acme.test"
    bad = client.post(_url(tenant_a, "sms_email_sender"), {"email_from_address": "not an address"}, follow=True)
    assert "Not saved" in bad.content.decode()
    assert SenderSettings.objects.get(app=tenant_a.app).email_from_address == "hi@acme.test"

    form = {"channel": "email", "name": "welcome", "subject": "Hi {{ name }}", "text": "Hello {{ name }}",
            "html": "<p>{{ name }}</p>", "context": '{"name": "<script>alert(1)</script>"}'}  # fmt: skip
    preview = client.post(_url(tenant_a, "sms_email_template_save"), {**form, "action": "preview"}).content.decode()
    assert "Hello &lt;script&gt;alert(1)&lt;/script&gt;" in preview
    # The rendered HTML only ever appears inside the sandboxed frame, escaped once more as an attribute.
    assert "<script>alert(1)</script>" not in preview
    assert 'sandbox=""' in preview
    assert not MessageTemplate.objects.exists()  # a preview saves nothing

    client.post(_url(tenant_a, "sms_email_template_save"), {**form, "action": "save"})
    assert MessageTemplate.objects.get(app=tenant_a.app, name="welcome").subject == "Hi {{ name }}"
    page = client.get(_url(tenant_a, "sms_email"), {"edit": "welcome", "channel": "email"}).content.decode()
    assert "Edit welcome" in page
    bad_text = "{% include 'dashboard/base.html' %}"
    refused = client.post(_url(tenant_a, "sms_email_template_save"),
                          {**form, "name": "bad", "text": bad_text, "action": "save"})  # fmt: skip
    assert "include" in refused.content.decode()
    assert not MessageTemplate.objects.filter(name="bad").exists()

    client.post(_url(tenant_a, "sms_email_template_delete", "email", "welcome"))
    assert not MessageTemplate.objects.exists()


def test_recent_messages_are_listed_without_sensitive_bodies(tenant_a: Tenant) -> None:
    Message.objects.create(app=tenant_a.app, channel="sms", to=["+14155550100"], text="secret code 987654",
                           sensitive=True, status="sent", source="mfa")  # fmt: skip
    page = logged_in(tenant_a.developer).get(_url(tenant_a, "sms_email")).content.decode()
    assert "+14155550100" in page
    assert "987654" not in page


def test_a_viewer_has_no_sms_and_email_page(tenant_a: Tenant, add_member: AddMember) -> None:
    viewer = add_member(tenant_a, "vera", "viewer")
    client = logged_in(viewer.developer)
    assert "SMS and email" not in client.get(_url(tenant_a, "app_settings")).content.decode()
    assert client.get(_url(tenant_a, "sms_email")).status_code == 403
    client.post(_url(tenant_a, "sms_email_template_save"), {"channel": "sms", "name": "x", "text": "x"})
    assert not MessageTemplate.objects.exists()


def test_an_admin_turns_mfa_on_and_a_developer_cannot(tenant_a: Tenant, add_member: AddMember) -> None:
    from hangar.identity.models import AuthSettings

    owner = logged_in(tenant_a.developer)
    owner.post(_url(tenant_a, "sms_email_mfa"), {"options": ["TOTP", "SMS"], "digits": "6", "period": "30",
                                                  "algorithm": "SHA1"})  # fmt: skip
    assert AuthSettings.objects.get(app=tenant_a.app).mfa_options == ["TOTP", "SMS"]
    assert "TOTP and SMS" in owner.get(_url(tenant_a, "sms_email")).content.decode()
    bad = owner.post(_url(tenant_a, "sms_email_mfa"), {"options": ["TOTP"], "digits": "3"}, follow=True)
    assert "digits must be between 4 and 10" in bad.content.decode()
    developer = logged_in(add_member(tenant_a, "dev", "developer").developer)
    page = developer.get(_url(tenant_a, "sms_email")).content.decode()
    assert 'id="mfa-form"' not in page
    assert developer.post(_url(tenant_a, "sms_email_mfa"), {"options": []}).status_code == 403
    assert AuthSettings.objects.get(app=tenant_a.app).mfa_options == ["TOTP", "SMS"]
