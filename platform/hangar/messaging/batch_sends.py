"""A batch task's work: claim deliveries, send them through the app's provider, record each outcome.

Deliveries go ``HANGAR_PUSH_CLAIM_SIZE`` at a time: claimed (committed), sent, marked
(committed), so a worker killed mid-batch leaves at most one claim's worth whose outcome is
unknown. Outcomes follow ``OutcomeKind``: SENT → sent; INVALID_TOKEN → invalid, and the
installation's deviceToken is removed (Parse Server's cleanup); RETRY → queued again after an
exponential backoff (at least the provider's Retry-After), failed after
``HANGAR_PUSH_MAX_ATTEMPTS``; FAILED → failed. Past its expiration a delivery is recorded
failed with the error "expired". The ``_PushStatus`` counts grow in the same transaction as
the marks.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from django.conf import settings
from django.utils.module_loading import import_string

from hangar.datastore.connection import app_transaction
from hangar.messaging import push_status
from hangar.messaging.adapters.base import (
    DeliveryOutcome,
    OutcomeKind,
    PushNotification,
    PushProvider,
    PushTarget,
)
from hangar.messaging.campaign_runs import campaign_complete_if_done
from hangar.messaging.deliveries import (
    ClaimedDelivery,
    Outcome,
    badges_increment,
    deliveries_claim,
    deliveries_expire,
    deliveries_unclaim,
    outcomes_record,
    tokens_remove,
)
from hangar.messaging.dispatch import BatchEnqueue, BatchOrder, batch_enqueue
from hangar.messaging.payloads import Localizer, badge_increment, default_localizer, installation_data, is_localized
from hangar.messaging.push_status import Campaign, CountDelta, campaign_get
from hangar.messaging.rate_limits import rate_for, tokens_wait

logger = logging.getLogger(__name__)
ProviderFor = Callable[..., Awaitable[PushProvider]]
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def configured_provider_for() -> ProviderFor:
    """``HANGAR_PUSH_PROVIDER_FOR``: hangar.messaging.providers.push_provider_for unless a deployment (or a
    test's worker process) names another with the same signature."""
    provider_for: ProviderFor = import_string(settings.HANGAR_PUSH_PROVIDER_FOR)
    return provider_for


def retry_delay(attempts: int, retry_after: float | None) -> float:
    """Exponential backoff after the ``attempts``-th try, never sooner than the provider asked."""
    base = float(settings.HANGAR_PUSH_RETRY_BASE_SECONDS) * 2 ** max(0, attempts - 1)
    return max(min(base, float(settings.HANGAR_PUSH_RETRY_MAX_SECONDS)), retry_after or 0.0)


@dataclass
class BatchResult:
    sent: int = 0
    failed: int = 0
    invalid: int = 0
    retried: int = 0
    expired: int = 0
    resent_unknown: int = 0  # claimed by this task before its worker died: sent again under the same id
    deferred: list[int] = field(default_factory=list)  # given back to the queue by the rate limit
    retry_at: dict[int, datetime] = field(default_factory=dict)  # deliveries to try again, and when


def _outcome_for(item: ClaimedDelivery, result: DeliveryOutcome, now: datetime) -> Outcome:
    if result.kind is OutcomeKind.SENT:
        return Outcome(item.id, "sent")
    if result.kind is OutcomeKind.INVALID_TOKEN:
        return Outcome(item.id, "invalid", result.error or "invalid token")
    if result.kind is OutcomeKind.RETRY and item.attempts < int(settings.HANGAR_PUSH_MAX_ATTEMPTS):
        due = now + timedelta(seconds=retry_delay(item.attempts, result.retry_after_seconds))
        if item.expires_at is None or due < item.expires_at:
            return Outcome(item.id, "queued", result.error or "retry", due)
        return Outcome(item.id, "failed", "expired")
    return Outcome(item.id, "failed", result.error or result.kind.value)


class _Sender:
    """One batch's providers, payloads and counts."""

    def __init__(self, campaign: Campaign, provider_for: ProviderFor, localize: Localizer | None) -> None:
        self.campaign = campaign
        self.provider_for = provider_for
        self.localize = localize if is_localized(campaign.data) else None
        self.increment = badge_increment(campaign.data)
        self.providers: dict[tuple[str, str], PushProvider] = {}

    async def provider(self, item: ClaimedDelivery) -> PushProvider:
        key = (item.device_type, item.push_type)
        if key not in self.providers:
            self.providers[key] = await self.provider_for(
                app_pk=self.campaign.app_pk, device_type=item.device_type, push_type=item.push_type or None
            )
        return self.providers[key]

    async def send(self, provider: PushProvider, items: list[ClaimedDelivery]) -> list[DeliveryOutcome]:
        """Send to ``items`` through ``provider``, one call per distinct payload (locale) and expiration."""
        groups: dict[tuple[str, datetime | None], list[ClaimedDelivery]] = defaultdict(list)
        for item in items:
            groups[(item.locale if self.localize else "", item.expires_at)].append(item)
        outcomes: dict[int, DeliveryOutcome] = {}
        for (locale, expiration), members in groups.items():
            data = installation_data(self.campaign.data, locale=locale, badge=None, localize=self.localize)
            notification = PushNotification(data=data, expiration=expiration, push_id=self.campaign.campaign_id)
            targets = [_target(item, self.increment is not None) for item in members]
            try:
                results = await provider.send_push(notification, targets)
            except Exception as exc:  # a provider must not raise for a target; if it does, every target may retry
                logger.warning("push provider %s raised %s", provider.name, type(exc).__name__, exc_info=True)
                results = []
            if len(results) != len(members):
                results = [DeliveryOutcome(OutcomeKind.RETRY, error="provider error")] * len(members)
            outcomes.update({item.id: result for item, result in zip(members, results, strict=True)})
        return [outcomes[item.id] for item in items]


def _target(item: ClaimedDelivery, with_badge: bool) -> PushTarget:
    return PushTarget(
        installation_object_id=item.installation_id, device_type=item.device_type, device_token=item.device_token,
        push_type=item.push_type or None, app_identifier=item.app_identifier or None,
        badge=item.badge if with_badge else None, delivery_id=str(item.id),
    )  # fmt: skip


async def _expire(app_pk: int, campaign_id: str, ids: list[int], task_id: str, now: datetime, everything: bool) -> int:
    counts = None
    async with app_transaction(app_pk) as conn:
        expired = await deliveries_expire(conn, app_pk=app_pk, ids=ids, task_id=task_id, now=now, everything=everything)
        if expired:
            delta = CountDelta()
            for device_type, utc_offset in expired:
                delta.add(sent=False, device_type=device_type, utc_offset=utc_offset)
            counts = await push_status.counts_add(conn, app_pk=app_pk, campaign_id=campaign_id, delta=delta)
    await _complete_if_counted(app_pk, campaign_id, counts)
    return len(expired)


async def _complete_if_counted(app_pk: int, campaign_id: str, counts: tuple[int, int, int, str] | None) -> None:
    """Finish the campaign when its counts say every recipient is accounted for (checked against the rows)."""
    if counts is not None and counts[0] + counts[1] >= counts[2] and counts[3] == "running":
        await campaign_complete_if_done(app_pk=app_pk, campaign_id=campaign_id)


async def _claim(sender: _Sender, ids: list[int], task_id: str, now: datetime) -> list[ClaimedDelivery]:
    app_pk = sender.campaign.app_pk
    async with app_transaction(app_pk) as conn:
        claimed = await deliveries_claim(conn, app_pk=app_pk, ids=ids, task_id=task_id, now=now)
        if claimed and sender.increment is not None:
            claimed = await badges_increment(conn, app_pk=app_pk, claimed=claimed, amount=sender.increment, now=now)
    return claimed


async def _record(
    campaign: Campaign, items: list[ClaimedDelivery], outcomes: list[Outcome], task_id: str, now: datetime
) -> tuple[int, int, int, str] | None:
    app_pk = campaign.app_pk
    tokens = {item.id: (item.installation_id, item.device_token) for item in items}
    async with app_transaction(app_pk) as conn:
        marked = await outcomes_record(conn, app_pk=app_pk, outcomes=outcomes, task_id=task_id, now=now)
        delta = CountDelta()
        for _id, state, device_type, utc_offset in marked:
            if state != "queued":
                delta.add(sent=state == "sent", device_type=device_type, utc_offset=utc_offset)
        await tokens_remove(conn, app_pk=app_pk, tokens=[tokens[row[0]] for row in marked if row[1] == "invalid"])
        if delta:
            return await push_status.counts_add(conn, app_pk=app_pk, campaign_id=campaign.campaign_id, delta=delta)
    return None


async def batch_send(
    *, app_pk: int, campaign_id: str, delivery_ids: list[int], task_id: str,
    provider_for: ProviderFor | None = None, localize: Localizer | Literal["default"] | None = "default",
    enqueue: BatchEnqueue = batch_enqueue, clock: Clock = _utcnow,
) -> BatchResult:  # fmt: skip
    """Send one batch of a campaign's deliveries (idempotent: what is already marked is never sent again)."""
    result = BatchResult()
    campaign = await campaign_get(app_pk=app_pk, campaign_id=campaign_id)
    if campaign is None or campaign.status in ("succeeded", "failed"):
        # The campaign was deleted or ended (e.g. failed): nothing more of it goes out.
        result.expired = await _expire(app_pk, campaign_id, delivery_ids, task_id, clock(), everything=True)
        return result
    sender = _Sender(
        campaign, provider_for or configured_provider_for(), default_localizer() if localize == "default" else localize
    )
    size = max(1, int(settings.HANGAR_PUSH_CLAIM_SIZE))
    # Deliveries expire only when their campaign has an expiration (a statement per claim saved otherwise).
    expires = campaign.expiry is not None or campaign.expiration_interval is not None
    for start in range(0, len(delivery_ids), size):
        chunk = delivery_ids[start : start + size]
        if expires:
            result.expired += await _expire(app_pk, campaign_id, chunk, task_id, clock(), everything=False)
        claimed = await _claim(sender, chunk, task_id, clock())
        await _send_claimed(sender, claimed, task_id, clock, result)
    if result.deferred:
        await enqueue(BatchOrder(app_pk=app_pk, campaign_id=campaign_id, delivery_ids=result.deferred, countdown=1.0))
    await _retries_enqueue(app_pk, campaign_id, result.retry_at, clock(), enqueue)
    return result


async def _retries_enqueue(
    app_pk: int, campaign_id: str, retry_at: dict[int, datetime], now: datetime, enqueue: BatchEnqueue
) -> None:
    """One delayed batch per second of due time (the tick queues them too, should these be lost)."""
    by_second: dict[int, list[int]] = defaultdict(list)
    for delivery_id, due in retry_at.items():
        by_second[max(0, int((due - now).total_seconds()) + 1)].append(delivery_id)
    for countdown, ids in sorted(by_second.items()):
        await enqueue(BatchOrder(app_pk=app_pk, campaign_id=campaign_id, delivery_ids=ids, countdown=countdown))


async def _send_claimed(
    sender: _Sender, claimed: list[ClaimedDelivery], task_id: str, clock: Clock, result: BatchResult
) -> None:
    by_provider: dict[str, tuple[PushProvider, list[ClaimedDelivery]]] = {}
    unavailable: list[ClaimedDelivery] = []
    for item in claimed:
        try:
            provider = await sender.provider(item)
        except Exception:  # e.g. credentials that cannot be read: another try later, like a provider's 503
            logger.warning("no push provider for app %s (%s)", sender.campaign.app_pk, item.device_type, exc_info=True)
            unavailable.append(item)
            continue
        by_provider.setdefault(provider.name, (provider, []))[1].append(item)
    campaign = sender.campaign
    if unavailable:
        await _send_piece(sender, _UNAVAILABLE, unavailable, task_id, clock, result)
    for name, (provider, claimed_items) in by_provider.items():
        for items in _rate_pieces(name, claimed_items):
            if not await tokens_wait(app_pk=campaign.app_pk, provider=name, count=len(items)):
                async with app_transaction(campaign.app_pk) as conn:
                    await deliveries_unclaim(conn, app_pk=campaign.app_pk, ids=[i.id for i in items], task_id=task_id)
                result.deferred.extend(item.id for item in items)
                continue
            await _send_piece(sender, provider, items, task_id, clock, result)


class _UnavailableProvider:
    """Stands for a provider that could not be had: every target is to be tried again later."""

    name = "unavailable"

    async def send_push(self, notification: PushNotification, targets: list[PushTarget]) -> list[DeliveryOutcome]:
        return [DeliveryOutcome(OutcomeKind.RETRY, error="provider unavailable")] * len(targets)

    async def aclose(self) -> None:
        return None


_UNAVAILABLE = _UnavailableProvider()


def _rate_pieces(provider: str, items: list[ClaimedDelivery]) -> list[list[ClaimedDelivery]]:
    """Pieces no larger than one second's worth of the provider's rate (a bucket never holds more)."""
    rate = rate_for(provider)
    size = max(1, int(rate)) if rate > 0 else len(items)
    return [items[start : start + size] for start in range(0, len(items), size)]


async def _send_piece(
    sender: _Sender, provider: PushProvider, items: list[ClaimedDelivery], task_id: str, clock: Clock,
    result: BatchResult,
) -> None:  # fmt: skip
    campaign = sender.campaign
    result.resent_unknown += sum(1 for item in items if item.reclaimed)
    answers = await sender.send(provider, items)
    now = clock()
    outcomes = [_outcome_for(item, answer, now) for item, answer in zip(items, answers, strict=True)]
    counts = await _record(campaign, items, outcomes, task_id, now)
    for outcome in outcomes:
        if outcome.state == "sent":
            result.sent += 1
        elif outcome.state == "invalid":
            result.invalid += 1
        elif outcome.state == "queued":
            result.retried += 1
            assert outcome.due_at is not None
            result.retry_at[outcome.id] = outcome.due_at
        else:
            result.failed += 1
    await _complete_if_counted(campaign.app_pk, campaign.campaign_id, counts)
