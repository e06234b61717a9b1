"""Celery tasks of the built-in agent: one per platform queue (builds.android), plus the reaper."""

from __future__ import annotations

import socket

from celery import shared_task

from hangar.builds.queue import build_claim
from hangar.builds.runner import build_execute, build_reap, builds_expire


@shared_task(name="builds.run_next", acks_late=True)
def run_next(*, platform: str) -> str | None:
    """Claim the next build of the platform by fair share and run it; idempotent (nothing queued: nothing)."""
    build = build_claim(platform=platform, agent=f"builtin@{socket.gethostname()}")
    if build is None:
        return None
    return build_execute(build, agent=build.agent).state


@shared_task(name="builds.reap")
def reap() -> int:
    return build_reap() + builds_expire()
