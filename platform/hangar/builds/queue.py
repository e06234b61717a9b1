"""The build queue: request, cancel, and the fair claim every agent (built-in or remote) takes builds by.

Builds wait in the database, not in the broker: a Celery message only says "a build may be
claimable on this platform". The claim picks, among queued builds whose app is under its
concurrency limit, one of the organization with the fewest running builds, then the one served
least recently, then the oldest request: a tenant with 50 builds queued does not starve one with 1.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections import Counter
from datetime import timedelta

import kombu.exceptions
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from hangar.builds.errors import BuildSpecError
from hangar.builds.models import Build, BuildProfile
from tenants.models import App, Developer

logger = logging.getLogger(__name__)
CLAIM_WINDOW = 1000  # queued builds considered per claim


def app_concurrency(app: App) -> int:
    plan = app.organization.plan
    if plan is not None and plan.max_concurrent_builds is not None:
        return int(plan.max_concurrent_builds)
    return int(settings.HANGAR_BUILDS_APP_CONCURRENCY)


def app_retention(app: App) -> timedelta:
    plan = app.organization.plan
    days = plan.build_retention_days if plan is not None and plan.build_retention_days is not None else None
    return timedelta(days=float(days if days is not None else settings.HANGAR_BUILDS_RETENTION_DAYS))


def build_request(
    *, app: App, profile: BuildProfile, actor: Developer | None = None, timeout_seconds: int | None = None
) -> Build:
    """Queue a build of the profile as it is now; a worker is told on commit."""
    if profile.app_id != app.pk:
        raise BuildSpecError("No such profile in this app.", field="profile")
    if profile.credential is None:
        raise BuildSpecError("The profile names no signing credential.", field="credential")
    if profile.credential.app_id != app.pk:
        raise BuildSpecError("No such signing credential in this app.", field="credential")  # fail closed
    if profile.credential.platform != profile.platform:
        raise BuildSpecError(f"The credential {profile.credential.name!r} does not sign {profile.platform} apps.",
                             field="credential")  # fmt: skip
    timeout = timeout_seconds or settings.HANGAR_BUILDS_TIMEOUT_SECONDS
    spec = {
        "profile": profile.name, "package_name": profile.package_name, "label": profile.label,
        "version_code": profile.version_code, "version_name": profile.version_name, "start_url": profile.start_url,
        "artifact_format": profile.artifact_format,
        "icon_sha256": hashlib.sha256(bytes(profile.icon_png)).hexdigest(),
        "web_bundle_sha256": hashlib.sha256(bytes(profile.web_bundle)).hexdigest() if profile.web_bundle else "",
    }  # fmt: skip
    with transaction.atomic():
        App.objects.select_for_update().filter(pk=app.pk).first()  # numbers builds one at a time per app
        number = (Build.objects.filter(app=app).aggregate(n=Max("number"))["n"] or 0) + 1
        build = Build.objects.create(
            app=app, uid=secrets.token_hex(16), number=number, platform=profile.platform, profile=profile,
            credential=profile.credential, spec=spec, timeout_seconds=timeout, requested_by=actor,
            icon_png=bytes(profile.icon_png), web_bundle=bytes(profile.web_bundle) if profile.web_bundle else None,
        )  # fmt: skip
        transaction.on_commit(lambda: notify_workers(build.platform))
    return build


def notify_workers(platform: str) -> None:
    """Tell a worker a build may be claimable; a broker outage loses nothing (the reaper's tick tells again)."""
    from hangar.builds.tasks import run_next

    try:
        run_next.apply_async(kwargs={"platform": platform}, queue=f"builds.{platform}", retry=False)
    except (OSError, kombu.exceptions.OperationalError) as exc:
        # The build is safe in the database; builds.reap re-sends this notice every 15 s.
        logger.warning("could not notify the %s build workers (%s); the reaper will", platform, exc)


def build_cancel(*, app: App, uid: str) -> Build:
    """Cancel in any state: a queued build at once, a running one at its next check (its tools are killed)."""
    with transaction.atomic():
        build = Build.objects.select_for_update().get(app=app, uid=uid)
        if build.state == Build.State.QUEUED:
            build.state = Build.State.CANCELLED
            build.finished_at = timezone.now()
            build.error_code, build.error_message = "cancelled", "Cancelled before it started."
        elif build.state == Build.State.RUNNING:
            build.cancel_requested = True
        build.save()
    return build


def build_claim(*, platform: str, agent: str) -> Build | None:
    """Take the next build by fair share, or None; serialised per platform by an advisory lock."""
    lease = timedelta(seconds=settings.HANGAR_BUILDS_LEASE_SECONDS)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"hangar-builds-claim:{platform}"])
        running = list(Build.objects.filter(platform=platform, state=Build.State.RUNNING).values_list(
            "app_id", "app__organization_id"))  # fmt: skip
        by_app = Counter(app_id for app_id, _ in running)
        by_org = Counter(org_id for _, org_id in running)
        since = timezone.now() - timedelta(hours=1)
        served = dict(
            Build.objects.filter(platform=platform, started_at__gte=since)
            .values_list("app__organization_id")
            .annotate(last=Max("started_at"))
            .values_list("app__organization_id", "last")
        )
        queued = Build.objects.filter(platform=platform, state=Build.State.QUEUED).select_related(
            "app__organization__plan").order_by("requested_at", "id")[:CLAIM_WINDOW]  # fmt: skip
        eligible = [b for b in queued if by_app[b.app_id] < app_concurrency(b.app)]
        if not eligible:
            return None
        oldest = since - timedelta(days=1)
        build = min(
            eligible,
            key=lambda b: (
                by_org[b.app.organization_id],
                served.get(b.app.organization_id, oldest),
                b.requested_at,
                b.pk,
            ),
        )
        now = timezone.now()
        build.state = Build.State.RUNNING
        build.attempt += 1
        build.started_at = now
        build.agent = agent[:100]
        build.lease_expires_at = now + lease
        build.save(update_fields=["state", "attempt", "started_at", "agent", "lease_expires_at"])
    return build
