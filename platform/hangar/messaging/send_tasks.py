"""The Celery task that delivers one recorded SMS or email (hangar.messaging.sends)."""

from __future__ import annotations

from celery import Task, shared_task

from hangar.messaging.sends import DELIVERY_DEADLINE_SECONDS, message_deliver


# Idempotent by construction: the message row is claimed before the provider is called, so a
# duplicate or redelivered task finds it claimed and sends nothing (sends.message_deliver).
@shared_task(name="messaging.message_deliver", bind=True, time_limit=DELIVERY_DEADLINE_SECONDS, max_retries=None)
def message_deliver_task(self: Task, *, message_id: int) -> None:
    """Send the message once; when the provider says "retry", try again later (the row is queued again)."""
    wait = message_deliver(message_id=message_id)
    if wait is not None:
        raise self.retry(kwargs={"message_id": message_id}, countdown=wait)
