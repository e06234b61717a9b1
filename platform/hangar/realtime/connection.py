"""One LiveQuery WebSocket: its admission, its subscriptions and its bounded send queue.

Frames to send wait in a per-connection queue bounded in frames and bytes
(``HANGAR_LIVEQUERY_SEND_QUEUE``, ``HANGAR_LIVEQUERY_SEND_QUEUE_BYTES``). A client that
reads slower than its events arrive fills it: the queue is dropped, the client gets an
error (code 155) and the connection is closed (the SDK reconnects and subscribes again),
so a slow consumer costs bounded memory and never slows the others.

A frame is written at once, without the queue, when nothing is queued or being written
and the server offers a direct frame writer (``hangar.realtime.uvicorn_websocket``) that
can take it now: the common case, which then costs no task wake-up and no ASGI message.
Otherwise it waits in the queue, which a task started for the purpose writes through
``websocket.send`` (waiting for a paused transport), so frames keep their order; the task
ends once the queue is empty. An idle connection holds no task of its own beyond the one
reading its messages: fewer objects per connection for memory and for the garbage
collector, whose full collections walk every one of them (docs/realtime.md, "Measured").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from hangar.admission.callers import AuthContext, Credentials, admit
from hangar.caller import Caller
from hangar.outages import is_outage
from hangar.parse_errors import (
    CONNECTION_FAILED,
    INVALID_SESSION_TOKEN,
    REQUEST_LIMIT_EXCEEDED,
    ParseError,
    UnauthorizedError,
)
from hangar.realtime.hub import Hub
from hangar.realtime.protocol import (
    INVALID_KEY,
    NOT_CONNECTED,
    Connect,
    LiveQueryError,
    Subscribe,
    Unsubscribe,
    decode,
    error_frame,
    parse_message,
    status_frame,
)
from hangar.realtime.subscriptions import Subscription, subscription_build
from hangar.realtime.uvicorn_websocket import WriteTextFrame

log = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]
_CLIENT_KEYS = (
    ("javascriptKey", "javascript"), ("clientKey", "client"), ("restAPIKey", "rest"), ("windowsKey", "dotnet"),
)  # fmt: skip


def _key_error() -> LiveQueryError:
    # Parse Server's answer to a connect whose keys do not match (§16.5, code 4); an unknown
    # app is answered the same, so the two cannot be told apart.
    return LiveQueryError(INVALID_KEY, "Key in request is not valid", reconnect=False, close=True)


class Connection:
    def __init__(self, hub: Hub, send: Send, client_ip: str, write_now: WriteTextFrame | None = None) -> None:
        self.hub = hub
        self.client_id = str(uuid.uuid4())
        self.client_ip = client_ip
        self.installation_id: str | None = None
        self.credentials: Credentials | None = None
        self.auth: AuthContext | None = None
        self.session_token: str | None = None
        self.session_revoked = False
        self.subscriptions: dict[int, Subscription] = {}
        self._send = send
        self._write_now = write_now
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self._writer: asyncio.Task[None] | None = None  # while frames wait or are being written
        # Read once: this runs for every frame of every subscriber.
        self._queue_limit = settings.HANGAR_LIVEQUERY_SEND_QUEUE
        self._queue_bytes_limit = settings.HANGAR_LIVEQUERY_SEND_QUEUE_BYTES
        self._close_code: int | None = None
        self._close_sent = False
        self.reader: asyncio.Task[Any] | None = None  # the task reading the client's messages
        self.writer_failed = False

    @property
    def app_pk(self) -> int | None:
        return self.auth.app_pk if self.auth is not None else None

    # Sending

    def send(self, frame: bytes) -> None:
        """Queue a frame; a full queue closes the connection (the module docstring)."""
        if self._close_code is not None:
            return
        if self._writer is None and self._write_now is not None and self._write_now(frame):
            return
        if len(self._queue) >= self._queue_limit or self._queued_bytes + len(frame) > self._queue_bytes_limit:
            self._queue.clear()
            self._queued_bytes = 0
            overflow = LiveQueryError(
                REQUEST_LIMIT_EXCEEDED, "The client reads its events too slowly; it was disconnected.", reconnect=True
            )
            self._queue.append(error_frame(overflow))
            self.close(1013)
            return
        self._queue.append(frame)
        self._queued_bytes += len(frame)
        self._start_writer()

    def close(self, code: int = 1000) -> None:
        """Close once the frames already queued are sent."""
        if self._close_code is None:
            self._close_code = code
        if not self._close_sent:
            self._start_writer()

    def _start_writer(self) -> None:
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_queued())

    async def _write_queued(self) -> None:
        """Send the queued frames in order, then the close frame if one is due; the task ends with the queue."""
        try:
            while self._queue:
                frame = self._queue.popleft()
                self._queued_bytes -= len(frame)
                await self._send({"type": "websocket.send", "text": frame.decode()})
            if self._close_code is not None and not self._close_sent:
                self._close_sent = True
                await self._send({"type": "websocket.close", "code": self._close_code})
        except asyncio.CancelledError:
            raise
        except OSError:
            pass  # the client is gone (uvicorn's ClientDisconnected): its reader hears of it too
        except Exception:
            log.exception("LiveQuery could not write to a connection")
            self.writer_failed = True  # end the connection: its reader stops
            if self.reader is not None:
                self.reader.cancel()
        finally:
            self._writer = None

    async def stop_writing(self) -> None:
        """The connection ended: stop its writer task, if one is running."""
        writer = self._writer
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(BaseException):
                await writer

    def close_unless_connected(self) -> None:
        """The connect deadline: a socket that has not been admitted by now is told and closed."""
        if self.auth is None:
            self._error(LiveQueryError(NOT_CONNECTED, "No connect message within the time allowed.", close=True))

    def _error(self, error: LiveQueryError) -> None:
        self.send(error_frame(error))
        if error.close:
            self.close(1008)

    # Receiving

    async def receive(self, raw: str | bytes | None) -> None:
        message = decode(raw)
        if message is None:
            return  # not JSON: ignored, as Parse Server does
        try:
            parsed = parse_message(message)
        except LiveQueryError as error:
            self._error(error)
            return
        try:
            if isinstance(parsed, Connect):
                await self._connect(parsed)
            elif isinstance(parsed, Subscribe):
                await self._subscribe(parsed)
            else:
                await self._unsubscribe(parsed)
        except LiveQueryError as error:
            self._error(error)
        except Exception as exc:
            # PostgreSQL or Redis unavailable (or a Redis subscription not confirmed in time): Parse's
            # 100, as the REST API's 503; a connect that could not complete closes the socket.
            if not (is_outage(exc) or isinstance(exc, TimeoutError)):
                raise
            self._error(LiveQueryError(
                CONNECTION_FAILED, "A service Hangar depends on is unavailable; retry shortly.",
                request_id=getattr(parsed, "request_id", None), close=isinstance(parsed, Connect),
            ))  # fmt: skip

    async def _admit(self, session_token: str | None) -> AuthContext:
        assert self.credentials is not None
        credentials = Credentials(
            application_id=self.credentials.application_id, client_ip=self.client_ip,
            master_key=self.credentials.master_key, client_keys=self.credentials.client_keys,
            session_token=session_token, installation_id=self.installation_id,
        )  # fmt: skip
        return await admit(credentials)

    async def _connect(self, message: Connect) -> None:
        if self.auth is not None:
            return  # connected already: a repeated connect changes nothing
        self.installation_id = message.installation_id
        self.credentials = Credentials(
            application_id=message.application_id, client_ip=self.client_ip,
            master_key=message.keys.get("masterKey"),
            client_keys=tuple((kind, message.keys.get(name)) for name, kind in _CLIENT_KEYS),
            installation_id=message.installation_id,
        )  # fmt: skip
        try:
            auth = await self._admit(message.session_token)
        except ParseError as exc:
            raise self._connect_error(exc) from exc
        limit = auth.app.plan.max_live_connections
        if limit and await self.hub.connection_count(auth.app_pk) >= limit:
            raise LiveQueryError(
                REQUEST_LIMIT_EXCEEDED, f"This app's plan allows {limit} live connections; all are in use.",
                reconnect=False, close=True,
            )  # fmt: skip
        self.auth = auth
        self.session_token = message.session_token
        await self.hub.connection_opened(self, auth.app_pk, auth.app.application_id)
        self.send(status_frame("connected", self.client_id, self.installation_id))

    @staticmethod
    def _connect_error(exc: ParseError) -> LiveQueryError:
        if exc.code == INVALID_SESSION_TOKEN:
            return LiveQueryError(exc.code, exc.message, reconnect=False, close=True)
        if exc.status == 429 or exc.status >= 500:
            return LiveQueryError(exc.code, exc.message, reconnect=True, close=True)
        return _key_error()

    def _not_connected(self, action: str) -> LiveQueryError:
        return LiveQueryError(
            NOT_CONNECTED, f"Can not find this client, make sure you connect to server before {action}"
        )

    async def _caller_for(self, message: Subscribe) -> tuple[Caller, str | None]:
        if message.session_token:
            token: str | None = message.session_token
        elif self.session_revoked:  # the connection's session was revoked since it connected
            raise ParseError(INVALID_SESSION_TOKEN, "Invalid session token")
        else:
            token = self.session_token
        auth = await self._admit(token)
        return auth.caller, token

    async def _subscribe(self, message: Subscribe) -> None:
        if self.auth is None:
            raise self._not_connected("subscribing")
        request_id = message.request_id
        previous = self.subscriptions.get(request_id)
        if previous is None and len(self.subscriptions) >= settings.HANGAR_LIVEQUERY_MAX_SUBSCRIPTIONS:
            raise LiveQueryError(
                REQUEST_LIMIT_EXCEEDED,
                f"At most {settings.HANGAR_LIVEQUERY_MAX_SUBSCRIPTIONS} subscriptions per connection.",
                reconnect=False, request_id=request_id,
            )  # fmt: skip
        try:
            caller, token = await self._caller_for(message)
            subscription = await subscription_build(
                self, request_id=request_id, caller=caller, session_token=token, query=message.query,
                allowed_classes=self.auth.app.live_query_classes,
            )  # fmt: skip
        except ParseError as exc:
            raise LiveQueryError(exc.code, exc.message, reconnect=False, request_id=request_id) from exc
        if previous is not None:  # an update (or a repeated subscribe) replaces the query
            del self.subscriptions[request_id]
            await self.hub.remove(previous)
        await self.hub.add(subscription)
        self.subscriptions[request_id] = subscription
        self.send(status_frame("subscribed", self.client_id, self.installation_id, request_id))

    async def _unsubscribe(self, message: Unsubscribe) -> None:
        if self.auth is None:
            raise self._not_connected("unsubscribing")
        subscription = self.subscriptions.pop(message.request_id, None)
        if subscription is None:
            raise LiveQueryError(
                NOT_CONNECTED,
                f"Cannot find subscription with clientId {self.client_id} subscriptionId {message.request_id}. "
                "Make sure you subscribe to live query server before unsubscribing.",
                request_id=message.request_id,
            )
        await self.hub.remove(subscription)
        self.send(status_frame("unsubscribed", self.client_id, self.installation_id, message.request_id))

    async def readmit(self) -> bool:
        """Check the connection's keys against the app as it is now; a refused one is told and closed."""
        assert self.credentials is not None
        try:
            auth = await admit(self.credentials, resolve_session=False)
        except UnauthorizedError:
            self._error(_key_error())
            return False
        except ParseError:  # over the rate limit: the keys were not judged; keep the connection
            return self.auth is not None
        if auth.app_pk != self.app_pk:  # the id names another app now: never carry a subscriber across
            self._error(_key_error())
            return False
        self.auth = auth
        return True

    async def drop(self, subscription: Subscription, error: LiveQueryError) -> None:
        """End one subscription from the server's side (its session was revoked), telling the client why."""
        if self.subscriptions.get(subscription.request_id) is subscription:
            del self.subscriptions[subscription.request_id]
            await self.hub.remove(subscription)
            self._error(error)
