"""Cloud code from the control plane: deploy, activate (rollback), variables, run a function.

The work itself is hangar.cloudcode's (validation in the sandbox, immutable versions,
encrypted variables); this layer checks the developer's role on the app, turns the
bundle's and the sandbox's errors into the management API's and records the audit
event. Audit details never carry a variable's value.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from typing import Any

from django.conf import settings
from django.db import transaction

from hangar.cloudcode import services as cloud
from hangar.cloudcode.bundles import Bundle, BundleError, bundle_from_zip
from hangar.cloudcode.console import function_run_as_master
from hangar.cloudcode.models import CloudVersion
from hangar.parse_errors import ParseError
from tenants.audit import audit_record
from tenants.errors import BundleRejectedError, CloudCodeUnavailableError, NotFoundError, ValidationFailedError
from tenants.models import App, Developer, Organization
from tenants.roles import Permission
from tenants.services.access import membership_require

VARIABLE_VALUE_MAX = 32 * 1024
FUNCTION_NAME_MAX = 128
# What a malformed archive raises from zipfile beyond BadZipFile: a bad deflate stream,
# a truncated member, an encrypted member, an unsupported compression method.
_ARCHIVE_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError)


def _app_for(actor: Developer, organization: Organization, app_pk: int, permission: Permission) -> App:
    membership_require(actor=actor, organization=organization, permission=permission)
    app = organization.apps.filter(pk=app_pk, status=App.Status.ACTIVE).first()
    if app is None:
        raise NotFoundError("App not found.")
    return app


def bundle_from_upload(*, archive: bytes | None = None, files: dict[str, str] | None = None) -> Bundle:
    """A bundle from a zip's bytes or from a map of path to source text; BundleRejectedError if it is not one."""
    if files is not None:
        archive = _zip_of(files)
    try:
        return bundle_from_zip(archive or b"")
    except BundleError as exc:
        raise BundleRejectedError(str(exc)) from exc
    except _ARCHIVE_ERRORS as exc:
        raise BundleRejectedError(f"the zip file is damaged or unsupported ({exc})") from exc


def _zip_of(files: dict[str, str]) -> bytes:
    total = sum(len(text) for text in files.values())
    if total > settings.HANGAR_CLOUD_MAX_BUNDLE_BYTES:
        raise BundleRejectedError(f"the bundle is larger than {settings.HANGAR_CLOUD_MAX_BUNDLE_BYTES} bytes")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in files.items():
            archive.writestr(path, text.encode())
    return out.getvalue()


def cloud_version_deploy(
    *, actor: Developer, organization: Organization, app_pk: int, bundle: Bundle, note: str = "", activate: bool = True
) -> CloudVersion:
    """Validate the bundle in the sandbox, store it as the next version and (by default) activate it."""
    app = _app_for(actor, organization, app_pk, Permission.MANAGE_CLOUD_CODE)
    try:
        # Validation runs a sandbox for up to the start timeout: outside any transaction.
        version = cloud.deploy_version(app, bundle, created_by=actor.email, note=note, activate=activate)
    except cloud.DeployError as exc:
        raise BundleRejectedError(exc.message, file=exc.file, line=exc.line) from exc
    audit_record(
        actor=actor, organization=organization, action="cloud_code.deploy", target_type="app",
        target_id=app.application_id, target_name=app.name,
        details={"version": version.number, "sha256": version.sha256, "size": version.size, "active": activate},
    )  # fmt: skip
    return version


def cloud_version_activate(*, actor: Developer, organization: Organization, app_pk: int, number: int) -> CloudVersion:
    """Make a stored version the one the app runs (an earlier one: a rollback)."""
    with transaction.atomic():
        app = _app_for(actor, organization, app_pk, Permission.MANAGE_CLOUD_CODE)
        try:
            version = cloud.activate_version(app, number)
        except BundleError as exc:
            raise NotFoundError(f"Version {number} does not exist.") from exc
        audit_record(
            actor=actor, organization=organization, action="cloud_code.activate", target_type="app",
            target_id=app.application_id, target_name=app.name, details={"version": number},
        )  # fmt: skip
    return version


