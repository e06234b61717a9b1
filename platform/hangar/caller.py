"""Who is making a data-plane request, in the terms the data services need."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PlanLimits:
    """What the app's plan allows, read with the app at admission (hangar.admission); 0 is unlimited."""

    storage_quota_bytes: int = 0
    max_live_connections: int = 0
    monthly_function_invocations: int = 0  # cloud-code invocations per calendar month (hangar.analytics)


@dataclass(frozen=True)
class DeployedCode:
    """The app's active cloud-code version and what it registered, read with the app at admission.

    Lets the data path skip cloud code at no cost for classes without a trigger.
    """

    application_id: str
    version_id: int
    version_number: int
    functions: frozenset[str]
    triggers: frozenset[tuple[str, str]]  # (kind, className), e.g. ("beforeSave", "Post")
    jobs: frozenset[str]
    # Changes when the app's variables change: workers started with the old ones are not reused.
    variables_stamp: str = ""
    # The app's own deadlines (hangar.cloudcode.models.CloudLimits); None: the platform's defaults.
    function_timeout: float | None = None
    trigger_timeout: float | None = None
    # The app's plan's maximums (tenants.Plan.cloud_*_timeout_max_seconds); None: the platform's.
    function_timeout_max: float | None = None
    trigger_timeout_max: float | None = None

    def has_trigger(self, kind: str, class_name: str) -> bool:
        return (kind, class_name) in self.triggers

    @classmethod
    def from_handlers(
        cls,
        *,
        application_id: str,
        version_id: int,
        version_number: int,
        handlers: dict[str, Any],
        variables_stamp: str = "",
        timeouts: list[float | None] | None = None,
    ) -> DeployedCode:
        # [own function, own trigger, plan's function maximum, plan's trigger maximum], any of them None.
        function_timeout, trigger_timeout, function_max, trigger_max = [*(timeouts or []), None, None, None, None][:4]
        return cls(
            application_id=application_id, version_id=version_id, version_number=version_number,
            functions=frozenset(str(item["name"]) for item in handlers.get("functions", [])),
            triggers=frozenset((str(item["kind"]), str(item["className"])) for item in handlers.get("triggers", [])),
            jobs=frozenset(str(item["name"]) for item in handlers.get("jobs", [])), variables_stamp=variables_stamp,
            function_timeout=function_timeout, trigger_timeout=trigger_timeout,
            function_timeout_max=function_max, trigger_timeout_max=trigger_max,
        )  # fmt: skip


@dataclass(frozen=True, eq=False)
class CloudWebhooks:
    """The app's function and trigger webhooks (hangar.cloudcode.webhooks), read with the app at admission.

    Compared and hashed by identity: a Caller carrying it stays hashable.
    """

    application_id: str  # the webhook key is derived from it
    functions: dict[str, str]  # function name -> url
    triggers: dict[tuple[str, str], str]  # (triggerName, className) -> url

    def function_url(self, name: str) -> str | None:
        return self.functions.get(name)

    def trigger_url(self, kind: str, class_name: str) -> str | None:
        return self.triggers.get((kind, class_name))

    @classmethod
    def from_rows(cls, application_id: str, rows: list[list[str]]) -> CloudWebhooks:
        """Rows of (kind, functionName, className, triggerName, url) as admission loads them."""
        functions = {row[1]: row[4] for row in rows if row[0] == "function"}
        triggers = {(row[3], row[2]): row[4] for row in rows if row[0] == "trigger"}
        return cls(application_id=application_id, functions=functions, triggers=triggers)


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
    # The app's active cloud code; None when it has none (or outside an admitted request).
    cloud_code: DeployedCode | None = None
    # The app's webhooks; None when it has none (or outside an admitted request).
    webhooks: CloudWebhooks | None = None
    # Parse Server's allowClientClassCreation for this app (App.allow_client_class_creation):
    # whether a client (not only the master key) may create a class by saving to it.
    client_class_creation: bool = False

    @property
    def acl_principals(self) -> tuple[str, ...] | None:
        """None for the master key (no ACL applies), else the caller's groups."""
        return None if self.is_master else self.principals
