"""Who is making a data-plane request, in the terms the data services need."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlanLimits:
    """What the app's plan allows, read with the app at admission (hangar.admission); 0 is unlimited."""

    storage_quota_bytes: int = 0
    max_live_connections: int = 0


@dataclass(frozen=True)
class Caller:
    """The app, and whether the caller is master or which ACL principals it holds."""

    app_pk: int
    is_master: bool
    user_id: str | None = None
    principals: tuple[str, ...] = ("*",)
    installation_id: str | None = None
    # The client's address, for per-IP limits of services that cannot see the request (sign-up).
    client_ip: str | None = None
    schema_version: bytes | None = None
    # Classes whose changes someone is listening to (hangar.datastore.change_feed); None
    # when not known, e.g. outside a request: then every change is published.
    live_classes: frozenset[str] | None = None
    # The plan's limits; None outside an admitted request (a task, a command).
    plan: PlanLimits | None = None

    @property
    def acl_principals(self) -> tuple[str, ...] | None:
        """None for the master key (no ACL applies), else the caller's groups."""
        return None if self.is_master else self.principals
