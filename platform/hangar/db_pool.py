"""The data plane's async PostgreSQL connection pool (psycopg 3).

One pool per event loop: a server process has one loop, so one pool; the test suite
may run several loops and each gets its own. Connection parameters come from
Django's DATABASES so the data plane and the ORM always talk to the same database
(including the test database pytest-django creates).
"""

from __future__ import annotations

import orjson
from django.conf import settings
from psycopg import AsyncConnection
from psycopg.conninfo import make_conninfo
from psycopg.types.json import set_json_dumps, set_json_loads
from psycopg_pool import AsyncConnectionPool

from hangar.loop_local import LoopLocal

_pools: LoopLocal[AsyncConnectionPool] = LoopLocal()


def data_plane_conninfo() -> str:
    db = settings.DATABASES["default"]
    params = {
        "dbname": db["NAME"],
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "application_name": "hangar-dataplane",
    }
    params.update(db.get("OPTIONS") or {})
    return make_conninfo(**{k: v for k, v in params.items() if v is not None})


DATA_PLANE_ROLE = "hangar_dataplane"


async def _configure(conn: AsyncConnection) -> None:
    # Row-level security binds this role (superusers and table owners bypass it), so the
    # data plane's queries only ever see the app its transaction names.
    await conn.execute(f"SET ROLE {DATA_PLANE_ROLE}")
    # Every data-plane statement is bounded (a pathological $regex ends with error 124).
    await conn.execute(f"SET statement_timeout = {int(settings.HANGAR_STATEMENT_TIMEOUT_MS)}")
    # orjson reads jsonb faster than the json module, and reads numbers beyond 64 bits
    # (which PostgreSQL prints as long integers, e.g. 1e20) as floats, as JavaScript does;
    # Python ints of that size could not be written back out by the response encoder.
    set_json_loads(orjson.loads, conn)
    set_json_dumps(orjson.dumps, conn)
    # Timestamps then arrive in UTC, which is what the wire format needs (no conversion per value).
    await conn.execute("SET TIME ZONE 'UTC'")


async def get_pool() -> AsyncConnectionPool:
    pool = _pools.get()
    if pool is None:
        pool = AsyncConnectionPool(
            data_plane_conninfo(),
            min_size=settings.HANGAR_DB_POOL_MIN,
            max_size=settings.HANGAR_DB_POOL_MAX,
            kwargs={"autocommit": True},
            configure=_configure,
            open=False,
            name="hangar-dataplane",
        )
        _pools.set(pool)
        await pool.open()
    return pool


async def close_pool() -> None:
    pool = _pools.pop()
    if pool is not None:
        await pool.close()
