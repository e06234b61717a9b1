"""One per server process: its LiveQuery connections, their subscriptions, and its Redis feed.

The process subscribes (Redis pub/sub) only to the change channels of the (app, class)
pairs it has subscribers for, and to the session and role change channels of the apps it
has connections for. Before a subscription is confirmed its channel is subscribed (the
confirmation from Redis awaited) and its class is registered in the app's record of
published classes (``change_feed.live_classes_set``), so a write admitted after the
``subscribed`` frame reaches it. Every few seconds the process refreshes that record and
writes its counts for the dashboard (``hangar.realtime.stats``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, cast

import orjson
import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from hangar.caller import Caller
from hangar.datastore.change_feed import change_channel, live_classes_set, process_id
from hangar.datastore.schema_registry import schema_changed_channel, schema_version_key
from hangar.identity.roles import role_version_key, roles_changed_channel, user_role_names
from hangar.identity.sessions import session_user_id, session_version_key, sessions_changed_channel
from hangar.invalidation import app_changed_channel
from hangar.loop_local import LoopLocal
from hangar.parse_errors import INVALID_SESSION_TOKEN, OPERATION_FORBIDDEN, ParseError
from hangar.realtime.delivery import deliver_event
from hangar.realtime.heap import HeapKeeper
from hangar.realtime.protocol import LiveQueryError
from hangar.realtime.stats import STATS_SECONDS, STATS_TTL_SECONDS, live_stats_key, stats_entry, stats_sum
from hangar.realtime.subscriptions import subscription_access, subscription_apply
from hangar.redis_async import get_redis

if TYPE_CHECKING:
    from hangar.realtime.connection import Connection
    from hangar.realtime.subscriptions import Subscription

log = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT_SECONDS = 5.0
_CHANGES = b"hangar:changes:"
_SESSIONS = b"hangar:sessions-changed:"
_ROLES = b"hangar:roles-changed:"
_SCHEMA = b"hangar:schema-changed:"
_APP = b"hangar:app-changed:"


def _app_channels(app_pk: int, application_id: str) -> list[str]:
    """What a process with connections of the app must hear of at once: revocations and changes."""
    return [
        sessions_changed_channel(app_pk), roles_changed_channel(app_pk), schema_changed_channel(app_pk),
        app_changed_channel(application_id),
    ]  # fmt: skip


def _refused(subscription: Subscription, exc: ParseError) -> LiveQueryError:
    return LiveQueryError(exc.code, exc.message, reconnect=False, request_id=subscription.request_id)


class Hub:
    def __init__(self) -> None:
        self.connections: set[Connection] = set()
        self.by_app: dict[int, set[Connection]] = defaultdict(set)
        self.application_ids: dict[int, str] = {}
        # (app, class) -> query key -> subscriptions with that query (a dict: ordered, O(1) removal)
        self.index: dict[tuple[int, str], dict[bytes, dict[Subscription, None]]] = {}
        self._registered: dict[int, frozenset[str]] = {}  # classes recorded as listened to, per app
        self._channels: set[bytes] = set()
        self._confirmations: dict[bytes, asyncio.Future[None]] = {}
        self._locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._redis: aioredis.Redis | None = None
        self._pubsub: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._stats_apps: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._counts_changed = False
        self._lost = False  # the pub/sub connection failed: subscribe every channel again
        self._closed = False
        self._heap = HeapKeeper()

    # Connections

    def local_connections(self, app_pk: int) -> int:
        return len(self.by_app.get(app_pk, ()))

    async def connection_count(self, app_pk: int) -> int:
        """Connections of the app over every process (the others' as last reported, this one's now)."""
        entries = await get_redis().hgetall(live_stats_key(app_pk))
        return stats_sum(entries, skip=process_id())["connections"] + self.local_connections(app_pk)

    async def connection_opened(self, connection: Connection, app_pk: int, application_id: str) -> None:
        self._start()
        self._heap.connection_opened()
        self.connections.add(connection)
        first = not self.by_app.get(app_pk)
        self.by_app[app_pk].add(connection)
        self.application_ids[app_pk] = application_id
        self._stats_apps.add(app_pk)
        self._counts_changed = True
        if first:
            async with self._locks[app_pk]:
                await self._subscribe_channels(_app_channels(app_pk, application_id))

    async def connection_closed(self, connection: Connection) -> None:
        self.connections.discard(connection)
        self._heap.connection_closed()
        self._counts_changed = True
        for subscription in list(connection.subscriptions.values()):
            await self.remove(subscription)
        connection.subscriptions.clear()
        app_pk = connection.app_pk
        if app_pk is None:
            return
        members = self.by_app.get(app_pk)
        if members is not None:
            members.discard(connection)
            if not members:
                del self.by_app[app_pk]
                self._background(self._leave_app(app_pk))

    async def _leave_app(self, app_pk: int) -> None:
        async with self._locks[app_pk]:
            if not self.by_app.get(app_pk):  # nobody of the app came back meanwhile
                await self._unsubscribe_channels(_app_channels(app_pk, self.application_ids.get(app_pk, "")))

    # Subscriptions

    async def add(self, subscription: Subscription) -> None:
        """Index the subscription, once its channel is subscribed and its class recorded as published."""
        app_pk, class_name = subscription.app_pk, subscription.class_name
        async with self._locks[app_pk]:
            await self._subscribe_channels([change_channel(app_pk, class_name)])
            registered = self._registered.get(app_pk, frozenset())
            if class_name not in registered:
                await live_classes_set(app_pk, registered | {class_name})
                self._registered[app_pk] = registered | {class_name}
            self.index.setdefault((app_pk, class_name), {}).setdefault(subscription.query_key, {})[subscription] = None
            self._counts_changed = True

    async def remove(self, subscription: Subscription) -> None:
        app_pk, class_name = subscription.app_pk, subscription.class_name
        by_query = self.index.get((app_pk, class_name))
        if by_query is None:
            return
        group = by_query.get(subscription.query_key, {})
        if group.pop(subscription, False) is None:
            self._counts_changed = True
        if not group:
            by_query.pop(subscription.query_key, None)
        if by_query:
            return
        del self.index[(app_pk, class_name)]
        # In the background: the listener may be the caller (a revocation), and the work waits on it.
        self._background(self._release(app_pk, class_name))

    async def _release(self, app_pk: int, class_name: str) -> None:
        """Stop hearing a class nobody here subscribes to any more."""
        async with self._locks[app_pk]:
            if (app_pk, class_name) in self.index:  # subscribed again meanwhile
                return
            remaining = self._registered.get(app_pk, frozenset()) - {class_name}
            try:
                await live_classes_set(app_pk, remaining)
                await self._unsubscribe_channels([change_channel(app_pk, class_name)])
            except Exception:
                log.exception("could not stop listening to %s of app %s", class_name, app_pk)
            if remaining:
                self._registered[app_pk] = remaining
            else:
                self._registered.pop(app_pk, None)

    # Redis pub/sub

    def _start(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(self._listen())
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.get_running_loop().create_task(self._refresh())

    def _pubsub_client(self) -> Any:
        if self._pubsub is None:
            if self._redis is None:
                # Its own client: a subscribed connection is not shared with commands (get_message
                # waits with a deadline of its own); one retry without back-off, as hangar.redis_async.
                timeout = settings.HANGAR_REDIS_TIMEOUT_SECONDS
                self._redis = aioredis.Redis.from_url(
                    str(settings.REDIS_URL), socket_connect_timeout=timeout, socket_timeout=timeout,
                    socket_keepalive=True, retry=Retry(NoBackoff(), retries=1), driver_info=None,
                )  # fmt: skip
            self._pubsub = self._redis.pubsub()
        return self._pubsub

    async def _subscribe_channels(self, channels: list[str]) -> None:
        wanted = [channel.encode() for channel in channels if channel.encode() not in self._channels]
        if not wanted:
            return
        loop = asyncio.get_running_loop()
        waiters = []
        for channel in wanted:
            waiter = self._confirmations.get(channel)
            if waiter is None or waiter.done():
                waiter = self._confirmations[channel] = loop.create_future()
            waiters.append(waiter)
        try:
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                await self._pubsub_client().subscribe(*wanted)
                await asyncio.gather(*waiters)
        finally:
            for channel in wanted:
                self._confirmations.pop(channel, None)
        self._channels.update(wanted)

    async def _unsubscribe_channels(self, channels: list[str]) -> None:
        gone = [channel.encode() for channel in channels if channel.encode() in self._channels]
        if gone and self._pubsub is not None:
            self._channels.difference_update(gone)
            await self._pubsub.unsubscribe(*gone)

    async def _listen(self) -> None:
        while not self._closed:
            if self._lost:
                await self._resubscribe()
                continue
            pubsub = self._pubsub
            if pubsub is None or pubsub.connection is None:
                await asyncio.sleep(0.05)
                continue
            try:
                message = await pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("LiveQuery lost its Redis subscription; subscribing again", exc_info=True)
                self._lost = True
                continue
            if message is not None:
                await self._dispatch(message)

    async def _resubscribe(self) -> None:
        """A new pub/sub connection for every channel (events published meanwhile are lost), once a second.

        Confirmations are not awaited here: this task is the one that reads them.
        """
        old, self._pubsub = self._pubsub, None
        if old is not None:
            with contextlib.suppress(Exception):
                await old.aclose()
        await asyncio.sleep(1.0)
        try:
            if self._channels:
                async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                    await self._pubsub_client().subscribe(*self._channels)
            self._lost = False
        except Exception:
            log.warning("LiveQuery could not subscribe to Redis again yet")

    async def _dispatch(self, message: dict[str, Any]) -> None:
        channel: bytes = message.get("channel") or b""
        kind = message.get("type")
        if kind == "subscribe":
            waiter = self._confirmations.get(channel)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            return
        if kind != "message":
            return
        try:
            if channel.startswith(_CHANGES):
                app_part, _, class_part = channel[len(_CHANGES) :].partition(b":")
                await self._deliver(int(app_part), class_part.decode(), message["data"])
            elif channel.startswith(_SESSIONS):
                self._background(self._sessions_changed(int(channel[len(_SESSIONS) :])))
            elif channel.startswith(_ROLES):
                self._background(self._roles_changed(int(channel[len(_ROLES) :])))
            elif channel.startswith(_SCHEMA):
                self._background(self._schema_changed(int(channel[len(_SCHEMA) :])))
            elif channel.startswith(_APP):
                application_id = channel[len(_APP) :].decode()
                for app_pk in [pk for pk, known in self.application_ids.items() if known == application_id]:
                    self._background(self._app_changed(app_pk))
        except Exception:
            log.exception("LiveQuery could not handle a message on %r", channel)

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(self._logged(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _logged(work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception:
            log.exception("LiveQuery background work failed")

    async def _deliver(self, app_pk: int, class_name: str, data: bytes) -> None:
        by_query = self.index.get((app_pk, class_name))
        if not by_query:
            return
        change = orjson.loads(data)
        if change.get("className") != class_name:
            return  # the channel names the class: anything else is not this class's event
        # A snapshot: subscriptions may come and go while the event is delivered (include awaits).
        groups = [list(group) for group in by_query.values()]
        await deliver_event(change, groups, self.application_ids.get(app_pk, ""))

    # Revocations

    async def _sessions_changed(self, app_pk: int) -> None:
        """Drop the subscriptions (and connection sessions) whose token was revoked, at once."""
        connections = list(self.by_app.get(app_pk, ()))
        if not connections:
            return
        version = cast("bytes | None", await get_redis().get(session_version_key(app_pk)))
        verdicts: dict[str, bool] = {}

        async def revoked(token: str) -> bool:
            if token not in verdicts:
                try:
                    await session_user_id(app_pk=app_pk, token=token, session_version=version)
                    verdicts[token] = False
                except ParseError:
                    verdicts[token] = True
            return verdicts[token]

        for connection in connections:
            if connection.session_token and await revoked(connection.session_token):
                connection.session_revoked = True
            for subscription in list(connection.subscriptions.values()):
                if subscription.session_token and await revoked(subscription.session_token):
                    await connection.drop(
                        subscription,
                        LiveQueryError(
                            INVALID_SESSION_TOKEN, "Invalid session token", reconnect=False,
                            request_id=subscription.request_id,
                        ),
                    )  # fmt: skip

    async def _roles_changed(self, app_pk: int) -> None:
        """Give every subscriber of the app its roles as they are now."""
        version = cast("bytes | None", await get_redis().get(role_version_key(app_pk)))
        roles: dict[str, tuple[str, ...]] = {}

        async def with_roles(caller: Caller) -> Caller:
            if caller.is_master or not caller.user_id:
                return caller
            if caller.user_id not in roles:
                roles[caller.user_id] = await user_role_names(
                    app_pk=app_pk, user_id=caller.user_id, role_version=version
                )
            principals = ("*", caller.user_id, *(f"role:{name}" for name in roles[caller.user_id]))
            return caller if principals == caller.principals else dataclasses.replace(caller, principals=principals)

        await self._recheck(app_pk, with_roles)

    async def _schema_changed(self, app_pk: int) -> None:
        """Check every subscription of the app again under the new schema (CLP, protected fields)."""
        version = cast("bytes | None", await get_redis().get(schema_version_key(app_pk)))

        async def with_schema(caller: Caller) -> Caller:
            return dataclasses.replace(caller, schema_version=version)

        await self._recheck(app_pk, with_schema)

    async def _app_changed(self, app_pk: int) -> None:
        """A key rotated, the app deleted or its settings changed: admit every connection again."""
        for connection in list(self.by_app.get(app_pk, ())):
            if not await connection.readmit():
                continue
            allowed = connection.auth.app.live_query_classes if connection.auth is not None else None
            for subscription in list(connection.subscriptions.values()):
                if allowed is not None and subscription.class_name not in allowed:
                    await connection.drop(subscription, _refused(subscription, ParseError(
                        OPERATION_FORBIDDEN,
                        f"LiveQuery is not enabled for class {subscription.class_name} in this app.",
                    )))  # fmt: skip

    async def _recheck(self, app_pk: int, refreshed: Callable[[Caller], Awaitable[Caller]]) -> None:
        for connection in list(self.by_app.get(app_pk, ())):
            allowed = connection.auth.app.live_query_classes if connection.auth is not None else None
            for subscription in list(connection.subscriptions.values()):
                caller = await refreshed(subscription.caller)
                try:
                    access = await subscription_access(caller, subscription.query, allowed)
                except ParseError as exc:
                    await connection.drop(subscription, _refused(subscription, exc))
                    continue
                subscription_apply(subscription, caller, access)

    # Upkeep

    async def _refresh(self) -> None:
        """Every STATS_SECONDS, and within a second of a change of counts: records and stats to Redis."""
        loop = asyncio.get_running_loop()
        last = 0.0
        while not self._closed:
            await asyncio.sleep(1.0)
            self._heap.tick(len(self.connections))
            if not self._counts_changed and loop.time() - last < STATS_SECONDS:
                continue
            self._counts_changed = False
            last = loop.time()
            try:
                await self._refresh_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("LiveQuery could not refresh its records in Redis", exc_info=True)

    async def _refresh_once(self) -> None:
        for app_pk, classes in list(self._registered.items()):
            await live_classes_set(app_pk, classes)
        redis = get_redis()
        async with redis.pipeline(transaction=False) as pipe:
            for app_pk in list(self._stats_apps):
                key = live_stats_key(app_pk)
                connections = self.by_app.get(app_pk)
                if not connections:
                    pipe.hdel(key, process_id())
                    self._stats_apps.discard(app_pk)
                    continue
                pipe.hset(key, process_id(), stats_entry(len(connections), self._subscription_counts(app_pk)))
                pipe.expire(key, STATS_TTL_SECONDS * 2)
            await pipe.execute()

    def _subscription_counts(self, app_pk: int) -> dict[str, int]:
        return {
            class_name: sum(len(group) for group in by_query.values())
            for (app, class_name), by_query in self.index.items()
            if app == app_pk
        }

    async def close(self) -> None:
        """Server shutdown: close every connection (clients reconnect elsewhere), leave the records."""
        self._closed = True
        for connection in list(self.connections):
            connection.close(1001)
        for task in (self._listener, self._refresher):
            if task is not None:
                task.cancel()
        for app_pk in list(self._registered):
            with contextlib.suppress(Exception):
                await live_classes_set(app_pk, [])
        with contextlib.suppress(Exception):
            redis = get_redis()
            for app_pk in list(self._stats_apps):
                await redis.hdel(live_stats_key(app_pk), process_id())
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()


_hubs: LoopLocal[Hub] = LoopLocal()


def local_connection_count() -> int:
    """LiveQuery connections this event loop's hub holds (metrics); 0 when it has none."""
    hub = _hubs.get()
    return len(hub.connections) if hub is not None else 0


def get_hub() -> Hub:
    hub = _hubs.get()
    if hub is None:
        hub = Hub()
        _hubs.set(hub)
    return hub


async def close_hub() -> None:
    hub = _hubs.pop()
    if hub is not None:
        await hub.close()
