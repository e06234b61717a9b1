"""Writes of SDK generation: record the app's schema as a snapshot, build and cache packages per snapshot.

A package is built once per (schema hash, language) and stored; a schema change makes a new snapshot,
so the next download regenerates (DESIGN.md section 7: "cached by schema hash"). The packages that need
a compiler (TypeScript, Java) are never built inside a request: the first request for a snapshot queues
one Celery task that builds all its packages, and answers "building" until they are stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from sdk_gen.changelog import schema_changes
from sdk_gen.errors import UnknownLanguageError
from sdk_gen.generate import LANGUAGES, BuiltPackage, expected_filename, offered_languages, package_for, packages_for
from sdk_gen.models import SdkPackage, SdkSnapshot
from sdk_gen.selectors import app_spec_get, sdk_package_get
from sdk_gen.spec import AppSpec
from tenants.models import App

logger = logging.getLogger(__name__)


def parse_server_url() -> str:
    return settings.HANGAR_PUBLIC_URL.rstrip("/") + settings.HANGAR_PARSE_MOUNT


@dataclass(frozen=True)
class ChangelogEntry:
    version: str
    schema_hash: str
    created_at: str
    changes: list[str]


# Built by the Celery task (seconds of compiler time); the others are generated in the request (milliseconds).
COMPILED_LANGUAGES = frozenset({"typescript", "java"})
# What a client is told to wait before asking again while the build runs.
BUILD_POLL_SECONDS = 2
# A build queued this long ago with no result was lost (a worker killed mid-task): the next request queues it again.
BUILD_LOST_AFTER = timedelta(minutes=10)
# A failed build is not retried for this long (each poll would otherwise start a compilation).
BUILD_RETRY_AFTER_FAILURE = timedelta(seconds=60)


@dataclass(frozen=True)
class SdkLanguage:
    language: str
    label: str
    filename: str
    install: str
    status: str  # "ready", "building", "failed" or "on request" (generated when downloaded)


@dataclass(frozen=True)
class SdkBuilding:
    """The answer while a compiled package is not stored yet: come back after ``retry_after`` seconds."""

    language: str
    version: str
    schema_hash: str
    retry_after: int
    error: str = ""  # set when the last build failed; it is retried after ``retry_after``

    @property
    def status(self) -> str:
        return "failed" if self.error else "building"


@dataclass(frozen=True)
class SdkOverview:
    version: str
    schema_hash: str
    server_url: str
    application_id: str
    languages: list[SdkLanguage]
    changelog: list[ChangelogEntry]


_LABELS = {"python": "Python", "typescript": "TypeScript", "java": "Java (Android)", "openapi": "OpenAPI 3.1"}


def _install_line(language: str, filename: str) -> str:
    return {
        "python": f"pip install ./{filename}",
        "typescript": f"npm install ./{filename}",
        "java": f"cp {filename} app/libs/   # then: implementation files('libs/{filename}')",
        "openapi": f"openapi-generator-cli generate -i {filename} ...   # or any OpenAPI 3.1 tool",
    }[language]


def sdk_overview(*, app: App) -> SdkOverview:
    """What the dashboard and the API show: the current version, each language's download and the changelog.

    Looking is a sign a download follows: the compiled packages of a new schema are queued from here.
    """
    spec, snapshot = sdk_snapshot_record(app=app)
    built = set(SdkPackage.objects.filter(snapshot=snapshot).values_list("language", flat=True))
    offered = offered_languages()
    building = None if COMPILED_LANGUAGES & set(offered) <= built else sdk_build_queue(snapshot=snapshot)
    languages = []
    for language in offered:
        filename = expected_filename(spec, language=language, version=snapshot.version)
        status = "ready" if language in built else "on request"
        if language in COMPILED_LANGUAGES and language not in built and building is not None:
            status = building.status
        languages.append(SdkLanguage(language, _LABELS[language], filename, _install_line(language, filename), status))
    return SdkOverview(
        version=snapshot.version, schema_hash=snapshot.schema_hash, server_url=parse_server_url(),
        application_id=app.application_id, languages=languages, changelog=sdk_changelog(app=app),
    )  # fmt: skip


def sdk_snapshot_record(*, app: App) -> tuple[AppSpec, SdkSnapshot]:
    """The snapshot of the app's current schema, recorded as the next version if the schema is new."""
    spec = app_spec_get(app=app)
    digest = spec.schema_hash
    existing = SdkSnapshot.objects.filter(app=app, schema_hash=digest).first()
    if existing is not None:
        return spec, existing
    try:
        with transaction.atomic():
            # The app row is the lock: two first downloads of a new schema cannot both take a number.
            App.objects.select_for_update().filter(pk=app.pk).first()
            number = (SdkSnapshot.objects.filter(app=app).aggregate(n=Max("number"))["n"] or 0) + 1
            snapshot = SdkSnapshot.objects.create(
                app=app, number=number, schema_hash=digest, schema=spec.schema_document()
            )
    except IntegrityError:  # the same schema recorded by a concurrent request
        snapshot = SdkSnapshot.objects.get(app=app, schema_hash=digest)
    return spec, snapshot


def _offered_or_error(language: str) -> None:
    if language not in offered_languages():
        raise UnknownLanguageError(f"Unknown SDK language {language!r}; choose one of {', '.join(LANGUAGES)}.")


