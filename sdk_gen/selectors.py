"""Reads for SDK generation (control plane, Django ORM): an app's spec, its snapshots and packages."""

from __future__ import annotations

from hangar.cloudcode.selectors import active_version
from hangar.datastore.models import SchemaClass
from sdk_gen.models import SdkPackage, SdkSnapshot
from sdk_gen.spec import AppSpec, app_spec_build
from tenants.models import App


def app_spec_get(*, app: App) -> AppSpec:
    """The app's spec as of now: its schema registry and the handlers its active cloud code declared."""
    schemas = {row.class_name: row.fields for row in SchemaClass.objects.filter(app=app).only("class_name", "fields")}
    version = active_version(app.pk)
    handlers = version.handlers if version is not None and isinstance(version.handlers, dict) else {}
    return app_spec_build(app_name=app.name, application_id=app.application_id, schemas=schemas, handlers=handlers)


def sdk_snapshot_list(*, app: App) -> list[SdkSnapshot]:
    """The app's schema versions the SDKs were generated for, newest first."""
    return list(SdkSnapshot.objects.filter(app=app).order_by("-number"))


def sdk_package_get(*, snapshot: SdkSnapshot, language: str) -> SdkPackage | None:
    return SdkPackage.objects.filter(snapshot=snapshot, language=language).first()
