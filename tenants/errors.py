"""Typed errors of the tenants domain; api.py and the dashboard map them to responses."""

from __future__ import annotations


class TenantsError(Exception):
    """Base class: ``code`` is stable and machine-readable, the message is for people."""

    code = "tenants_error"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailedError(TenantsError):
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, messages: list[str] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.messages = messages or [message]


class InvalidCredentialsError(ValidationFailedError):
    """Wrong email or password: one error for an unknown email, a wrong password and an inactive account."""

    def __init__(self) -> None:
        super().__init__("Invalid email or password.")


class SignInLockedError(TenantsError):
    """Too many wrong passwords for this email or from this address; says nothing of whether the account exists."""

    code = "throttled"
    status = 429

    def __init__(self, minutes: int) -> None:
        super().__init__(f"Too many failed sign-in attempts. Try again in {minutes} minutes.")
        self.retry_after_seconds = minutes * 60


class EmailTakenError(TenantsError):
    code = "email_taken"
    status = 409


class NotFoundError(TenantsError):
    """The object does not exist or the caller may not know it does."""

    code = "not_found"
    status = 404


class PermissionDeniedError(TenantsError):
    code = "permission_denied"
    status = 403


class PlanLimitError(TenantsError):
    code = "plan_limit"
    status = 403


class InvitationInvalidError(TenantsError):
    code = "invitation_invalid"
    status = 400


class BundleRejectedError(ValidationFailedError):
    """A cloud-code upload was refused; ``file``/``line`` say where when the sandbox could tell."""

    code = "invalid_bundle"

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        super().__init__(f"{where}{message}", field="bundle")
        self.file, self.line = file, line


class CloudCodeUnavailableError(TenantsError):
    """The sandbox could not run the function now (pool busy, sandbox down); a retry may help."""

    code = "cloud_code_unavailable"
    status = 503


class SendsThrottledError(TenantsError):
    """An app sent more SMS and email this minute than HANGAR_MESSAGING_SENDS_PER_MINUTE allows."""

    code = "throttled"
    status = 429
    retry_after_seconds = 60


class PushUnavailableError(TenantsError):
    """A push could not be sent now (a store it needs does not answer); nothing was recorded, a retry may help."""

    code = "push_unavailable"
    status = 503


class BuildRejectedError(ValidationFailedError):
    """A build input, profile or signing credential was refused; ``code`` is the pipeline's own."""

    def __init__(self, message: str, *, code: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code


class SchemaBusyError(TenantsError):
    """Another schema change of the same app is running; the client may retry."""

    code = "schema_busy"
    status = 409


class BackupUnavailableError(TenantsError):
    """Backup storage did not answer; trying again later may help."""

    code = "backup_storage_unavailable"
    status = 503
    retry_after_seconds = 30


class RestoreBusyError(TenantsError):
    """A restore of the app is already queued or running."""

    code = "restore_busy"
    status = 409
