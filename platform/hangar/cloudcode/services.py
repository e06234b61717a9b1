"""Writes of cloud code (control plane): deploy a version, activate or roll back, set variables.

A deploy validates the bundle inside the sandbox (its import must succeed; the handlers
it registers are recorded), stores it as a new immutable version and activates it in
one transaction. Activation bumps the app's version, so every process picks the new
version up on its next request (hangar.admission.registry) and stops using workers of
the old one.
"""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction
from django.db.models import Max

from hangar.cloudcode import sandbox
from hangar.cloudcode.bundles import Bundle, BundleError
from hangar.cloudcode.models import CloudActivation, CloudLimits, CloudVariable, CloudVersion
from hangar.cloudcode.worker import BundleLoadError, SandboxError, SandboxWorker
from hangar.invalidation import publish_app_changed_on_commit
from hangar.secretbox import encrypt_secret
from tenants.models import App

VARIABLE_NAME_MAX = 128


class DeployError(ValueError):
    """The bundle was refused; ``file``/``line`` say where when the sandbox could tell."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.file, self.line = message, file, line

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.message, "file": self.file, "line": self.line}


async def _handlers_of(bundle: Bundle, env: dict[str, str]) -> dict[str, Any]:
    directory = await asyncio.to_thread(sandbox.unpack_bundle, bundle.archive, label="validate")
    try:
        worker = await SandboxWorker.start(
            bundle=directory,
            env=env,
            limits=sandbox.default_limits(),
            timeout=settings.HANGAR_CLOUD_START_TIMEOUT_SECONDS,
        )
        await worker.stop()
        return worker.handlers
    finally:
        await asyncio.to_thread(sandbox.remove_bundle_dir, directory)


def validate_bundle(bundle: Bundle, *, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Import the bundle in a sandbox; returns what it registered or raises DeployError with the place."""
    try:
        return async_to_sync(_handlers_of)(bundle, env or {})
    except BundleLoadError as exc:
        raise DeployError(exc.error, file=exc.file, line=exc.line) from exc
    except (SandboxError, sandbox.SandboxUnavailableError) as exc:
        raise DeployError(f"the bundle could not be validated: {exc}") from exc


def deploy_version(
    app: App, bundle: Bundle, *, created_by: str = "", note: str = "", activate: bool = True
) -> CloudVersion:
    from hangar.cloudcode.selectors import version_archive_and_env  # noqa: F401 - same module family

    env = {v.name: _plain(v) for v in CloudVariable.objects.filter(app=app)}
    handlers = validate_bundle(bundle, env=env)
    with transaction.atomic():
        App.objects.select_for_update().filter(pk=app.pk).first()  # numbers one deploy at a time per app
        number = (CloudVersion.objects.filter(app=app).aggregate(top=Max("number"))["top"] or 0) + 1
        version = CloudVersion.objects.create(
            app=app, number=number, archive=bundle.archive, sha256=bundle.sha256, size=len(bundle.archive),
            handlers=handlers, created_by=created_by[:254], note=note[:200],
        )  # fmt: skip
        if activate:
            _activate(app, version)
    return version


def _plain(variable: CloudVariable) -> str:
    from hangar.secretbox import decrypt_secret

    return decrypt_secret(variable.ciphertext)


def _activate(app: App, version: CloudVersion) -> None:
    CloudActivation.objects.update_or_create(app=app, defaults={"version": version})
    publish_app_changed_on_commit(app.application_id)


def activate_version(app: App, number: int) -> CloudVersion:
    """Make an earlier (or later) version the active one: rollback is one UPDATE."""
    with transaction.atomic():
        version = CloudVersion.objects.filter(app=app, number=number).defer("archive").first()
        if version is None:
            raise BundleError(f"version {number} does not exist")
        _activate(app, version)
    return version


def deactivate(app: App) -> None:
    with transaction.atomic():
        CloudActivation.objects.filter(app=app).delete()
        publish_app_changed_on_commit(app.application_id)


def set_variable(app: App, name: str, value: str, *, secret: bool) -> None:
    if not name or len(name) > VARIABLE_NAME_MAX or not name.replace("_", "").isalnum() or name[0].isdigit():
        raise ValueError("a variable name is letters, digits and underscores, not starting with a digit")
    CloudVariable.objects.update_or_create(
        app=app, name=name, defaults={"ciphertext": encrypt_secret(value), "is_secret": secret}
    )
    _announce_variables(app)


def delete_variable(app: App, name: str) -> bool:
    deleted, _ = CloudVariable.objects.filter(app=app, name=name).delete()
    _announce_variables(app)
    return bool(deleted)


def _announce_variables(app: App) -> None:
    # Workers read the variables when they start: a change restarts them (through the app's version).
    publish_app_changed_on_commit(app.application_id)


def _checked_timeout(value: float | None, *, maximum: float, what: str) -> float | None:
    if value is None:
        return None
    if not 0 < value <= maximum:
        raise ValueError(f"the {what} timeout is more than 0 and at most {maximum:g} seconds")
    return float(value)


def timeout_maximums(app: App) -> tuple[float, float]:
    """The longest function and trigger deadlines the app's plan allows (the platform's maximums by default)."""
    plan = app.organization.plan
    function_max = settings.HANGAR_CLOUD_FUNCTION_TIMEOUT_MAX_SECONDS
    trigger_max = settings.HANGAR_CLOUD_TRIGGER_TIMEOUT_MAX_SECONDS
    if plan is not None and plan.cloud_function_timeout_max_seconds is not None:
        function_max = plan.cloud_function_timeout_max_seconds
    if plan is not None and plan.cloud_trigger_timeout_max_seconds is not None:
        trigger_max = plan.cloud_trigger_timeout_max_seconds
    return function_max, trigger_max


def set_limits(app: App, *, function_timeout_seconds: float | None, trigger_timeout_seconds: float | None) -> None:
    """Set the app's own handler deadlines (None: the platform's default), within its plan's maximums.

    A plan lowered later still bounds them: the data plane takes the smaller of the two.
    """
    function_max, trigger_max = timeout_maximums(app)
    function_timeout = _checked_timeout(function_timeout_seconds, maximum=function_max, what="function")
    trigger_timeout = _checked_timeout(trigger_timeout_seconds, maximum=trigger_max, what="trigger")
    with transaction.atomic():
        CloudLimits.objects.update_or_create(
            app=app,
            defaults={"function_timeout_seconds": function_timeout, "trigger_timeout_seconds": trigger_timeout},
        )
        publish_app_changed_on_commit(app.application_id)  # every process reloads the app, and with it the deadlines
