"""The roles a user holds, directly or through role inheritance (reference §10.7).

A role's ``roles`` relation lists roles whose members inherit it, so the set is the
transitive closure upwards from the roles whose ``users`` relation holds the user.
Cached per process and keyed by the app's role version (bumped on any ``_Role`` write),
which the gateway reads in its per-request Redis pipeline.
"""

from __future__ import annotations

from django.conf import settings

from hangar.bounded_cache import LruCache
from hangar.datastore.connection import app_statement
from hangar.datastore.partitions import object_partition, relation_partition
from hangar.redis_async import get_redis

# A role grants its name only if it is that name's first holder: the unique index of
# datastore migration 0008 already makes it the only one, and this keeps a grant bound to
# that role object even should a second role of the name ever exist. (The length bound is
# the index's own predicate, which lets this lookup use it; no longer name can be created.) Relation rows
# count only with the class the schema gives them (``users`` of _User, ``roles`` of _Role).
_ROLES_SQL = """
WITH RECURSIVE held(role_id) AS (
    SELECT owner_id FROM {relations}
    WHERE app_id = %(app)s AND owner_class = '_Role' AND key = 'users'
      AND related_class = '_User' AND related_id = %(user)s
  UNION
    SELECT r.owner_id FROM {relations} r JOIN held ON r.related_id = held.role_id
    WHERE r.app_id = %(app)s AND r.owner_class = '_Role' AND r.key = 'roles' AND r.related_class = '_Role'
)
SELECT o.data->>'name' FROM {objects} o JOIN held ON o.object_id = held.role_id
WHERE o.app_id = %(app)s AND o.class_name = '_Role' AND NOT EXISTS (
    SELECT 1 FROM {objects} earlier
    WHERE earlier.app_id = %(app)s AND earlier.class_name = '_Role' AND earlier.data->>'name' = o.data->>'name'
      AND octet_length(earlier.data->>'name') <= 1024
      AND (earlier.created_at, earlier.object_id) < (o.created_at, o.object_id)
)
"""

_cache: LruCache[tuple[int, str], tuple[bytes | None, tuple[str, ...]]] = LruCache(
    "user_roles", lambda: settings.HANGAR_CACHE_MAX_SESSIONS
)


def role_version_key(app_pk: int) -> str:
    return f"hangar:rolever:{app_pk}"


def roles_changed_channel(app_pk: int) -> str:
    """Pub/sub channel told of every role change, for holders of long-lived connections (LiveQuery)."""
    return f"hangar:roles-changed:{app_pk}"


async def user_role_names(*, app_pk: int, user_id: str, role_version: bytes | None) -> tuple[str, ...]:
    cached = _cache.get((app_pk, user_id))
    if cached is not None and cached[0] == role_version:
        return cached[1]
    async with app_statement(app_pk) as conn:
        statement = _ROLES_SQL.format(relations=relation_partition(app_pk), objects=object_partition(app_pk))
        cursor = await conn.execute(statement, {"app": app_pk, "user": user_id})
        names = tuple(sorted(row[0] for row in await cursor.fetchall() if row[0]))
    _cache[(app_pk, user_id)] = (role_version, names)
    return names


async def roles_changed(app_pk: int) -> None:
    """After a committed write to ``_Role`` objects or their relations."""
    async with get_redis().pipeline(transaction=False) as pipe:
        pipe.incr(role_version_key(app_pk))
        pipe.publish(roles_changed_channel(app_pk), b"1")
        await pipe.execute()
