"""Which app a request is for, its keys, its plan and its rate limit, cached per process.

The plan is read here, with the app, and nowhere else on the data plane: services get
its limits from the ``Caller`` (``Caller.plan``).

An app is loaded from PostgreSQL on first use and kept with the value of its version
counter in Redis (hangar.invalidation). Every request reads that counter in the same
Redis pipeline as its rate-limit increment; when the counter moved, the app is
reloaded before the request is authorized. Keys are held only as per-process digests.

The app id is public (it is in every file URL), so only a request that carries one of
the app's keys is counted in the app's own window: keyless and wrong-key requests (and
file downloads by URL) are counted per client address, in a window of their own, so
anonymous traffic cannot starve the app. The key is checked against the cached app
before counting, in the same single round trip. An unknown application id is
remembered per process for a few seconds, and the lookups of unknown ids are counted
per address, so a flood of made-up ids cannot turn into one database query each.

A keyed request is also metered in that round trip (hangar.analytics.usage_keys: the app's
hour and month counters, unless HANGAR_METERING is off), and refused with 429 / code 155
once the month's count passes the plan's ``monthly_requests``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

from django.conf import settings

from hangar.admission.batch import versions_and_count
from hangar.analytics.usage_keys import seconds_to_next_month, usage_keys
from hangar.bounded_cache import LruCache
from hangar.caller import CloudWebhooks, DeployedCode, PlanLimits
from hangar.datastore.change_feed import live_classes_key
from hangar.datastore.schema_registry import schema_version_key
from hangar.db_pool import get_pool
from hangar.identity.roles import role_version_key
from hangar.identity.sessions import session_version_key
from hangar.invalidation import app_version_key, restoring_key
from hangar.parse_errors import CONNECTION_FAILED, REQUEST_LIMIT_EXCEEDED, ParseError
from hangar.redis_async import get_redis
from hangar.secretbox import decrypt_secret, memory_digest


@dataclass(frozen=True)
class AppRecord:
    pk: int
    application_id: str
    name: str
    requests_per_second: int  # 0: unlimited
    plan: PlanLimits
    key_digests: dict[str, bytes]  # kind (client, javascript, rest, dotnet, master) -> digest
    version: bytes | None
    loaded_at: float
    # Classes LiveQuery clients may subscribe to (App.live_query_classes); None: every class.
    live_query_classes: frozenset[str] | None = None
    # The active cloud-code version (hangar.cloudcode activates one by bumping the app's version).
    cloud_code: DeployedCode | None = None
    # The app's function and trigger webhooks (hangar.cloudcode.webhook_services bumps the app's version).
    webhooks: CloudWebhooks | None = None
    # Keyed requests per calendar month (the plan's monthly_requests; hangar.analytics); 0: unlimited.
    monthly_requests: int = 0
    # App.allow_client_class_creation (Parse Server's allowClientClassCreation).
    client_class_creation: bool = False
    # The Redis keys of its version counters, read by every request (built once, at load).
    version_keys: tuple[str, ...] = ()


_LOAD_SQL = """
SELECT a.id, a.application_id, a.name,
       COALESCE(a.rate_limit_rps, p.requests_per_second, %(default_rps)s),
       COALESCE(p.storage_quota_bytes, %(default_quota)s),
       COALESCE(p.max_live_connections, %(default_live)s), a.live_query_classes,
       COALESCE((SELECT array_agg(ARRAY[k.kind, k.ciphertext]) FROM tenants_appkey k WHERE k.app_id = a.id), '{}'),
       (SELECT json_build_array(v.id, v.number, v.handlers,
                (SELECT count(*) || ':' || COALESCE(max(cv.updated_at)::text, '') FROM cloudcode_cloudvariable cv
                 WHERE cv.app_id = a.id),
                (SELECT json_build_array(l.function_timeout_seconds, l.trigger_timeout_seconds,
                                         p.cloud_function_timeout_max_seconds, p.cloud_trigger_timeout_max_seconds)
                 FROM (SELECT 1) one LEFT JOIN cloudcode_cloudlimits l ON l.app_id = a.id))
        FROM cloudcode_cloudactivation c
        JOIN cloudcode_cloudversion v ON v.id = c.version_id WHERE c.app_id = a.id),
       (SELECT json_agg(json_build_array(w.kind, w.function_name, w.class_name, w.trigger_name, w.url))
        FROM cloudcode_cloudwebhook w WHERE w.app_id = a.id),
       COALESCE(p.monthly_requests, %(default_monthly)s), COALESCE(p.monthly_function_invocations, 0),
       a.allow_client_class_creation
