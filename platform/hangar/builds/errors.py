"""The build pipeline's typed errors: each carries a stable code the API and the command print."""

from __future__ import annotations


class BuildError(Exception):
    """Base of the pipeline's errors; ``code`` is stable, ``message`` is safe to show a tenant."""

    code = "build_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BuildSpecError(BuildError):
    """A profile or an input is not buildable (package name, version code, URL, icon, bundle)."""

    code = "invalid_build_spec"


class SigningError(BuildError):
    """The keystore cannot be opened or holds no key under the alias (a wrong password, too)."""

    code = "signing_failed"


class ToolchainError(BuildError):
    """A toolchain step failed; ``retryable`` says whether running the build again could help."""

    code = "toolchain_failed"

    def __init__(self, message: str, *, step: str, retryable: bool = False, output: str = "") -> None:
        super().__init__(message)
        self.step = step
        self.retryable = retryable
        self.output = output  # the tool's whole output (already redacted), for callers that classify it


class ToolchainMissingError(ToolchainError):
    """A tool of the toolchain is not installed here (``make toolchains`` installs Debian's)."""

    code = "toolchain_missing"


class BuildCancelledError(BuildError):
    code = "cancelled"


class BuildTimedOutError(BuildError):
    code = "timed_out"


class VerificationError(BuildError):
    """The test stage found the artifact unsound (signature, alignment, badging)."""

    code = "verification_failed"


class VaultError(BuildError):
    """A signing credential cannot be stored or opened (bad upload, unknown key-encryption key)."""

    code = "vault_error"
