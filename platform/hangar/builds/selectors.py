"""Reads of an app's builds, profiles and credentials; the caller has resolved and authorised the app."""

from __future__ import annotations

from django.db.models import QuerySet

from hangar.builds.models import Build, BuildLogLine, BuildProfile, BuildStep, SigningCredential
from tenants.models import App


def build_list(*, app: App, limit: int = 50) -> list[Build]:
    return list(Build.objects.filter(app=app).select_related("credential", "profile").order_by("-number")[:limit])


def build_get(*, app: App, number: int) -> Build | None:
    return Build.objects.filter(app=app, number=number).select_related("credential", "app").first()


def build_get_by_uid(*, app_pk: int, uid: str) -> Build | None:
    return Build.objects.filter(app_id=app_pk, uid=uid).select_related("app").first()


def build_steps(*, build: Build) -> QuerySet[BuildStep]:
    return BuildStep.objects.filter(build=build).order_by("id")


def build_log(*, build: Build, after: int = 0, limit: int = 1000) -> list[BuildLogLine]:
    return list(BuildLogLine.objects.filter(build=build, seq__gt=after).order_by("seq")[:limit])


def profile_list(*, app: App) -> list[BuildProfile]:
    return list(BuildProfile.objects.filter(app=app).select_related("credential").order_by("platform", "name"))


def credential_list(*, app: App) -> list[SigningCredential]:
    # Never the sealed columns: a listing has no reason to carry them out of the database.
    return list(SigningCredential.objects.filter(app=app).defer("wrapped_key", "sealed").order_by("name"))
