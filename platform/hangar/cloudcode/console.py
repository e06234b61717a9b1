"""Run one of an app's functions from the control plane (the management API and the dashboard's run form).

The call goes through the same invocation path as ``POST /parse/functions/:name`` with
the master scope: the same warm pool, timeouts and log records. The pool and the data
plane's connections belong to the server's event loop, so the synchronous caller (a
Django view served by the ASGI server) hands the coroutine back to that loop.
"""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import async_to_sync
from django.db import connection

from hangar.caller import Caller, DeployedCode
from hangar.cloudcode.invocation import run_function
from tenants.models import App

# The same version and variables stamp as the data plane computes (hangar.admission.registry),
# so a run from the dashboard reuses the warm workers of Parse clients' calls.
_ACTIVE_SQL = """
SELECT v.id, v.number, v.handlers,
       (SELECT count(*) || ':' || COALESCE(max(cv.updated_at)::text, '') FROM cloudcode_cloudvariable cv
        WHERE cv.app_id = c.app_id),
       json_build_array(l.function_timeout_seconds, l.trigger_timeout_seconds,
                        p.cloud_function_timeout_max_seconds, p.cloud_trigger_timeout_max_seconds)
FROM cloudcode_cloudactivation c JOIN cloudcode_cloudversion v ON v.id = c.version_id
JOIN tenants_app a ON a.id = c.app_id
JOIN tenants_organization o ON o.id = a.organization_id
LEFT JOIN tenants_plan p ON p.id = o.plan_id
LEFT JOIN cloudcode_cloudlimits l ON l.app_id = c.app_id
WHERE c.app_id = %(app_pk)s
"""


def deployed_code_get(app: App) -> DeployedCode | None:
    """The app's active version as the data plane sees it; None when it has none."""
    with connection.cursor() as cursor:
        cursor.execute(_ACTIVE_SQL, {"app_pk": app.pk})
        row = cursor.fetchone()
    if row is None:
        return None
    version_id, number, handlers, stamp, timeouts = row
    if isinstance(handlers, str):  # a raw cursor may leave json undecoded
        handlers = json.loads(handlers)
    if isinstance(timeouts, str):
        timeouts = json.loads(timeouts)
    return DeployedCode.from_handlers(
        application_id=app.application_id, version_id=version_id, version_number=number,
        handlers=handlers or {}, variables_stamp=stamp, timeouts=timeouts,
    )  # fmt: skip


def function_run_as_master(app: App, name: str, params: dict[str, Any]) -> Any:
    """The function's result; raises hangar.parse_errors.ParseError as the Parse route would answer."""
    caller = Caller(app_pk=app.pk, is_master=True, cloud_code=deployed_code_get(app))
    return async_to_sync(run_function)(caller, name, params)
