"""Writes of SDK generation: record the app's schema as a snapshot, build and cache packages per snapshot.

A package is built once per (schema hash, language) and stored; a schema change makes a new snapshot,
so the next download regenerates (DESIGN.md section 7: "cached by schema hash").
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max

from sdk_gen.changelog import schema_changes
from sdk_gen.errors import UnknownLanguageError
from sdk_gen.generate import LANGUAGES, expected_filename, offered_languages, package_for
from sdk_gen.models import SdkPackage, SdkSnapshot
from sdk_gen.selectors import app_spec_get
from sdk_gen.spec import AppSpec
from tenants.models import App


def parse_server_url() -> str:
    return settings.HANGAR_PUBLIC_URL.rstrip("/") + settings.HANGAR_PARSE_MOUNT


@dataclass(frozen=True)
class ChangelogEntry:
    version: str
    schema_hash: str
    created_at: str
    changes: list[str]


@dataclass(frozen=True)
class SdkLanguage:
    language: str
    label: str
    filename: str
    install: str


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
    """What the dashboard and the API show: the current version, each language's download and the changelog."""
    spec, snapshot = sdk_snapshot_record(app=app)
    languages = []
    for language in offered_languages():
        filename = expected_filename(spec, language=language, version=snapshot.version)
        languages.append(SdkLanguage(language, _LABELS[language], filename, _install_line(language, filename)))
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


def sdk_package_build(*, app: App, language: str) -> SdkPackage:
    """The package of ``language`` for the app's current schema, built now or taken from the cache."""
    if language not in offered_languages():
        raise UnknownLanguageError(f"Unknown SDK language {language!r}; choose one of {', '.join(LANGUAGES)}.")
    spec, snapshot = sdk_snapshot_record(app=app)
    cached = SdkPackage.objects.filter(snapshot=snapshot, language=language).first()
    if cached is not None:
        return cached
    built = package_for(spec, language=language, version=snapshot.version, server_url=parse_server_url())
    try:
        with transaction.atomic():
            return SdkPackage.objects.create(
                snapshot=snapshot, language=language, filename=built.filename, content_type=built.content_type,
                content=built.content, size=len(built.content),
            )  # fmt: skip
    except IntegrityError:
        return SdkPackage.objects.get(snapshot=snapshot, language=language)


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
