"""Run a handler of an app's active bundle: pick a warm worker, send the request, record the outcome.

Used by the functions and jobs routes and by the data path's triggers. The message a
handler gets is built here from the ``Caller`` and the request; errors come back as
Parse errors: the handler's own code, 141 for a failure or a timeout, 503 when the
sandbox is unavailable.
"""

from __future__ import annotations

import contextvars
import logging
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from hangar.analytics.invocation_quota import invocation_admit
from hangar.caller import Caller, DeployedCode
from hangar.cloudcode import sandbox
from hangar.cloudcode.data_calls import answer_call, register_call
from hangar.cloudcode.logs import log_record
from hangar.cloudcode.pool import current_pool, pool_busy_error
from hangar.cloudcode.webhooks import function_webhook_of, function_webhook_run
from hangar.cloudcode.worker import (
    BundleLoadError,
    CallError,
    InvocationTimeoutError,
    NotStartedError,
    SandboxError,
    SandboxWorker,
    SkippedError,
)
from hangar.observability.logs import request_id_var
from hangar.parse_errors import SCRIPT_FAILED, ParseError

logger = logging.getLogger(__name__)

# Nested invocations (a function running another, a trigger fired by a handler's own save)
# each hold a worker; the depth bound keeps them from exhausting the app's pool.
MAX_DEPTH = 3
# How often an invocation queued on a worker that stopped before its turn is sent elsewhere.
_NOT_STARTED_RETRIES = 2
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("cloud_invocation_depth", default=0)

# Per process: the unpacked directory of each version, and its variables (until reactivated).
_bundle_dirs: dict[int, Any] = {}


def _unavailable(reason: str) -> ParseError:
    logger.error("cloud code unavailable: %s", reason)
    return ParseError(
        SCRIPT_FAILED, "Cloud code is unavailable; retry shortly.", status=503, headers={"retry-after": "5"}
    )


async def _starter(code: DeployedCode, app_pk: int) -> SandboxWorker:
    from hangar.cloudcode.selectors import version_archive_and_env

    archive, env = await sync_to_async(version_archive_and_env)(app_pk, code.version_id)
    bundle = _bundle_dirs.get(code.version_id)
    if bundle is None or not bundle.exists():
        bundle = sandbox.unpack_bundle(archive, label=f"{app_pk}-{code.version_id}")
        _bundle_dirs[code.version_id] = bundle
    try:
        return await SandboxWorker.start(
            bundle=bundle, env=env, limits=sandbox.default_limits(), timeout=settings.HANGAR_CLOUD_START_TIMEOUT_SECONDS
        )
    except BundleLoadError as exc:  # validated at deploy; a load failure now is an environment problem
        raise _unavailable(f"version {code.version_number} of app {app_pk} no longer loads: {exc.describe()}") from exc
    except (SandboxError, sandbox.SandboxUnavailableError) as exc:
        raise _unavailable(str(exc)) from exc


async def _user_object(caller: Caller) -> dict[str, Any] | None:
    if not caller.user_id:
        return None
    from hangar.cloudcode.data_calls import _get

    master = Caller(
        app_pk=caller.app_pk, is_master=True, schema_version=caller.schema_version, cloud_code=caller.cloud_code
    )
    try:
        user: dict[str, Any] = await _get(master, {"className": "_User", "objectId": caller.user_id})
    except CallError:
        return {"objectId": caller.user_id, "className": "_User", "__type": "Object"}
    return {**user, "className": "_User", "__type": "Object"}


def _deadline_of(code: DeployedCode, kind: str, default: float) -> float:
    """The app's own deadline for this kind of handler (or the default), never above its plan's maximum."""
    if kind == "function":
        maximum = code.function_timeout_max or settings.HANGAR_CLOUD_FUNCTION_TIMEOUT_MAX_SECONDS
        return min(code.function_timeout or default, maximum)
    if kind == "trigger":
        maximum = code.trigger_timeout_max or settings.HANGAR_CLOUD_TRIGGER_TIMEOUT_MAX_SECONDS
        return min(code.trigger_timeout or default, maximum)
    return default


