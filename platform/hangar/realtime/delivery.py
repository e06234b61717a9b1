"""From one change of the feed to the frames each subscription receives (reference §16.4).

Per event, work is shared: each distinct query is matched once against the object before
and after the change; each distinct ACL principal set is checked once against the
readers the feed carries (no database read); each distinct view (what a subscriber may
see: protected and owner-only fields, ``keys``, ``include`` with its caller) renders and
encodes the object once. Only then is a frame built per subscription, by splicing the
encoded object into its head.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import orjson
from django.conf import settings

from hangar.datastore.include import include_paths
from hangar.datastore.schema_registry import app_schemas
from hangar.datastore.wire import project
from hangar.outages import is_outage
from hangar.parse_errors import ParseError
from hangar.realtime.protocol import event_head, event_tail
from hangar.realtime.subscriptions import Subscription

log = logging.getLogger(__name__)


def _points_at(value: Any, user_id: str) -> bool:
    if isinstance(value, list):
        return any(_points_at(item, user_id) for item in value)
    return isinstance(value, dict) and value.get("objectId") == user_id and value.get("className") == "_User"


class _Event:
    """One change, with what is computed once for every subscription that hears it."""

    def __init__(self, change: dict[str, Any], application_id: str) -> None:
        self.operation: str = change.get("op") or ""
        self.before: dict[str, Any] | None = change.get("original")
        self.after: dict[str, Any] | None = change.get("object")
        self.class_name: str = change.get("className") or ""
        readers_before = change.get("readersBefore")
        readers_after = change.get("readersAfter")
        self._readers = (
            None if readers_before is None else frozenset(readers_before),
            None if readers_after is None else frozenset(readers_after),
        )
        self._matched: dict[bytes, tuple[bool, bool]] = {}
        self._readable: dict[tuple[str, ...], tuple[bool, bool]] = {}
        self._encoded: dict[tuple[Any, ...], tuple[bytes | None, bytes | None]] = {}
        self.files_base = f"{settings.HANGAR_PUBLIC_URL}{settings.HANGAR_PARSE_MOUNT}/files/{application_id}"

    def matched(self, subscription: Subscription) -> tuple[bool, bool]:
        known = self._matched.get(subscription.query_key)
        if known is None:
            known = self._matched[subscription.query_key] = (
                self.before is not None and subscription.matches(self.before),
                self.after is not None and subscription.matches(self.after),
            )
        return known

    def readable(self, subscription: Subscription) -> tuple[bool, bool]:
        """Whether the subscriber may read the object before and after: ACL, then pointer permissions."""
        principals = subscription.principals
        if principals is None:
            return True, True
        known = self._readable.get(principals)
        if known is None:
            known = self._readable[principals] = tuple(  # type: ignore[assignment]
                readers is None or not readers.isdisjoint(principals) for readers in self._readers
            )
        assert known is not None
        if not subscription.pointer_fields:
            return known
        user_id = subscription.caller.user_id or ""
        return (
            known[0] and self._pointer_allows(self.before, subscription, user_id),
            known[1] and self._pointer_allows(self.after, subscription, user_id),
        )

    @staticmethod
    def _pointer_allows(obj: dict[str, Any] | None, subscription: Subscription, user_id: str) -> bool:
        if obj is None or not user_id:
            return False
        return any(_points_at(obj.get(name), user_id) for name in subscription.pointer_fields)

    async def encoded(self, subscription: Subscription) -> tuple[bytes | None, bytes | None]:
        """``object`` and ``original`` as this subscriber sees them, encoded (once per view)."""
        key = subscription.view_key
        known = self._encoded.get(key)
        if known is None:
            known = self._encoded[key] = (
                await self._render(self.after if self.after is not None else self.before, subscription),
                await self._render(self.before, subscription) if self.after is not None else None,
            )
        return known

    async def _render(self, obj: dict[str, Any] | None, subscription: Subscription) -> bytes | None:
        if obj is None:
            return None
        caller = subscription.caller
        if subscription.owner_only:  # as wire_encoder: a user's own row shows it everything
            itself = caller.user_id == obj.get("objectId")
            hidden = frozenset() if itself else subscription.hidden | subscription.owner_only
        else:
            hidden = subscription.hidden
        view = {name: value for name, value in obj.items() if name not in hidden} if hidden else dict(obj)
        query = subscription.query
        if subscription.include:
            await self._include(view, subscription)
        view = project(view, list(query.keys), None) if query.keys is not None else view
        view["className"] = self.class_name
        return orjson.dumps(view)

    async def _include(self, view: dict[str, Any], subscription: Subscription) -> None:
        caller = subscription.caller
        try:
            schemas = await app_schemas(caller.app_pk, caller.schema_version)
            await include_paths(caller, schemas, [view], list(subscription.include), self.files_base)
        except ParseError as exc:  # the include budget: the pointers stay pointers
            log.info("LiveQuery include skipped: %s", exc.message)
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning("LiveQuery include skipped: the database is unavailable")


def _event_name(operation: str, was: bool, now: bool) -> str | None:
    if operation == "create":
        return "create" if now else None
    if operation == "delete":
        return "delete" if was else None
    if was and now:
        return "update"
    if was:
        return "leave"
    return "enter" if now else None


def _watched_changed(event: _Event, watch: tuple[str, ...]) -> bool:
    before = event.before or {}
    after = event.after or {}
    return any(before.get(name) != after.get(name) for name in watch)


_WITH_ORIGINAL = frozenset({"update", "enter", "leave"})


async def _outcome(event: _Event, subscription: Subscription, matched: tuple[bool, bool]) -> tuple[str, bytes] | None:
    """The event's name for this subscriber and its frame after the opening, or None if it gets nothing."""
    matched_before, matched_after = matched
    readable_before, readable_after = event.readable(subscription)
    name = _event_name(event.operation, matched_before and readable_before, matched_after and readable_after)
    if name is None:
        return None
    watch = subscription.query.watch
    if watch and name in {"create", "update"} and not _watched_changed(event, watch):
        return None
    obj, original = await event.encoded(subscription)
    if obj is None:
        return None
    return name, event_tail(obj, original if name in _WITH_ORIGINAL else None)


async def deliver_event(change: dict[str, Any], groups: Iterable[Iterable[Subscription]], application_id: str) -> None:
    """Send each subscription the frame it receives for this change (none for most), as soon as it is built.

    ``groups`` holds the subscriptions by query (``Subscription.query_key``): each group is
    matched once, and within a group what a subscriber gets is decided once per
    ``Subscription.delivery_key``; per subscriber there remains its frame's opening (its
    ``clientId`` and ``requestId``) and the write. Frames go out one by one rather than
    after all are built: the first subscribers get theirs sooner, and no list of thousands
    of frames outlives young garbage collections.
    """
    event = _Event(change, application_id)
    for group in groups:
        matched: tuple[bool, bool] | None = None
        outcomes: dict[bytes, tuple[str, bytes] | None] = {}
        for subscription in group:
            if matched is None:
                matched = event.matched(subscription)
                if not (matched[0] or matched[1]):
                    break  # the whole group has this query
            key = subscription.delivery_key
            if key in outcomes:
                outcome = outcomes[key]
            else:
                outcome = outcomes[key] = await _outcome(event, subscription, matched)
            if outcome is None:
                continue
            name, tail = outcome
            head = subscription.heads.get(name)
            if head is None:
                connection = subscription.connection
                head = subscription.heads[name] = event_head(
                    name, connection.client_id, connection.installation_id, subscription.request_id
                )
            subscription.connection.send(head + tail)