FROM tenants_app a
JOIN tenants_organization o ON o.id = a.organization_id
LEFT JOIN tenants_plan p ON p.id = o.plan_id
WHERE a.application_id = %(application_id)s AND a.status = 'active'
"""

_cache: LruCache[str, AppRecord] = LruCache("apps", lambda: settings.HANGAR_CACHE_MAX_APPS)
# Application ids no active app has, with when this process stops believing so. Short, so
# that an app reactivated by an operator answers again within seconds without a Redis read.
_unknown: dict[str, float] = {}
UNKNOWN_APP_SECONDS = 10.0
MAX_APPLICATION_ID_LENGTH = 64  # tenants.App.application_id
_UNKNOWN_APP_MEMORY = 10_000  # ids remembered at most; the memory is forgotten whole beyond it

Credential = TypeVar("Credential")


@dataclass(frozen=True)
class Admission(Generic[Credential]):
    """An admitted request's app, the credential it presented to it, and the app's versions as of this request."""

    app: AppRecord
    credential: Credential | None
    schema_version: bytes | None
    role_version: bytes | None
    session_version: bytes | None = None
    live_classes: bytes | None = None  # hangar.datastore.change_feed.live_classes_key
    # A restore of the app holds its lease (hangar.backups.lease): the Parse API refuses writes.
    restoring: bool = False


async def _load(application_id: str, version: bytes | None) -> AppRecord | None:
    pool = await get_pool()
    async with pool.connection() as conn:
        cursor = await conn.execute(
            _LOAD_SQL,
            {
                "application_id": application_id,
                "default_rps": settings.HANGAR_DEFAULT_PLAN_RPS,
                "default_quota": settings.HANGAR_FILES_DEFAULT_QUOTA_BYTES,
                "default_live": settings.HANGAR_DEFAULT_PLAN_LIVE_CONNECTIONS,
                "default_monthly": settings.HANGAR_DEFAULT_PLAN_MONTHLY_REQUESTS,
            },
        )
        row = await cursor.fetchone()
    if row is None:
        _cache.pop(application_id, None)
        return None
    (
        pk,
        app_id,
        name,
        rps,
        quota,
        live_connections,
        live_classes,
        keys,
        cloud,
        webhooks,
        monthly,
        invocations,
        class_creation,
    ) = row
    record = AppRecord(
        pk=pk, application_id=app_id, name=name, requests_per_second=int(rps),
        plan=PlanLimits(
            storage_quota_bytes=int(quota or 0), max_live_connections=int(live_connections or 0),
            monthly_function_invocations=int(invocations or 0),
        ),
        key_digests={kind: memory_digest(decrypt_secret(ciphertext)) for kind, ciphertext in keys},
        version=version, loaded_at=time.monotonic(),
        live_query_classes=frozenset(str(name) for name in live_classes) if live_classes else None,
        cloud_code=DeployedCode.from_handlers(
            application_id=app_id, version_id=cloud[0], version_number=cloud[1], handlers=cloud[2],
            variables_stamp=cloud[3], timeouts=cloud[4] if len(cloud) > 4 else None,
        ) if cloud else None,
        webhooks=CloudWebhooks.from_rows(app_id, webhooks) if webhooks else None,
        monthly_requests=int(monthly or 0),
        client_class_creation=bool(class_creation),
        version_keys=(
            app_version_key(app_id), schema_version_key(pk), role_version_key(pk), session_version_key(pk),
            live_classes_key(pk), restoring_key(pk),  # the last: a restore's lease (read-only while it runs)
        ),
    )  # fmt: skip
    _cache[application_id] = record
    return record


def _rate_limited() -> ParseError:
    return ParseError(CONNECTION_FAILED, "Too many requests.", status=429, headers={"retry-after": "1"})


def _quota_exceeded(limit: int) -> ParseError:
    return ParseError(
        REQUEST_LIMIT_EXCEEDED, f"This app has used the {limit} requests its plan allows this month.", status=429,
        headers={"retry-after": str(seconds_to_next_month())},
    )  # fmt: skip


def _address_window(scope: str, client_ip: str) -> str:
    return f"hangar:rl:{scope}:ip:{client_ip}:{int(time.time())}"


def _known_unknown(application_id: str) -> bool:
    until = _unknown.get(application_id)
    if until is None:
        return False
    if until > time.monotonic():
        return True
    del _unknown[application_id]
    return False


def _remember_unknown(application_id: str) -> None:
    if len(_unknown) >= _UNKNOWN_APP_MEMORY:
        _unknown.clear()
    _unknown[application_id] = time.monotonic() + UNKNOWN_APP_SECONDS


async def _first_load(application_id: str, client_ip: str) -> AppRecord | None:
    """Load an app this process has not cached; ids that turn out unknown are counted against the address."""
    if len(application_id) > MAX_APPLICATION_ID_LENGTH or _known_unknown(application_id):
        return None  # longer than any app's id: nothing to look up, nothing worth remembering
    redis = get_redis()
    unknown_window = _address_window("unknown", client_ip)
    # Read the version before the row, so a change that lands in between is seen next time; the
    # address's count of unknown ids rides along (only failed lookups add to it: a cold process
    # serving known apps is never limited by it).
    version, unknown_count = cast(
        "list[bytes | None]", await redis.mget(app_version_key(application_id), unknown_window)
    )
    limit = settings.HANGAR_ANONYMOUS_RPS_PER_ADDRESS
    if limit and int(unknown_count or 0) >= limit:
        raise _rate_limited()
    record = await _load(application_id, version)
    if record is None:
        _remember_unknown(application_id)
        async with redis.pipeline(transaction=False) as pipe:
            pipe.incr(unknown_window)
            pipe.expire(unknown_window, 2)
            await pipe.execute()
    return record


async def app_admit(
    application_id: str, *, client_ip: str, credential_of: Callable[[AppRecord], Credential | None]
) -> Admission[Credential] | None:
    """Return the active app for this id (None if unknown) after counting the request against its limit.

    ``credential_of`` says which of the app's keys the request carries (None: none). A request
    with one is counted in the app's window; one without is counted in its address's window
    for this app (HANGAR_ANONYMOUS_RPS_PER_ADDRESS). Raises ParseError 100/429 over the limit.
    """
    record = _cache.get(application_id)
    if record is None:
        record = await _first_load(application_id, client_ip)
        if record is None:
            return None
    credential = credential_of(record)
    keys = list(record.version_keys)
    # Only requests with one of the app's keys are the app's usage (and count against its monthly
    # quota): anonymous traffic could otherwise use up a tenant's quota.
    metered = credential is not None and settings.HANGAR_METERING
    now = time.time()
    if credential is not None:
        window, limit = f"hangar:rl:{record.pk}:{int(now)}", record.requests_per_second
        if metered:
            keys.extend(usage_keys(record.pk, now))
    else:
        window, limit = _address_window(str(record.pk), client_ip), settings.HANGAR_ANONYMOUS_RPS_PER_ADDRESS
    keys.append(window)
    versions, count, in_month = await versions_and_count(get_redis(), keys, limited=bool(limit), metered=metered)
    version, schema_version, role_version, session_version, live_classes, restoring = versions
    stale = time.monotonic() - record.loaded_at > settings.HANGAR_APP_CACHE_SECONDS
    if version != record.version or stale:
        reloaded = await _load(application_id, version)
        if reloaded is None:
            return None
        # A key rotated since the cached copy: judge the request by the app as it is now.
        record, credential = reloaded, credential_of(reloaded)
    if limit and count > limit:
        raise _rate_limited()
    if metered and record.monthly_requests and in_month > record.monthly_requests:
        raise _quota_exceeded(record.monthly_requests)
    return Admission(
        app=record, credential=credential, schema_version=schema_version, role_version=role_version,
        session_version=session_version, live_classes=live_classes, restoring=restoring is not None,
    )  # fmt: skip


def app_cache_clear() -> None:
    """Forget every cached app and unknown id (tests; a process that lost Redis)."""
    _cache.clear()
    _unknown.clear()
