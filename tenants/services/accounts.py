"""Developer accounts and personal access tokens."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from hangar.secretbox import token_digest
from tenants.audit import audit_record
from tenants.errors import EmailTakenError, NotFoundError, ValidationFailedError
from tenants.models import Developer, PersonalAccessToken
from tenants.selectors import organization_get
from tenants.services.organizations import organization_create

ACCESS_TOKEN_PREFIX = "hgr_"  # noqa: S105 (a marker that makes tokens greppable, not a secret)


def normalized_email(email: str) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationFailedError("Enter a valid email address.", field="email") from exc
    if len(email) > 254:  # validate_email allows up to 320; the columns hold 254 (RFC 5321 path limit)
        raise ValidationFailedError("An email address is at most 254 characters.", field="email")
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def developer_sign_up(*, email: str, password: str, name: str = "") -> Developer:
    """Create a developer account and its personal organization (owned by it)."""
    email = normalized_email(email)
    if Developer.objects.filter(email__iexact=email).exists():
        raise EmailTakenError("An account with this email already exists.")
    candidate = Developer(email=email, name=name.strip())
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise ValidationFailedError(" ".join(exc.messages), field="password", messages=list(exc.messages)) from exc
    try:
        with transaction.atomic():
            developer = Developer.objects.create_user(email=email, password=password, name=name.strip())
            audit_record(
                actor=developer, organization=None, action="developer.sign_up",
                target_type="developer", target_id=developer.pk, target_name=email,
            )  # fmt: skip
            personal_name = f"{name.strip() or email.split('@')[0]}'s organization"
            organization_create(actor=developer, name=personal_name)
    except IntegrityError as exc:  # a concurrent sign-up with the same email won the race
        raise EmailTakenError("An account with this email already exists.") from exc
    return developer


def access_token_create(
    *, developer: Developer, name: str, expires_in_days: int | None = None, not_after: datetime | None = None,
    read_only: bool = False, organization_id: int | None = None,
) -> tuple[PersonalAccessToken, str]:  # fmt: skip
    """Create a personal access token; the plain token is returned once and never stored.

    Every token expires: after ``expires_in_days`` (1 to HANGAR_ACCESS_TOKEN_MAX_DAYS), or
    HANGAR_ACCESS_TOKEN_DEFAULT_DAYS when not given. ``not_after`` is the expiry of the token
    that asks (if a token asks): a default lifetime is cut to it, a longer one is refused.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationFailedError("Give the token a name.", field="name")
    if len(name) > 100:
        raise ValidationFailedError("A token name is at most 100 characters.", field="name")
    expires_at = _access_token_expiry(expires_in_days, not_after)
    plain = ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        organization = None
        if organization_id is not None:  # only one of the developer's own organizations; others look absent
            organization = organization_get(developer=developer, organization_id=organization_id)
        token = PersonalAccessToken.objects.create(
            developer=developer, name=name, prefix=plain[:12], digest=token_digest(plain), expires_at=expires_at,
            read_only=read_only, organization=organization,
        )  # fmt: skip
        audit_record(
            actor=developer, organization=organization, action="access_token.create",
            target_type="access_token", target_id=token.pk, target_name=name,
            details={"read_only": read_only, "organization": organization_id},
        )  # fmt: skip
    return token, plain


def _access_token_expiry(expires_in_days: int | None, not_after: datetime | None) -> datetime:
    longest = settings.HANGAR_ACCESS_TOKEN_MAX_DAYS
    if expires_in_days is not None and not 1 <= expires_in_days <= longest:
        raise ValidationFailedError(f"Expiry must be between 1 and {longest} days.", field="expires_in_days")
    expires_at = timezone.now() + timedelta(days=expires_in_days or settings.HANGAR_ACCESS_TOKEN_DEFAULT_DAYS)
    if not_after is None or expires_at <= not_after:
        return expires_at
    if expires_in_days is None:
        return not_after
    raise ValidationFailedError(
        f"A token cannot outlive the token that creates it (it expires {not_after:%Y-%m-%d %H:%M} UTC).",
        field="expires_in_days",
    )


def access_token_revoke(*, developer: Developer, token_id: int) -> None:
    with transaction.atomic():
        token = PersonalAccessToken.objects.filter(developer=developer, pk=token_id).first()
        if token is None:
            raise NotFoundError("Token not found.")
        audit_record(
            actor=developer, organization=None, action="access_token.revoke",
            target_type="access_token", target_id=token.pk, target_name=token.name,
        )  # fmt: skip
        token.delete()
