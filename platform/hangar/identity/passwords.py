"""Password hashing, verification of hashes imported from Parse Server, and the password policy.

New hashes are argon2id (argon2-cffi's RFC 9106 "low memory" profile: t=3, m=64 MiB,
p=4). Parse Server stores bcrypt (``$2a$``/``$2b$``/``$2y$``, cost 10); such a hash
verifies here and is replaced by an argon2id hash on the next successful login.
Hashing runs in a worker thread: it takes tens of milliseconds of CPU by design.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from hangar.parse_errors import ParseError

VALIDATION_ERROR = 142
_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
_hasher = PasswordHasher()  # argon2id, time_cost=3, memory_cost=65536 KiB, parallelism=4


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    needs_rehash: bool = False


def _hash(password: str) -> str:
    return _hasher.hash(password)


def _verify(stored: str, password: str) -> PasswordCheck:
    if stored.startswith(_BCRYPT_PREFIXES):
        try:
            ok = bcrypt.checkpw(password.encode()[:72], stored.encode())
        except ValueError:
            return PasswordCheck(ok=False)
        return PasswordCheck(ok=ok, needs_rehash=ok)
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return PasswordCheck(ok=False)
    return PasswordCheck(ok=True, needs_rehash=_hasher.check_needs_rehash(stored))


async def password_hash(password: str) -> str:
    return await asyncio.to_thread(_hash, password)


async def password_verify(stored: str | None, password: str) -> PasswordCheck:
    """Check a password; an absent hash still costs one hash so timing does not reveal it."""
    if not stored:
        await asyncio.to_thread(_hash, password)
        return PasswordCheck(ok=False)
    return await asyncio.to_thread(_verify, stored, password)


async def password_in_history(hashes: list[str], password: str) -> bool:
    for stored in hashes:
        if (await password_verify(stored, password)).ok:
            return True
    return False


def password_policy_check(
    *, password: str, username: str | None, min_length: int, pattern: str, disallow_username: bool
) -> None:
    """Parse Server's passwordPolicy messages (reference §17, code 142)."""
    if len(password) < min_length or (pattern and not re.search(pattern, password)):
        raise ParseError(VALIDATION_ERROR, "Password does not meet the Password Policy requirements.")
    if disallow_username and username and username in password:
        raise ParseError(VALIDATION_ERROR, "Password cannot contain your username.")
