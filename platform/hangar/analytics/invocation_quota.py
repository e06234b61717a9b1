"""The plan's monthly limit of cloud-code invocations, checked before each one starts.

Only apps whose plan sets ``monthly_function_invocations`` pay for it (one Redis round trip,
INCR and EXPIRE pipelined); for the others nothing is counted here, and their usage is
metered off the request path with the invocation logs (hangar.cloudcode.logs). Every
invocation counts: functions, triggers, jobs and nested calls alike, since each runs a
sandboxed worker. Refused past the limit: 429, code 155, ``Retry-After`` until the month ends.
"""

from __future__ import annotations

from hangar.analytics.usage_keys import invocations_month_key, seconds_to_next_month
from hangar.caller import Caller
from hangar.parse_errors import REQUEST_LIMIT_EXCEEDED, ParseError
from hangar.redis_async import get_redis

_MONTH_SECONDS = 40 * 86400


async def invocation_admit(caller: Caller) -> None:
    """Count one invocation against the app's monthly limit; raise 429/155 past it."""
    limit = caller.plan.monthly_function_invocations if caller.plan is not None else 0
    if not limit:
        return
    key = invocations_month_key(caller.app_pk)
    async with get_redis().pipeline(transaction=False) as pipe:
        pipe.incr(key)
        pipe.expire(key, _MONTH_SECONDS)
        count, _ = await pipe.execute()
    if int(count) > limit:
        raise ParseError(
            REQUEST_LIMIT_EXCEEDED, f"This app has used the {limit} cloud-code invocations its plan allows this month.",
            status=429, headers={"retry-after": str(seconds_to_next_month())},
        )  # fmt: skip
