"""Cloud-code invocations and messages metered per app; the plan's monthly invocations enforced at the boundary."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from hangar.analytics.metering import usage_collect
from hangar.analytics.models import UsageRecord
from hangar.cloudcode.logs import log_flush
from hangar.invalidation import publish_app_changed
from hangar.messaging.sms_email_models import Message
from tenants.models import Plan
from tests.cloudcode.conftest import deploy_async
from tests.conftest import Tenant
from tests.datastore.conftest import ParseApp

pytestmark = pytest.mark.django_db(transaction=True)

HELLO = {"main.py": "from hangar_cloud import define\n\n@define('hello')\ndef hello(request):\n    return 'hi'\n"}


async def _limit_invocations(tenant: Tenant, limit: int) -> None:
    plan = await Plan.objects.acreate(
        name=f"inv-{tenant.app.pk}", requests_per_second=0, monthly_function_invocations=limit
    )
    tenant.organization.plan = plan
    await tenant.organization.asave(update_fields=["plan"])
    publish_app_changed(tenant.application_id)


async def test_the_invocation_that_crosses_the_monthly_limit_is_refused(app_a: ParseApp, app_b: ParseApp):
    await deploy_async(app_a.tenant, HELLO)
    await deploy_async(app_b.tenant, HELLO)
    await _limit_invocations(app_a.tenant, 2)
    for _ in range(2):
        response = await app_a.request("POST", "/functions/hello", {})
        assert (response.status_code, response.json()) == (200, {"result": "hi"})
    refused = await app_a.request("POST", "/functions/hello", {})
    assert refused.status_code == 429
    assert refused.json() == {
        "code": 155, "error": "This app has used the 2 cloud-code invocations its plan allows this month."
    }  # fmt: skip
    assert int(refused.headers["retry-after"]) > 0
    assert (await app_b.request("POST", "/functions/hello", {})).status_code == 200  # its own plan: unlimited


async def test_invocations_and_their_time_are_metered_per_app(app_a: ParseApp, app_b: ParseApp):
    await deploy_async(app_a.tenant, HELLO)
    for _ in range(3):
        assert (await app_a.request("POST", "/functions/hello", {})).status_code == 200
    await log_flush()
    await sync_to_async(usage_collect)()
    metered = {
        r.metric: r.value async for r in UsageRecord.objects.filter(app_id=app_a.tenant.app.pk)
        if r.metric.startswith("function_")
    }  # fmt: skip
    assert metered["function_invocations"] == 3
    assert metered["function_ms"] >= 0
    assert not await UsageRecord.objects.filter(app_id=app_b.tenant.app.pk, metric="function_invocations").aexists()


def test_messages_are_metered_per_channel(tenant_a: Tenant, tenant_b: Tenant):
    Message.objects.create(app=tenant_a.app, channel="sms", to=["+15550100"], status="sent")
    Message.objects.create(app=tenant_a.app, channel="email", to=["a@example.com"], status="queued")
    Message.objects.create(app=tenant_a.app, channel="email", to=["b@example.com"], status="failed")
    Message.objects.create(app=tenant_b.app, channel="sms", to=["+15550101"], status="sent")
    usage_collect()
    usage_collect()
    mine = {r.metric: r.value for r in UsageRecord.objects.filter(app=tenant_a.app, metric__startswith="messages_")}
    assert mine == {"messages_sms": 1, "messages_email": 1}  # a failed send is not counted
    theirs = {r.metric: r.value for r in UsageRecord.objects.filter(app=tenant_b.app, metric__startswith="messages_")}
    assert theirs == {"messages_sms": 1}


async def test_an_invocations_log_record_carries_the_request_id(app_a: ParseApp):
    from hangar.cloudcode.logs import log_records

    await deploy_async(app_a.tenant, HELLO)
    headers = {**app_a.headers(), "X-Request-Id": "trace-fn-0001"}
    response = await app_a.client.post("/parse/functions/hello", content=b"{}", headers=headers)
    assert response.headers["x-request-id"] == "trace-fn-0001"
    await log_flush()
    records = await log_records(app_a.tenant.app.pk, limit=5)
    assert [(r["name"], r.get("requestId")) for r in records] == [("hello", "trace-fn-0001")]
