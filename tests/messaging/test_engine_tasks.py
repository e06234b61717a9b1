"""The engine through its Celery entry points (eager, with the same serializer a worker uses):
campaign_enqueue → messaging.campaign_run → messaging.push_batch → the provider."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from hangar.messaging.dispatch import campaign_enqueue
from hangar.messaging.tasks import push_tick_task
from tests.conftest import Tenant
from tests.messaging.engine_support import EAGER_PROVIDER, campaign_record, installations_create, push_status_of

pytestmark = pytest.mark.django_db(transaction=True)


def _in_a_thread_of_its_own(work: Callable[..., Any], **kwargs: Any) -> None:
    """What a worker process does: run the task, then close the database connection it opened."""
    try:
        work(**kwargs)
    finally:
        connections.close_all()


async def test_campaign_enqueue_runs_the_campaign_to_the_provider(tenant_a: Tenant, settings):
    settings.HANGAR_PUSH_PROVIDER_FOR = "tests.messaging.engine_support.eager_provider_for"
    settings.HANGAR_PUSH_BATCH_SIZE = 3
    EAGER_PROVIDER.sends.clear()
    app = tenant_a.app.pk
    await installations_create(
        app, [{"objectId": f"e{n}", "deviceType": "android", "deviceToken": f"t{n}"} for n in range(7)]
    )
    await campaign_record(app, "eager1", data={"alert": "through celery"})
    await sync_to_async(_in_a_thread_of_its_own, thread_sensitive=False)(
        campaign_enqueue, app_pk=app, push_status_id="eager1"
    )
    assert EAGER_PROVIDER.received_by() == {f"e{n}": 1 for n in range(7)}
    assert {n.data["alert"] for n, _ in EAGER_PROVIDER.sends} == {"through celery"}
    status = await push_status_of(app, "eager1")
    assert (status["status"], status["numSent"], status["count"]) == ("succeeded", 7, 7)

    # The beat tick finds nothing more to do, and sends nothing twice.
    await sync_to_async(_in_a_thread_of_its_own, thread_sensitive=False)(push_tick_task.apply)
    assert len(EAGER_PROVIDER.sends) == 7
