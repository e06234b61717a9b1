"""Delivery of a recorded message: claimed before the provider call, at most once, retried only when not taken."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hangar.messaging.adapters.base import DeliveryOutcome, OutcomeKind
from hangar.messaging.sends import message_deliver
from hangar.messaging.sms_email_models import Message
from tests.conftest import Tenant
from tests.messaging.provider_doubles import ProviderDouble

pytestmark = pytest.mark.django_db


def _queued(tenant: Tenant, **fields: object) -> Message:
    defaults: dict[str, object] = {"channel": "sms", "to": ["+14155550100"], "text": "hello"}
    return Message.objects.create(app=tenant.app, **{**defaults, **fields})


def test_a_message_is_sent_once_however_often_its_task_runs(tenant_a: Tenant) -> None:
    double = ProviderDouble()
    message = _queued(tenant_a)
    for _ in range(3):
        assert message_deliver(message_id=message.pk, providers=double) is None
    message.refresh_from_db()
    assert len(double.sent) == 1
    assert (message.status, message.attempts, message.provider_message_id) == ("sent", 1, "double-1")


def test_a_claim_left_by_a_dead_worker_is_never_sent_again(tenant_a: Tenant) -> None:
    """The worker died during the provider call: the outcome is unknown, so the message is not resent."""
    double = ProviderDouble()
    fresh = _queued(tenant_a, status="sending", claimed_at=timezone.now(), attempts=1)
    stale = _queued(tenant_a, status="sending", claimed_at=timezone.now() - timedelta(minutes=30), attempts=1)
    message_deliver(message_id=fresh.pk, providers=double)
    message_deliver(message_id=stale.pk, providers=double)
    fresh.refresh_from_db()
    stale.refresh_from_db()
    assert not double.sent
    assert fresh.status == "sending"  # another worker may still be in its call
    assert stale.status == "failed"
    assert stale.error.startswith("outcome unknown")


def test_a_retry_answer_queues_it_again_and_a_later_try_sends_it(tenant_a: Tenant, settings: object) -> None:
    double = ProviderDouble(script=[DeliveryOutcome(OutcomeKind.RETRY, error="429", retry_after_seconds=7)])
    message = _queued(tenant_a)
    assert message_deliver(message_id=message.pk, providers=double) == 7
    message.refresh_from_db()
    assert (message.status, message.error) == ("queued", "429")
    assert message_deliver(message_id=message.pk, providers=double) is None
    message.refresh_from_db()
    assert (message.status, message.attempts, len(double.sent)) == ("sent", 2, 2)


def test_retries_end_after_the_last_attempt(tenant_a: Tenant, settings: object) -> None:
    settings.HANGAR_MESSAGING_MAX_ATTEMPTS = 2  # type: ignore[attr-defined]
    double = ProviderDouble(script=[DeliveryOutcome(OutcomeKind.RETRY, error="503")] * 3)
    message = _queued(tenant_a)
    assert message_deliver(message_id=message.pk, providers=double) == 10.0
    assert message_deliver(message_id=message.pk, providers=double) is None
    message.refresh_from_db()
    assert (message.status, message.error, message.attempts) == ("failed", "503", 2)


def test_a_permanent_failure_and_a_raising_provider_are_recorded(tenant_a: Tenant) -> None:
    double = ProviderDouble(
        script=[DeliveryOutcome(OutcomeKind.FAILED, error="21211 invalid number"), RuntimeError("boom")]
    )
    first, second = _queued(tenant_a), _queued(tenant_a)
    message_deliver(message_id=first.pk, providers=double)
    message_deliver(message_id=second.pk, providers=double)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.error) == ("failed", "21211 invalid number")
    assert second.status == "failed"
    assert "boom" in second.error
    assert "outcome unknown" in second.error


def test_a_sensitive_message_keeps_no_body_once_delivered(tenant_a: Tenant) -> None:
    message = _queued(tenant_a, sensitive=True, text="Your code is 123456")
    double = ProviderDouble()
    message_deliver(message_id=message.pk, providers=double)
    message.refresh_from_db()
    assert double.sent[0].message.body == "Your code is 123456"  # type: ignore[union-attr]
    assert (message.status, message.text) == ("sent", "")
