"""SMS and email from cloud code (``data.send_sms`` / ``data.send_email``): the same sends, per app, rate limited."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from hangar.messaging.message_templates import template_save
from hangar.messaging.sms_email_models import Message
from tests.cloudcode.conftest import _stop_workers, deploy_async  # noqa: F401  (fixture)
from tests.datastore.conftest import ParseApp
from tests.messaging.provider_doubles import ProviderDouble

pytestmark = pytest.mark.django_db(transaction=True)

SENDER = {
    "main.py": """
    from hangar_cloud import define, data

    @define("text")
    def text(request):
        return data.send_sms(request.params["to"], template=request.params.get("template"),
                             context=request.params.get("context"), body=request.params.get("body"))

    @define("mail")
    def mail(request):
        return data.send_email(request.params["to"], subject="Hi", text=request.params["text"])
    """
}


async def _run(app: ParseApp, name: str, params: dict[str, Any]) -> Any:
    return await app.request("POST", f"/functions/{name}", params)


async def test_a_function_sends_sms_and_email_through_the_apps_providers(
    app_a: ParseApp, providers: ProviderDouble
) -> None:
    await sync_to_async(template_save)(app_pk=app_a.tenant.app.pk, channel="sms", name="hello", text="Hello {{ who }}")
    await deploy_async(app_a.tenant, SENDER)
    texted = await _run(app_a, "text", {"to": "+14155550100", "template": "hello", "context": {"who": "Ann"}})
    assert texted.status_code == 200, texted.text
    assert texted.json()["result"]["status"] == "queued"
    mailed = await _run(app_a, "mail", {"to": "ann@example.com", "text": "body"})
    assert mailed.status_code == 200, mailed.text
    assert [(r.app_pk, getattr(r.message, "body", None) or r.message.text) for r in providers.sent] == [  # type: ignore[union-attr]
        (app_a.tenant.app.pk, "Hello Ann"),
        (app_a.tenant.app.pk, "body"),
    ]
    sources = await sync_to_async(lambda: sorted(Message.objects.values_list("source", "status")))()
    assert sources == [("cloud", "sent"), ("cloud", "sent")]


async def test_bad_sends_are_parse_errors(app_a: ParseApp, providers: ProviderDouble) -> None:
    await deploy_async(app_a.tenant, SENDER)
    bad_number = await _run(app_a, "text", {"to": "12", "body": "x"})
    assert bad_number.json()["code"] == 142
    unknown = await _run(app_a, "text", {"to": "+14155550100", "template": "nope"})
    assert unknown.json()["code"] == 101
    assert providers.sent == []


async def test_a_function_cannot_use_another_apps_template(
    app_a: ParseApp, app_b: ParseApp, providers: ProviderDouble
) -> None:
    await sync_to_async(template_save)(app_pk=app_a.tenant.app.pk, channel="sms", name="secret", text="A's {{ x }}")
    await deploy_async(app_b.tenant, SENDER)
    answer = await _run(app_b, "text", {"to": "+14155550100", "template": "secret"})
    assert answer.json()["code"] == 101
    assert providers.sent == []


async def test_a_sending_loop_is_stopped_by_the_apps_budget(
    app_a: ParseApp, providers: ProviderDouble, settings: Any
) -> None:
    settings.HANGAR_MESSAGING_SENDS_PER_MINUTE = 2
    await deploy_async(
        app_a.tenant,
        {
            "main.py": """
            from hangar_cloud import define, data, ParseError

            @define("spam")
            def spam(request):
                sent = 0
                try:
                    for _ in range(10):
                        data.send_sms("+14155550100", body="buy now")
                        sent += 1
                except ParseError as exc:
                    return {"sent": sent, "code": exc.code}
                return {"sent": sent}
            """
        },
    )
    answer = await _run(app_a, "spam", {})
    assert answer.json()["result"] == {"sent": 2, "code": 100}
    assert len(providers.sent) == 2
