"""The agents' HTTP endpoints under /api/v1/agents/: JSON in and out, a bearer agent token, nothing else.

Thin: decode, call hangar.builds.agents, encode. An unknown or disabled token is a 401 whatever
the path, so the endpoints say nothing to a caller without one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from hangar.builds import agents
from hangar.builds.models import BuildAgent

ARTIFACT_MAX_BYTES = 200 * 1024 * 1024
AgentView = Callable[..., HttpResponse]


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "detail": message}, status=status)


def agent_endpoint(view: Callable[..., HttpResponse]) -> AgentView:
    @csrf_exempt
    @require_POST
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        agent = agents.agent_authenticated(token.strip()) if scheme.lower() == "bearer" else None
        if agent is None:
            return _error(401, "not_authenticated", "An agent token is required.")
        try:
            return view(request, agent, *args, **kwargs)
        except agents.AgentError as exc:
            return _error(exc.status, "agent_error", exc.message)
        except (ValueError, TypeError, KeyError) as exc:
            return _error(400, "invalid", f"Malformed request: {exc}.")

    return wrapper


def _json(request: HttpRequest) -> dict[str, Any]:
    body = json.loads(request.body or b"{}")
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


@agent_endpoint
def register(request: HttpRequest, agent: BuildAgent) -> HttpResponse:
    capabilities = _json(request).get("capabilities", {})
    if not isinstance(capabilities, dict):
        raise ValueError("capabilities must be an object")
    return JsonResponse(agents.agent_register(agent, capabilities=capabilities))


@agent_endpoint
def heartbeat(request: HttpRequest, agent: BuildAgent) -> HttpResponse:
    return JsonResponse(agents.agent_heartbeat(agent))


@agent_endpoint
def claim(request: HttpRequest, agent: BuildAgent) -> HttpResponse:
    job = agents.agent_claim(agent, platform=str(_json(request).get("platform", "android")))
    return HttpResponse(status=204) if job is None else JsonResponse(job)


@agent_endpoint
def log(request: HttpRequest, agent: BuildAgent, uid: str) -> HttpResponse:
    body = _json(request)
    lines, steps = body.get("lines", []), body.get("steps", [])
    if not isinstance(lines, list) or not isinstance(steps, list):
        raise ValueError("lines and steps must be lists")
    return JsonResponse(agents.agent_log(agent, uid=uid, attempt=int(body["attempt"]), lines=lines, steps=steps))


@agent_endpoint
def finish(request: HttpRequest, agent: BuildAgent, uid: str) -> HttpResponse:
    outcome = json.loads(request.POST.get("outcome", "{}"))
    if not isinstance(outcome, dict):
        raise ValueError("outcome must be a JSON object")
    upload = request.FILES.get("artifact")
    if upload is not None and (upload.size or 0) > ARTIFACT_MAX_BYTES:
        return _error(413, "too_large", f"The artifact is larger than {ARTIFACT_MAX_BYTES} bytes.")
    build = agents.agent_finish(agent, uid=uid, attempt=int(outcome["attempt"]), outcome=outcome,
                                apk=upload.read() if upload is not None else None)  # fmt: skip
    return JsonResponse({"uid": build.uid, "state": build.state, "error_code": build.error_code})
