"""Developer sign-in with a password, guarded against guessing (dashboard, admin, token exchange).

Wrong passwords are counted per email and per client address in the shared cache (Redis).
At HANGAR_DEVELOPER_LOCKOUT_THRESHOLD failures for an email, or
HANGAR_DEVELOPER_LOCKOUT_ADDRESS_THRESHOLD from an address, every attempt from it or for it
is refused for HANGAR_DEVELOPER_LOCKOUT_MINUTES, even with the right password, the way
Parse Server's ``accountLockout`` treats end users (hangar.identity.lockout). The counters
are keyed by the email as typed, never by the account, so an unknown email locks exactly
like a real one and the lockout is no oracle of which accounts exist.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.http import HttpRequest

from hangar.client_address import rate_limit_key
from tenants.errors import InvalidCredentialsError, SignInLockedError
from tenants.models import Developer


def _email_key(email: str) -> str:
    # Upper-cased like PostgreSQL's iexact, the lookup that signs in (DeveloperManager): every
    # spelling that reaches one account (a long s, U+017F, is an "S" there) counts against one budget.
    return "signin:email:" + hashlib.sha256(email.strip().upper().encode()).hexdigest()


def _guarded_keys(email: str, address: str | None) -> list[tuple[str, int]]:
    """The (cache key, failure threshold) pairs this attempt counts against; a threshold of 0 is off."""
    keys = [(_email_key(email), settings.HANGAR_DEVELOPER_LOCKOUT_THRESHOLD)]
    if address:
        keys.append(("signin:address:" + rate_limit_key(address), settings.HANGAR_DEVELOPER_LOCKOUT_ADDRESS_THRESHOLD))
    return [(key, threshold) for key, threshold in keys if threshold > 0]


def _count_attempt(key: str) -> int:
    """Count an attempt before its password is checked, atomically (Redis INCR), and return the count."""
    window = settings.HANGAR_DEVELOPER_LOCKOUT_MINUTES * 60
    cache.add(f"{key}:failures", 0, timeout=window)  # the window starts at the first failure
    try:
        return int(cache.incr(f"{key}:failures"))
    except ValueError:  # the counter expired between add and incr
        cache.set(f"{key}:failures", 1, timeout=window)
        return 1


def _lock(key: str) -> None:
    # The counter is left to expire on its own (no later than the lock: its window started
    # earlier): removed here, attempts already past the lock check would start it again at 1.
    cache.set(f"{key}:locked", 1, timeout=settings.HANGAR_DEVELOPER_LOCKOUT_MINUTES * 60)


def _uncount(key: str) -> None:
    try:
        cache.decr(f"{key}:failures")
    except ValueError:  # the window ended meanwhile
        pass


def developer_authenticate(*, request: HttpRequest | None, email: str, password: str, address: str | None) -> Developer:
    """The developer these credentials belong to; InvalidCredentialsError, or SignInLockedError while locked."""
    keys = _guarded_keys(email, address)
    if any(cache.get_many([f"{key}:locked" for key, _ in keys]).values()):
        raise SignInLockedError(settings.HANGAR_DEVELOPER_LOCKOUT_MINUTES)
    # Counted as a failure up front, so that a burst of parallel guesses cannot all be checked
    # before the first of them is recorded: beyond the threshold, none is.
    counts = [_count_attempt(key) for key, _ in keys]
    if any(count > threshold for count, (_, threshold) in zip(counts, keys, strict=True)):
        raise SignInLockedError(settings.HANGAR_DEVELOPER_LOCKOUT_MINUTES)
    developer = authenticate(request, username=email, password=password)
    if not isinstance(developer, Developer):
        for count, (key, threshold) in zip(counts, keys, strict=True):
            if count >= threshold:
                _lock(key)
        raise InvalidCredentialsError()
    # The email's count starts over; the address's only takes this attempt back, or an attacker
    # could reset it by signing in to an account of their own between guesses.
    email_key = _email_key(email)
    cache.delete(f"{email_key}:failures")
    for key, _ in keys:
        if key != email_key:
            _uncount(key)
    return developer