async def invoke(
    caller: Caller, *, kind: str, name: str, payload: dict[str, Any], timeout: float,
    headers: dict[str, str] | None = None, extra_calls: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Run one handler; returns the worker's ``done`` frame (result, object, query...) or raises ParseError."""
    code = caller.cloud_code
    if code is None:
        raise ParseError(SCRIPT_FAILED, f'Invalid function: "{name}"')
    timeout = _deadline_of(code, kind, timeout)
    depth = _depth.get()
    if depth >= MAX_DEPTH:
        raise ParseError(SCRIPT_FAILED, "Cloud code calls are nested too deeply.")
    await invocation_admit(caller)  # the plan's monthly invocations (hangar.analytics), when it limits them
    message = {
        "kind": kind, "name": name, "master": caller.is_master, "installationId": caller.installation_id,
        "ip": caller.client_ip, "headers": headers or {}, "user": await _user_object(caller), **payload,
    }  # fmt: skip

    async def on_call(operation: str, arguments: dict[str, Any], master: bool) -> Any:
        if extra_calls and operation in extra_calls:
            return await extra_calls[operation](arguments)
        token = _depth.set(depth + 1)
        try:
            return await answer_call(caller, operation, arguments, master)
        finally:
            _depth.reset(token)

    started = time.monotonic()
    outcome: dict[str, Any] = {}
    # A client's function or trigger may wait in a busy worker's queue (hangar.cloudcode.pool,
    # "Pipelining"); a nested call never does (it could queue behind its own caller), nor a job.
    pipeline = depth == 0 and kind != "job"
    start_by = time.time() + settings.HANGAR_CLOUD_POOL_WAIT_SECONDS
    try:
        for attempt in range(_NOT_STARTED_RETRIES + 1):
            try:
                async with current_pool().worker(
                    (caller.app_pk, code.version_id, code.variables_stamp),
                    lambda: _starter(code, caller.app_pk),
                    application_id=code.application_id,
                    pipeline=pipeline,
                ) as worker:
                    outcome = await worker.invoke(
                        message, timeout=timeout, on_call=on_call, start_by=start_by if pipeline else None
                    )
                break
            except NotStartedError:
                # The worker it was queued on stopped before its turn: it never ran, so it may go elsewhere.
                if attempt == _NOT_STARTED_RETRIES:
                    raise
    except SkippedError:
        outcome = {"code": SCRIPT_FAILED, "error": "Cloud code is busy; retry shortly.", "logs": [], "cpuMs": 0}
        raise pool_busy_error() from None
    except InvocationTimeoutError:
        outcome = {"code": SCRIPT_FAILED, "error": f"Execution timed out after {timeout:g} s.", "logs": []}
    except SandboxError as exc:
        logger.warning("cloud-code worker of app %s failed in %s %s: %s", caller.app_pk, kind, name, exc)
        outcome = {
            "code": SCRIPT_FAILED, "error": "Cloud code crashed (the worker was replaced).",
            "logs": [{"level": "error", "message": str(exc)}],
        }  # fmt: skip
    finally:
        _record(caller, kind, name, payload, outcome, started, code)
    if "error" in outcome:
        raise ParseError(int(outcome.get("code") or SCRIPT_FAILED), str(outcome["error"]))
    return outcome


def _record(
    caller: Caller, kind: str, name: str, payload: dict[str, Any], outcome: dict[str, Any], started: float,
    code: DeployedCode,
) -> None:  # fmt: skip
    ms = round((time.monotonic() - started) * 1000, 2)
    cpu_ms = outcome.get("cpuMs")
    entry: dict[str, Any] = {
        "kind": kind, "name": name, "version": code.version_number, "ms": ms,
        # The sandbox's own CPU time for the invocation (hangar_cloud._runtime); a worker killed at its
        # deadline or crashed reports none, and is metered at its wall time, an upper bound.
        "cpuMs": cpu_ms if isinstance(cpu_ms, int | float) and cpu_ms >= 0 else ms,
        "outcome": "error" if "error" in outcome or not outcome else "ok",
        "lines": outcome.get("logs") or [],
    }  # fmt: skip
    if payload.get("className"):
        entry["className"] = payload["className"]
    if "error" in outcome:
        entry.update({"code": outcome.get("code"), "error": outcome.get("error")})
    if caller.user_id:
        entry["user"] = caller.user_id
    request_id = request_id_var.get()
    if request_id:  # the Parse request (or the task it queued) this invocation ran for
        entry["requestId"] = request_id
    log_record(caller.app_pk, entry)


async def run_function(
    caller: Caller,
    name: str,
    params: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    context: dict[str, Any] | None = None,
) -> Any:
    code = caller.cloud_code
    if code is None or name not in code.functions:
        webhook = function_webhook_of(caller, name)  # the bundle's own function wins over a webhook
        if webhook is not None:
            return await function_webhook_run(
                caller, name=name, url=webhook, params=params, headers=headers, context=context
            )
        raise ParseError(SCRIPT_FAILED, f'Invalid function: "{name}"')
    outcome = await invoke(
        caller, kind="function", name=name, payload={"params": params, "context": context or {}},
        timeout=settings.HANGAR_CLOUD_FUNCTION_TIMEOUT_SECONDS, headers=headers,
    )  # fmt: skip
    return outcome.get("result")


async def _run_call(caller: Caller, arguments: dict[str, Any]) -> Any:
    name = arguments.get("name")
    params = arguments.get("params") or {}
    if not isinstance(name, str) or not isinstance(params, dict):
        raise ParseError(SCRIPT_FAILED, "run needs a function name and params.")
    return await run_function(caller, name, params)


register_call("run", _run_call)
