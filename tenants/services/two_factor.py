"""Two-factor sign-in for developer accounts: TOTP enrolment with a QR code, recovery codes, verification.

RFC 6238 codes (30 s, 6 digits, SHA-1: what every authenticator app reads from an
``otpauth://`` QR code). A code is accepted one step either side of now for clock drift,
and each time step only once. Recovery codes are ten one-time codes shown once at
enrolment; only their SHA-256 digests are stored.
"""

from __future__ import annotations

import secrets

import pyotp
import segno
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from hangar.secretbox import decrypt_secret, encrypt_secret, token_digest
from tenants.audit import audit_record
from tenants.errors import ValidationFailedError
from tenants.models import Developer, DeveloperTotp, RecoveryCode

ISSUER = "Hangar"
RECOVERY_CODES = 10
_DRIFT_STEPS = 1


def totp_enabled(*, developer: Developer) -> bool:
    return DeveloperTotp.objects.filter(developer=developer, confirmed_at__isnull=False).exists()


def totp_enrol_start(*, developer: Developer) -> tuple[str, str]:
    """A new secret waiting for its first code (replacing an unconfirmed one); returns it and its otpauth URI."""
    if totp_enabled(developer=developer):
        raise ValidationFailedError("Two-factor sign-in is already on; turn it off first to enrol a new device.")
    secret = pyotp.random_base32()
    DeveloperTotp.objects.update_or_create(
        developer=developer,
        defaults={"secret_ciphertext": encrypt_secret(secret), "confirmed_at": None, "last_step": 0},
    )
    return secret, pyotp.TOTP(secret).provisioning_uri(name=developer.email, issuer_name=ISSUER)


def totp_qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code (made here: the secret never leaves the server)."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, title="Scan with your authenticator app"))


def _step_if_valid(secret: str, code: str, last_step: int) -> int | None:
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now = timezone.now()
    current = totp.timecode(now)
    for step in range(current - _DRIFT_STEPS, current + _DRIFT_STEPS + 1):
        if step > last_step and secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def totp_enrol_confirm(*, developer: Developer, code: str) -> list[str]:
    """Turn two-factor sign-in on with the first code from the app; returns the recovery codes (shown once)."""
    with transaction.atomic():
        totp = DeveloperTotp.objects.select_for_update().filter(developer=developer, confirmed_at__isnull=True).first()
        if totp is None:
            raise ValidationFailedError("Start the enrolment again: there is no device waiting for a code.")
        step = _step_if_valid(decrypt_secret(totp.secret_ciphertext), code, 0)
        if step is None:
            raise ValidationFailedError("That code is not right; check the time on your phone and try the next one.")
        totp.confirmed_at, totp.last_step = timezone.now(), step
        totp.save(update_fields=["confirmed_at", "last_step"])
        codes = _new_recovery_codes(developer)
        audit_record(actor=developer, organization=None, action="account.totp_enable", target_type="developer",
                     target_id=developer.pk, target_name=developer.email)  # fmt: skip
    return codes


def _new_recovery_codes(developer: Developer) -> list[str]:
    RecoveryCode.objects.filter(developer=developer).delete()
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    RecoveryCode.objects.bulk_create(RecoveryCode(developer=developer, digest=token_digest(code)) for code in codes)
    return codes


def second_factor_check(*, developer: Developer, code: str) -> bool:
    """Whether ``code`` is a fresh TOTP code or an unused recovery code of the developer (and use it up)."""
    with transaction.atomic():
        totp = DeveloperTotp.objects.select_for_update().filter(developer=developer, confirmed_at__isnull=False).first()
        if totp is None:
            return False
        step = _step_if_valid(decrypt_secret(totp.secret_ciphertext), code, totp.last_step)
        if step is not None:
            totp.last_step = step
            totp.save(update_fields=["last_step"])
            return True
        used = RecoveryCode.objects.filter(
            developer=developer, digest=token_digest(code.strip().lower()), used_at__isnull=True
        ).update(used_at=timezone.now())
        if used:
            audit_record(actor=developer, organization=None, action="account.recovery_code_use",
                         target_type="developer", target_id=developer.pk, target_name=developer.email)  # fmt: skip
        return bool(used)


SECOND_FACTOR_TRIES = 5  # wrong codes per developer per window on a one-step form (the admin's login)
SECOND_FACTOR_WINDOW_SECONDS = 300


def second_factor_require(*, developer: Developer, code: str) -> None:
    """For a one-step sign-in (password and code together): refuse a developer with TOTP on without a good code.

    Wrong codes are counted per developer, so the right password does not buy unlimited guesses.
    """
    if not totp_enabled(developer=developer):
        return
    key = f"two-factor:tries:{developer.pk}"
    if int(cache.get(key) or 0) >= SECOND_FACTOR_TRIES:
        raise ValidationFailedError("Too many wrong two-factor codes; wait five minutes.")
    if not code.strip():
        raise ValidationFailedError("This account has two-factor sign-in on: enter the code from your app.")
    if not second_factor_check(developer=developer, code=code):
        cache.add(key, 0, SECOND_FACTOR_WINDOW_SECONDS)
        cache.incr(key)
        raise ValidationFailedError("That two-factor code is not right.")
    cache.delete(key)


def totp_disable(*, developer: Developer, code: str) -> None:
    """Turn two-factor sign-in off; needs a current code (or a recovery code), not only the session."""
    if not second_factor_check(developer=developer, code=code):
        raise ValidationFailedError("That code is not right.")
    with transaction.atomic():
        DeveloperTotp.objects.filter(developer=developer).delete()
        RecoveryCode.objects.filter(developer=developer).delete()
        audit_record(actor=developer, organization=None, action="account.totp_disable", target_type="developer",
                     target_id=developer.pk, target_name=developer.email)  # fmt: skip


def recovery_codes_left(*, developer: Developer) -> int:
    return RecoveryCode.objects.filter(developer=developer, used_at__isnull=True).count()
