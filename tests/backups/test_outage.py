"""A backup asked for while the task queue (the Celery broker) is down: 503 with Retry-After, the backup
recorded as failed with the reason, never left running with no worker to finish it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from hangar.backups.models import Backup
from tenants.services import access_token_create
from tests.conftest import Tenant, _free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dead_broker() -> Iterator[None]:
    """Celery publishing to a port nothing listens on (instead of running tasks in the test process).

    The app's own connection and producer pools are set aside and put back untouched: kombu keeps
    producer pools in a global registry keyed by connection, so closing them would leave later
    tests a closed pool.
    """
    from hangar.celery_app import app

    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url", "task_publish_retry")}
    pools: tuple[Any, Any] = (app._pool, app.amqp._producer_pool)
    app.conf.update(task_always_eager=False, broker_url=f"redis://127.0.0.1:{_free_port()}/0", task_publish_retry=False)
    app._pool, app.amqp._producer_pool = None, None
    try:
        yield
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        app.conf.update(saved)
        app._pool, app.amqp._producer_pool = pools


def test_a_broker_outage_answers_503_and_fails_the_backup(tenant_a: Tenant, dead_broker: None):
    _, token = access_token_create(developer=tenant_a.developer, name="t")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    url = f"/api/v1/organizations/{tenant_a.organization.pk}/apps/{tenant_a.app.pk}/backups"
    response = client.post(url, {}, format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "task queue" in response.json()["detail"]
    backup = Backup.objects.get(app=tenant_a.app)
    assert backup.status == Backup.Status.FAILED
    assert "task queue did not answer" in backup.error
