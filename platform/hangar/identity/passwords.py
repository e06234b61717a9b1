"""Password hashing, verification of hashes imported from Parse Server, and the password policy.

New hashes are argon2id at OWASP's baseline (m=19 MiB, t=2, p=1, which OWASP's Password
Storage Cheat Sheet rates equivalent to bcrypt cost 10, what Parse Server uses):
https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id
The parameters are settings (HANGAR_PASSWORD_ARGON2_*); a hash made with other
parameters, or a bcrypt hash imported from Parse Server (``$2a$``/``$2b$``/``$2y$``),
still verifies and is replaced on the user's next successful login.

Hashing costs tens of milliseconds of CPU by design, so it runs on a dedicated, bounded
pool of threads (argon2-cffi and bcrypt release the GIL) and never while the caller holds
a database transaction: a storm of logins must not pin pooled connections that other
apps need. Beyond ``HANGAR_PASSWORD_HASH_THREADS`` running and ``HANGAR_PASSWORD_HASH_QUEUE``
waiting, a request is answered at once with 429 rather than queued without bound.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

import bcrypt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from django.conf import settings

from hangar.datastore.connection import in_batch_transaction
from hangar.parse_errors import CONNECTION_FAILED, OPERATION_FORBIDDEN, VALIDATION_ERROR, ParseError

_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
T = TypeVar("T")


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    needs_rehash: bool = False


@cache
def _hasher_with(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID)


def _hasher() -> PasswordHasher:
    """The hasher of the deployment's current parameters (read each time: tests and operators change them)."""
    return _hasher_with(
        settings.HANGAR_PASSWORD_ARGON2_TIME_COST,
        settings.HANGAR_PASSWORD_ARGON2_MEMORY_KIB,
        settings.HANGAR_PASSWORD_ARGON2_PARALLELISM,
    )


@cache
def _absent_user_hash(time_cost: int, memory_kib: int, parallelism: int) -> str:
    return _hasher_with(time_cost, memory_kib, parallelism).hash(os.urandom(16).hex())


def _hash(password: str) -> str:
    return _hasher().hash(password)


def _verify(stored: str, password: str) -> PasswordCheck:
    if stored.startswith(_BCRYPT_PREFIXES):
        try:
            ok = bcrypt.checkpw(password.encode()[:72], stored.encode())
        except ValueError:
            return PasswordCheck(ok=False)
        return PasswordCheck(ok=ok, needs_rehash=ok)
    hasher = _hasher()
    try:
        hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return PasswordCheck(ok=False)
    return PasswordCheck(ok=True, needs_rehash=hasher.check_needs_rehash(stored))


def _verify_absent(password: str) -> PasswordCheck:
    """As long as a real verification, so timing does not tell an unknown user from a wrong password."""
    hasher = _hasher()
    stored = _absent_user_hash(hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    _verify(stored, password)
    return PasswordCheck(ok=False)


class _HashingPool:
    """A thread pool that refuses work beyond its threads plus a fixed number waiting."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._threads = 0
        self._pending = 0

    def _current_executor(self) -> ThreadPoolExecutor:
        threads = settings.HANGAR_PASSWORD_HASH_THREADS or os.cpu_count() or 1
        if self._executor is None or self._threads != threads:
            if self._executor is not None:
                self._executor.shutdown(wait=False)  # only when the setting changed (tests)
            self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="hangar-password")
            self._threads = threads
        return self._executor

    def _done(self, _: Future[Any]) -> None:
        # A done callback runs on completion and on cancellation alike, so a client that
        # hangs up mid-hash frees its place only when the thread is really free.
        with self._lock:
            self._pending -= 1

    async def run(self, work: Callable[..., T], *args: object) -> T:
        with self._lock:
            executor = self._current_executor()
            if self._pending >= self._threads + settings.HANGAR_PASSWORD_HASH_QUEUE:
                raise ParseError(
                    CONNECTION_FAILED, "Too many password checks in progress; try again shortly.",
                    status=429, headers={"retry-after": "1"},
                )  # fmt: skip
            self._pending += 1
        future = executor.submit(work, *args)
        future.add_done_callback(self._done)
        return await asyncio.wrap_future(future)


_pool = _HashingPool()


async def _off_loop(work: Callable[..., T], *args: object) -> T:
    if in_batch_transaction():
        # A transactional /batch holds its connection for every item; hashing there would pin it
        # for as long as the hashes take.
        raise ParseError(
            OPERATION_FORBIDDEN,
            "Passwords cannot be set or checked inside a transactional batch; send that request on its own.",
        )
    return await _pool.run(work, *args)


async def password_hash(password: str) -> str:
    """A new hash of ``password``; the caller must not hold a transaction."""
    return await _off_loop(_hash, password)


async def password_verify(stored: str | None, password: str) -> PasswordCheck:
    """Check a password; an absent hash costs as much as a present one. The caller must not hold a transaction."""
    if not stored:
        return await _off_loop(_verify_absent, password)
    return await _off_loop(_verify, stored, password)


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
