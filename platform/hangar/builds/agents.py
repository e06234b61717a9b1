"""Build agents outside the platform: registration, heartbeats, pulling jobs, logs and results.

An agent holds a token (only its SHA-256 is stored) and talks to the platform over HTTPS,
outbound only (hangar.builds.agent is the client). A job carries the build's inputs and the
signing material it needs; the vault records the opening under the agent's name. Whatever an
agent reports, the platform runs the test stage on the APK itself before it is stored.
"""

from __future__ import annotations

import base64
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from hangar.builds.credentials import credential_open
from hangar.builds.errors import BuildError, VaultError
from hangar.builds.models import Build, BuildAgent
from hangar.builds.queue import build_claim
from hangar.builds.runner import BuildJournal, artifact_accepted, build_runner, finish_build, spec_of
from hangar.secretbox import token_digest

TOKEN_PREFIX = "hga_"  # noqa: S105 (a prefix that makes a leaked token recognisable, not a secret)
AGENT_STATES = {"succeeded", "failed", "cancelled", "timed_out"}
LINES_PER_CALL = 500


class AgentError(Exception):
    """A call an agent may not make (unknown build, not its build, a stale attempt); ``status`` is the HTTP one."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def agent_create(*, name: str, platforms: list[str]) -> tuple[BuildAgent, str]:
    """A new agent and its token, shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    agent = BuildAgent.objects.create(name=name[:100], token_digest=token_digest(token), platforms=platforms)
    return agent, token


def agent_authenticated(token: str) -> BuildAgent | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return BuildAgent.objects.filter(token_digest=token_digest(token), enabled=True).first()


def agent_register(agent: BuildAgent, *, capabilities: dict[str, Any]) -> dict[str, Any]:
    platforms = [p for p in capabilities.get("platforms", []) if p in agent.platforms]
    agent.capabilities = {"platforms": platforms, "toolchains": capabilities.get("toolchains", {})}
    agent.registered_at = agent.last_seen_at = timezone.now()
    agent.save(update_fields=["capabilities", "registered_at", "last_seen_at"])
    return {"agent": agent.name, "platforms": platforms, "heartbeat_seconds": settings.HANGAR_BUILDS_LEASE_SECONDS / 3}


def agent_heartbeat(agent: BuildAgent) -> dict[str, Any]:
    """Renew the leases of the agent's running builds; the uids of those a developer cancelled."""
    now = timezone.now()
    BuildAgent.objects.filter(pk=agent.pk).update(last_seen_at=now)
    running = Build.objects.filter(agent=_agent_label(agent), state=Build.State.RUNNING)
    running.update(lease_expires_at=now + timedelta(seconds=settings.HANGAR_BUILDS_LEASE_SECONDS))
    return {"cancel": list(running.filter(cancel_requested=True).values_list("uid", flat=True))}


def _agent_label(agent: BuildAgent) -> str:
    return f"agent:{agent.name}"


def agent_claim(agent: BuildAgent, *, platform: str) -> dict[str, Any] | None:
    """The next build by fair share, as a job the agent can run; None when nothing is claimable."""
    if platform not in agent.capabilities.get("platforms", []):
        raise AgentError(f"This agent did not register the {platform} platform.", status=400)
    build = build_claim(platform=platform, agent=_agent_label(agent))
    if build is None:
        return None
    journal = BuildJournal(build)
    try:
        spec = spec_of(build)
        if build.credential is None:
            raise VaultError("The build's signing credential was deleted.")
        material = credential_open(credential=build.credential, build=build, agent=_agent_label(agent),
                                   purpose="android-sign")  # fmt: skip
    except BuildError as exc:
        journal.line("validate", f"error: {exc.message}")
        finish_build(build, Build.State.FAILED, error_code=exc.code, error_message=exc.message)
        return agent_claim(agent, platform=platform)
    journal.line("claim", f"claimed by {_agent_label(agent)} (attempt {build.attempt})")
    remaining = build.timeout_seconds - (timezone.now() - (build.started_at or timezone.now())).total_seconds()
    return {
        "uid": build.uid, "attempt": build.attempt, "platform": build.platform, "seconds_left": remaining,
        "spec": {
            "package_name": spec.package_name, "label": spec.label, "version_code": spec.version_code,
            "version_name": spec.version_name, "start_url": spec.start_url, "artifact_format": spec.artifact_format,
            "icon_png": base64.b64encode(spec.icon_png).decode(),
            "web_bundle": {path: base64.b64encode(data).decode() for path, data in spec.web_bundle.items()},
            "connection": {"server_url": spec.connection.server_url, "application_id": spec.connection.application_id,
                           "client_key": spec.connection.client_key},
        },
        "signing": {
            "keystore": base64.b64encode(material.keystore).decode(), "keystore_type": material.keystore_type,
            "alias": material.alias, "store_password": material.store_password,
            "key_password": material.key_password,
        },
    }  # fmt: skip