def _package_store(*, snapshot: SdkSnapshot, language: str, built: BuiltPackage) -> SdkPackage:
    try:
        with transaction.atomic():
            return SdkPackage.objects.create(
                snapshot=snapshot, language=language, filename=built.filename, content_type=built.content_type,
                content=built.content, size=len(built.content),
            )  # fmt: skip
    except IntegrityError:  # stored meanwhile by another build of the same snapshot
        return SdkPackage.objects.get(snapshot=snapshot, language=language)


def sdk_download_get(*, app: App, language: str) -> SdkPackage | SdkBuilding:
    """The package of ``language`` for the app's current schema, or "building" while its compilation is queued.

    Stored packages are answered as they are; Python and OpenAPI (no compiler, milliseconds) are generated
    here; TypeScript and Java are left to the Celery task ``sdk_gen.packages_build``.
    """
    _offered_or_error(language)
    spec, snapshot = sdk_snapshot_record(app=app)
    cached = sdk_package_get(snapshot=snapshot, language=language)
    if cached is not None:
        return cached
    if language in COMPILED_LANGUAGES:
        return sdk_build_queue(snapshot=snapshot, language=language)
    built = package_for(spec, language=language, version=snapshot.version, server_url=parse_server_url())
    return _package_store(snapshot=snapshot, language=language, built=built)


def sdk_build_queue(*, snapshot: SdkSnapshot, language: str = "") -> SdkBuilding:
    """Queue the build of the snapshot's packages unless it is queued already or failed a moment ago."""
    from sdk_gen.tasks import packages_build  # the task module imports these services

    now = timezone.now()
    failed_at = snapshot.build_failed_at
    if failed_at is not None and now - failed_at < BUILD_RETRY_AFTER_FAILURE:
        wait = BUILD_RETRY_AFTER_FAILURE - (now - failed_at)
        return SdkBuilding(language, snapshot.version, snapshot.schema_hash, max(1, int(wait.total_seconds())),
                           error=snapshot.build_error or "the build failed")  # fmt: skip
    # One conditional update is the claim: of concurrent first requests, exactly one queues the task.
    claimed = (
        SdkSnapshot.objects.filter(pk=snapshot.pk)
        .filter(Q(build_queued_at__isnull=True) | Q(build_queued_at__lt=now - BUILD_LOST_AFTER))
        .update(build_queued_at=now, build_failed_at=None, build_error="")
    )
    if claimed:
        snapshot_id = snapshot.pk
        transaction.on_commit(lambda: packages_build.delay(snapshot_id=snapshot_id))
    return SdkBuilding(language, snapshot.version, snapshot.schema_hash, BUILD_POLL_SECONDS)


def sdk_snapshot_packages_build(*, snapshot_id: int) -> list[str]:
    """Build and store every missing package of the snapshot (the task's body); the languages stored.

    Idempotent: stored packages are kept, and a snapshot the app's schema has moved past is left alone
    (the newer snapshot has its own build). A failure is recorded on the snapshot for the download to tell.
    """
    snapshot = SdkSnapshot.objects.select_related("app").filter(pk=snapshot_id).first()
    if snapshot is None:
        return []
    spec = app_spec_get(app=snapshot.app)
    built = set(SdkPackage.objects.filter(snapshot=snapshot).values_list("language", flat=True))
    missing = [language for language in offered_languages() if language not in built]
    if spec.schema_hash != snapshot.schema_hash or not missing:
        return []
    try:
        packages = packages_for(spec, languages=missing, version=snapshot.version, server_url=parse_server_url())
    except Exception as exc:  # a compiler's error or deadline: told to whoever downloads next, not retried blindly
        logger.exception("SDK build of snapshot %s failed", snapshot.pk)
        SdkSnapshot.objects.filter(pk=snapshot.pk).update(
            build_queued_at=None, build_failed_at=timezone.now(), build_error=str(exc)[:2000]
        )
        return []
    for language, package in packages.items():
        _package_store(snapshot=snapshot, language=language, built=package)
    return sorted(packages)


def sdk_package_build(*, app: App, language: str) -> SdkPackage:
    """The package of ``language`` for the app's current schema, built now (compilers included) or from the cache.

    For the operator's command, the tests and the task; request handlers use ``sdk_download_get``.
    """
    _offered_or_error(language)
    spec, snapshot = sdk_snapshot_record(app=app)
    cached = sdk_package_get(snapshot=snapshot, language=language)
    if cached is not None:
        return cached
    built = package_for(spec, language=language, version=snapshot.version, server_url=parse_server_url())
    return _package_store(snapshot=snapshot, language=language, built=built)


def sdk_changelog(*, app: App) -> list[ChangelogEntry]:
    """Every recorded version, newest first, with what changed since the one before."""
    snapshots = list(SdkSnapshot.objects.filter(app=app).order_by("number"))
    entries = []
    previous = None
    for snapshot in snapshots:
        entries.append(
            ChangelogEntry(
                version=snapshot.version, schema_hash=snapshot.schema_hash,
                created_at=snapshot.created_at.isoformat(), changes=schema_changes(previous, snapshot.schema),
            )
        )  # fmt: skip
        previous = snapshot.schema
    return list(reversed(entries))