def cloud_variable_set(
    *, actor: Developer, organization: Organization, app_pk: int, name: str, value: str, secret: bool
) -> None:
    """Create or replace a variable; workers restart with it on their app's next request."""
    if len(value) > VARIABLE_VALUE_MAX:
        raise ValidationFailedError(f"A value is at most {VARIABLE_VALUE_MAX} characters.", field="value")
    if "\x00" in value or "\x00" in name:
        raise ValidationFailedError("A variable cannot contain a NUL character.", field="value")
    with transaction.atomic():
        app = _app_for(actor, organization, app_pk, Permission.MANAGE_CLOUD_VARIABLES)
        try:
            cloud.set_variable(app, name, value, secret=secret)
        except ValueError as exc:
            raise ValidationFailedError(f"Invalid name: {exc}.", field="name") from exc
        audit_record(
            actor=actor, organization=organization, action="cloud_code.variable_set", target_type="app",
            target_id=app.application_id, target_name=app.name, details={"name": name, "secret": secret},
        )  # fmt: skip


def cloud_variable_delete(*, actor: Developer, organization: Organization, app_pk: int, name: str) -> None:
    with transaction.atomic():
        app = _app_for(actor, organization, app_pk, Permission.MANAGE_CLOUD_VARIABLES)
        if not cloud.delete_variable(app, name):
            raise NotFoundError(f"No variable named {name!r}.")
        audit_record(
            actor=actor, organization=organization, action="cloud_code.variable_delete", target_type="app",
            target_id=app.application_id, target_name=app.name, details={"name": name},
        )  # fmt: skip


def cloud_function_run(
    *, actor: Developer, organization: Organization, app_pk: int, name: str, params: dict[str, Any]
) -> dict[str, Any]:
    """Run a function with the master scope: ``{"result": ...}`` or ``{"error": {"code", "error"}}`` as Parse."""
    app = _app_for(actor, organization, app_pk, Permission.MANAGE_CLOUD_CODE)
    if not name or len(name) > FUNCTION_NAME_MAX:
        raise ValidationFailedError(f"A function name is 1 to {FUNCTION_NAME_MAX} characters.", field="name")
    # Recorded before it runs: the function may write data with the master scope.
    audit_record(
        actor=actor, organization=organization, action="cloud_code.run", target_type="app",
        target_id=app.application_id, target_name=app.name, details={"function": name},
    )  # fmt: skip
    try:
        return {"result": function_run_as_master(app, name, params)}
    except ParseError as exc:
        if exc.status == 503:
            raise CloudCodeUnavailableError(exc.message) from exc
        return {"error": {"code": exc.code, "error": exc.message}}


def cloud_settings_update(
    *, actor: Developer, organization: Organization, app_pk: int,
    function_timeout_seconds: float | None, trigger_timeout_seconds: float | None,
) -> None:  # fmt: skip
    """Set the app's own handler deadlines (None: the platform's default), within the platform's maximums."""
    with transaction.atomic():
        app = _app_for(actor, organization, app_pk, Permission.MANAGE_CLOUD_CODE)
        try:
            cloud.set_limits(
                app, function_timeout_seconds=function_timeout_seconds, trigger_timeout_seconds=trigger_timeout_seconds
            )
        except ValueError as exc:
            field = "function_timeout_seconds" if "function" in str(exc) else "trigger_timeout_seconds"
            raise ValidationFailedError(f"{str(exc).capitalize()}.", field=field) from exc
        audit_record(
            actor=actor, organization=organization, action="cloud_code.settings_update", target_type="app",
            target_id=app.application_id, target_name=app.name,
            details={
                "function_timeout_seconds": function_timeout_seconds,
                "trigger_timeout_seconds": trigger_timeout_seconds,
            },
        )  # fmt: skip