def _owned(agent: BuildAgent, uid: str, attempt: int) -> Build:
    build = Build.objects.select_related("app__organization__plan", "credential").filter(uid=uid).first()
    if build is None or build.agent != _agent_label(agent):
        raise AgentError("No such build for this agent.", status=404)
    if build.attempt != attempt or build.state != Build.State.RUNNING:
        raise AgentError("This attempt of the build is over.", status=409)
    return build


def agent_log(agent: BuildAgent, *, uid: str, attempt: int, lines: list[Any], steps: list[Any]) -> dict[str, Any]:
    """Keep the agent's log lines and step changes; renew the lease; say whether the build was cancelled."""
    build = _owned(agent, uid, attempt)
    journal = BuildJournal(build)
    for item in steps[:100]:
        if isinstance(item, dict) and item.get("state") in ("started", "succeeded", "failed"):
            journal.step(str(item.get("name", ""))[:40], str(item["state"]), str(item.get("detail", ""))[:2000])
    for item in lines[:LINES_PER_CALL]:
        if isinstance(item, dict):
            journal.line(str(item.get("step", ""))[:40], str(item.get("text", ""))[:2000])
    Build.objects.filter(pk=build.pk, attempt=attempt).update(
        lease_expires_at=timezone.now() + timedelta(seconds=settings.HANGAR_BUILDS_LEASE_SECONDS)
    )
    build.refresh_from_db(fields=["cancel_requested"])
    return {"cancel": build.cancel_requested}


def agent_finish(agent: BuildAgent, *, uid: str, attempt: int, outcome: dict[str, Any], apk: bytes | None) -> Build:
    """End the agent's build: a succeeded one only once the platform's own test stage accepts its APK."""
    build = _owned(agent, uid, attempt)
    state = outcome.get("state")
    if state not in AGENT_STATES:
        raise AgentError(f"state must be one of {', '.join(sorted(AGENT_STATES))}.", status=400)
    if state != Build.State.SUCCEEDED:
        return finish_build(build, str(state), error_code=str(outcome.get("error_code", state))[:40],
                            error_message=str(outcome.get("error_message", ""))[:2000])  # fmt: skip
    if not apk:
        raise AgentError("A succeeded build needs its artifact.", status=400)
    journal = BuildJournal(build)
    runner = build_runner(build, journal)
    settings.HANGAR_BUILDS_WORKDIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"accept-{build.uid}-", dir=settings.HANGAR_BUILDS_WORKDIR) as folder:
        spec = spec_of(build)
        path = Path(folder) / f"app-release.{spec.artifact_format}"
        path.write_bytes(apk)
        try:
            fields = artifact_accepted(build, path, spec=spec,
                                       signer_sha256=str(outcome.get("signer_sha256", "")), runner=runner)  # fmt: skip
        except BuildError as exc:
            return finish_build(build, Build.State.FAILED, error_code=exc.code, error_message=exc.message)
    return finish_build(build, Build.State.SUCCEEDED, **fields)
