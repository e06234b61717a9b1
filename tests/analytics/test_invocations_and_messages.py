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


SPIN_AND_NAP = {
    "main.py": (
        "import time\nfrom hangar_cloud import define\n\n"
        "@define('spin')\ndef spin(request):\n"
        "    end = time.process_time() + 0.3\n    while time.process_time() < end:\n        pass\n    return 'spun'\n\n"
        "@define('nap')\ndef nap(request):\n    time.sleep(0.3)\n    return 'rested'\n"
    )
}


async def _metered_functions(tenant: Tenant) -> dict[str, int]:
    return {
        r.metric: r.value async for r in UsageRecord.objects.filter(app_id=tenant.app.pk)
        if r.metric.startswith("function_")
    }  # fmt: skip


async def test_cpu_time_is_the_sandboxs_own_not_the_wall_clock(app_a: ParseApp, app_b: ParseApp):
    """A function that computes for 0.3 s is metered ~300 CPU ms; one that sleeps 0.3 s, almost none."""
    await deploy_async(app_a.tenant, SPIN_AND_NAP)
    await deploy_async(app_b.tenant, SPIN_AND_NAP)
    assert (await app_a.request("POST", "/functions/spin", {})).json() == {"result": "spun"}
    assert (await app_b.request("POST", "/functions/nap", {})).json() == {"result": "rested"}
    await log_flush()
    await sync_to_async(usage_collect)()
    spinning, napping = await _metered_functions(app_a.tenant), await _metered_functions(app_b.tenant)
    assert 290 <= spinning["function_cpu_ms"] <= spinning["function_ms"]
    assert napping["function_ms"] >= 300
    assert napping["function_cpu_ms"] < 100  # asleep: wall time, not CPU


def test_build_time_is_metered_when_a_build_ends(tenant_a: Tenant, tenant_b: Tenant):
    from datetime import timedelta

    from django.utils import timezone

    from hangar.analytics.quotas import app_usage
    from hangar.builds.models import Build
    from hangar.builds.runner import finish_build

    def running(tenant: Tenant, number: int, minutes: float) -> Build:
        return Build.objects.create(
            app=tenant.app, uid=f"b{tenant.app.pk}x{number}", number=number, platform="android", timeout_seconds=3600,
            state=Build.State.RUNNING, attempt=1, started_at=timezone.now() - timedelta(minutes=minutes),
        )  # fmt: skip

    finish_build(running(tenant_a, 1, 3), Build.State.SUCCEEDED)
    finish_build(running(tenant_a, 2, 2), Build.State.FAILED, error_code="x", error_message="failed")
    running(tenant_a, 3, 10)  # still running: not metered until it ends
    Build.objects.create(app=tenant_a.app, uid="queued", number=4, platform="android", timeout_seconds=60)
    finish_build(running(tenant_b, 1, 7), Build.State.SUCCEEDED)
    usage_collect()
    usage_collect()  # counted once however often collected
    mine = UsageRecord.objects.filter(app=tenant_a.app, metric="build_ms").get().value
    assert 300_000 <= mine < 306_000  # 3 + 2 minutes
    assert 420_000 <= UsageRecord.objects.filter(app=tenant_b.app, metric="build_ms").get().value < 426_000
    lines = {line.metric: line.used for line in app_usage(tenant_a.app)}
    assert lines["build_minutes"] == 5
