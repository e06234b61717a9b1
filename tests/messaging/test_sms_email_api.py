"""SMS and email through the management API: templates, sender settings, sends, the message log, isolation."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from hangar.messaging.sends import message_deliver
from hangar.messaging.sms_email_models import Message
from tests.conftest import Tenant
from tests.messaging.provider_doubles import ProviderDouble
from tests.tenants.conftest import app_url

pytestmark = pytest.mark.django_db


def _template(client: APIClient, tenant: Tenant, channel: str, name: str, **values: str) -> Any:
    return client.put(app_url(tenant, f"/messaging/templates/{channel}/{name}"), values, format="json")


def _send(client: APIClient, tenant: Tenant, channel: str, body: dict[str, Any], capture: Any) -> Any:
    with capture(execute=True):
        return client.post(app_url(tenant, f"/messaging/{channel}"), body, format="json")


def test_sms_from_a_template_is_rendered_recorded_and_delivered_once(
    alice: APIClient, tenant_a: Tenant, providers: ProviderDouble, django_capture_on_commit_callbacks: Any
) -> None:
    assert _template(alice, tenant_a, "sms", "code", text="Hi {{ name }}, your code is {{ code }}").status_code == 200
    alice.put(app_url(tenant_a, "/messaging/sender"), {"sms_sender_id": "Hangar"}, format="json")
    answer = _send(
        alice,
        tenant_a,
        "sms",
        {"to": "+14155550100", "template": "code", "context": {"name": "Ann", "code": "123456"}},
        django_capture_on_commit_callbacks,
    )
    assert answer.status_code == 202, answer.json()
    assert [(r.app_pk, r.message.to, r.message.body, r.message.sender) for r in providers.sent] == [
        (tenant_a.app.pk, "+14155550100", "Hi Ann, your code is 123456", "Hangar")
    ]
    message = Message.objects.get(pk=answer.json()["id"])
    assert (message.status, message.provider, message.attempts) == ("sent", "double-sms", 1)
    # The task delivered twice (a broker redelivery): the claimed record sends nothing more.
    assert message_deliver(message_id=message.pk) is None
    assert len(providers.sent) == 1
    listed = alice.get(app_url(tenant_a, "/messaging/messages")).json()
    assert [(m["id"], m["status"], m["text"]) for m in listed] == [(message.pk, "sent", "Hi Ann, your code is 123456")]


def test_email_uses_the_sender_settings_and_escapes_html(
    alice: APIClient, tenant_a: Tenant, providers: ProviderDouble, django_capture_on_commit_callbacks: Any
) -> None:
    sender = {"email_from_name": "Acme", "email_from_address": "news@acme.test", "email_reply_to": "help@acme.test"}
    assert alice.put(app_url(tenant_a, "/messaging/sender"), sender, format="json").json() == {
        **sender,
        "sms_sender_id": "",
    }
    _template(
        alice,
        tenant_a,
        "email",
        "welcome",
        subject="Welcome {{ name }}",
        text="Hello {{ name }}",
        html="<p>Hello {{ name }}</p>",
    )
    answer = _send(
        alice,
        tenant_a,
        "email",
        {"to": "ann@example.com", "template": "welcome", "context": {"name": "<script>x</script>"}},
        django_capture_on_commit_callbacks,
    )
    assert answer.status_code == 202, answer.json()
    sent = providers.sent[0].message
    assert sent.to == ["ann@example.com"]
    assert sent.sender == '"Acme" <news@acme.test>'
    assert sent.reply_to == "help@acme.test"
    assert sent.subject == "Welcome <script>x</script>"
    assert sent.text == "Hello <script>x</script>"
    assert sent.html == "<p>Hello &lt;script&gt;x&lt;/script&gt;</p>"
    assert sent.headers["X-Hangar-Message-Id"] == str(answer.json()["id"])
    plain = _send(
        alice,
        tenant_a,
        "email",
        {"to": ["a@example.com", "b@example.com"], "subject": "Hi", "text": "plain"},
        django_capture_on_commit_callbacks,
    )
    assert plain.status_code == 202
    assert providers.sent[1].message.to == ["a@example.com", "b@example.com"]


@pytest.mark.parametrize(
    ("channel", "body", "status", "needle"),
    [
        ("sms", {"to": "4155550100", "body": "x"}, 400, "E.164"),
        ("sms", {"to": "+14155550100"}, 400, "template name or a non-empty body"),
        ("sms", {"to": "+14155550100", "template": "nope"}, 404, "no sms template"),
        ("sms", {"to": "+14155550100", "body": "x" * 1601}, 400, ""),
        ("email", {"to": "not-an-address", "subject": "s", "text": "t"}, 400, "not an email address"),
        ("email", {"to": "a@example.com", "subject": "s"}, 400, "give text or html"),
        ("email", {"to": ["a@example.com"] * 51, "subject": "s", "text": "t"}, 400, ""),
        ("email", {"to": "a@example.com", "template": "x", "context": [1]}, 400, ""),
    ],
)
def test_bad_sends_are_refused_and_nothing_is_recorded(
    alice: APIClient,
    tenant_a: Tenant,
    providers: ProviderDouble,
    django_capture_on_commit_callbacks: Any,
    channel: str,
    body: dict[str, Any],
    status: int,
    needle: str,
) -> None:
    answer = _send(alice, tenant_a, channel, body, django_capture_on_commit_callbacks)
    assert answer.status_code == status, answer.json()
    assert needle in str(answer.json())
    assert not Message.objects.exists()
    assert not providers.sent


@pytest.mark.parametrize(
    "source",
    [
        '{% include "dashboard/base.html" %}',
        "{% extends 'dashboard/base.html' %}",
        "{% load static %}{% static 'x' %}",
        "{% debug %}",
        "{% url 'dashboard:home' %}",
        "{{ name|rjust:'900000000' }}",
        "{% if %}",
    ],
)
def test_a_template_that_would_reach_outside_its_context_is_refused(
    alice: APIClient, tenant_a: Tenant, source: str
) -> None:
    answer = _template(alice, tenant_a, "sms", "bad", text=source)
    assert answer.status_code == 400, answer.json()
    assert alice.get(app_url(tenant_a, "/messaging/templates")).json() == []


def test_preview_renders_only_the_given_context(alice: APIClient, tenant_a: Tenant, settings: Any) -> None:
    source = "{{ settings.SECRET_KEY }}|{{ request.user }}|{{ user.password }}|{{ name.upper }}|{{ name.__class__ }}"
    answer = alice.post(
        app_url(tenant_a, "/messaging/templates/sms/preview"),
        {"text": source, "context": {"name": "ann"}},
        format="json",
    )
    assert answer.status_code == 400  # an attribute starting with "_" does not even parse
    answer = alice.post(
        app_url(tenant_a, "/messaging/templates/sms/preview"),
        {"text": source.rsplit("|", 1)[0], "context": {"name": "ann"}},
        format="json",
    )
    assert answer.json() == {"subject": "", "text": "|||ANN", "html": ""}
    assert settings.SECRET_KEY not in str(answer.json())
    looping = "{% for a in l %}{% for b in l %}{% for c in l %}x{% endfor %}{% endfor %}{% endfor %}"
    answer = alice.post(
        app_url(tenant_a, "/messaging/templates/sms/preview"),
        {"text": looping, "context": {"l": list(range(100))}},
        format="json",
    )
    assert answer.status_code == 400
    assert "loops more than" in str(answer.json())
    _template(alice, tenant_a, "email", "welcome", subject="Hi {{ name }}", text="t", html="<b>{{ name }}</b>")
    saved = alice.post(
        app_url(tenant_a, "/messaging/templates/email/preview"),
        {"name": "welcome", "context": {"name": "<i>"}},
        format="json",
    )
    assert saved.json() == {"subject": "Hi <i>", "text": "t", "html": "<b>&lt;i&gt;</b>"}


def test_a_rendered_template_is_plain_text_to_whoever_shows_it() -> None:
    """A render is not marked safe: a page showing a preview escapes it (no stored XSS in the dashboard)."""
    from django.utils.safestring import SafeData

    from hangar.messaging.template_sandbox import template_render

    assert not isinstance(template_render("<b>{{ x }}</b>", {"x": "y"}, html=True), SafeData)
    assert not isinstance(template_render("{{ x }}", {"x": "<i>"}), SafeData)


def test_template_crud(alice: APIClient, tenant_a: Tenant) -> None:
    assert _template(alice, tenant_a, "email", "w", subject="S", text="T").status_code == 200
    assert _template(alice, tenant_a, "email", "w", subject="S2", text="T2").json()["subject"] == "S2"
    assert _template(alice, tenant_a, "email", "nosubject", text="T").status_code == 400
    assert _template(alice, tenant_a, "sms", "withhtml", text="T", html="<b>").status_code == 400
    assert _template(alice, tenant_a, "fax", "x", text="T").status_code == 400
    assert [t["name"] for t in alice.get(app_url(tenant_a, "/messaging/templates")).json()] == ["w"]
    assert alice.get(app_url(tenant_a, "/messaging/templates/email/w")).json()["text"] == "T2"
    assert alice.delete(app_url(tenant_a, "/messaging/templates/email/w")).status_code == 204
    assert alice.get(app_url(tenant_a, "/messaging/templates/email/w")).status_code == 404


def test_sends_past_the_apps_budget_get_429(
    alice: APIClient,
    tenant_a: Tenant,
    providers: ProviderDouble,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.HANGAR_MESSAGING_SENDS_PER_MINUTE = 2
    answers = [
        _send(alice, tenant_a, "sms", {"to": "+14155550100", "body": "x"}, django_capture_on_commit_callbacks)
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[2]["Retry-After"] == "60"
    assert len(providers.sent) == 2


def test_a_viewer_cannot_send_or_read_messages(alice: APIClient, tenant_a: Tenant, member_of: Any) -> None:
    viewer = member_of("viewer").client
    assert (
        viewer.post(app_url(tenant_a, "/messaging/sms"), {"to": "+14155550100", "body": "x"}, format="json").status_code
        == 403
    )
    assert viewer.get(app_url(tenant_a, "/messaging/messages")).status_code == 403
    assert viewer.get(app_url(tenant_a, "/messaging/templates")).status_code == 403


def test_another_tenant_cannot_use_templates_or_read_messages(
    alice: APIClient,
    bob: APIClient,
    tenant_a: Tenant,
    tenant_b: Tenant,
    providers: ProviderDouble,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _template(alice, tenant_a, "sms", "secret", text="alice's template {{ x }}")
    sent = _send(
        alice, tenant_a, "sms", {"to": "+14155550100", "template": "secret"}, django_capture_on_commit_callbacks
    )
    message_id = sent.json()["id"]
    # Bob through Alice's organization: nothing exists for him there.
    for url in [
        "/messaging/templates",
        "/messaging/messages",
        f"/messaging/messages/{message_id}",
        "/messaging/templates/sms/secret",
        "/messaging/sender",
    ]:
        assert bob.get(app_url(tenant_a, url)).status_code == 404, url
    assert (
        bob.post(app_url(tenant_a, "/messaging/sms"), {"to": "+1415555010", "body": "x"}, format="json").status_code
        == 404
    )
    # Bob through his own app: Alice's template and message are not his.
    assert (
        _send(
            bob, tenant_b, "sms", {"to": "+14155550100", "template": "secret"}, django_capture_on_commit_callbacks
        ).status_code
        == 404
    )
    assert (
        bob.post(app_url(tenant_b, "/messaging/templates/sms/preview"), {"name": "secret"}, format="json").status_code
        == 404
    )
    assert bob.get(app_url(tenant_b, f"/messaging/messages/{message_id}")).status_code == 404
    assert bob.get(app_url(tenant_b, "/messaging/messages")).json() == []
    assert bob.delete(app_url(tenant_b, "/messaging/templates/sms/secret")).status_code == 404
    assert alice.get(app_url(tenant_a, "/messaging/templates/sms/secret")).status_code == 200
