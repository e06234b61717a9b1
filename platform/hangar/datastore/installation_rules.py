"""``_Installation`` writes: one installation per installationId, changed by clients only through it.

Follows Parse Server's RestWrite installation handling: a create names its installation
with an ``installationId`` (the body's, else the request's ``X-Parse-Installation-Id``), and
a create whose installationId already exists updates that installation instead of adding
another. A client (no master key) may change only the installation whose installationId it
presents; it can neither list nor delete installations (hangar.datastore.permissions).
Knowing an installationId is what makes an installation one's own: only the device that
generated it, and the master key, ever see it.
"""

from __future__ import annotations

from typing import Any

from hangar.caller import Caller
from hangar.datastore.class_rules import ClassRules, register_class_rules
from hangar.datastore.connection import app_statement
from hangar.datastore.partitions import object_partition
from hangar.parse_errors import MISSING_REQUIRED_FIELD, OPERATION_FORBIDDEN, ParseError

INSTALLATION = "_Installation"


def _claimed_id(caller: Caller, body: dict[str, Any]) -> str | None:
    """The installationId the request speaks for: the body's, else the request header's."""
    given = body.get("installationId")
    if isinstance(given, str) and given:
        return given
    return caller.installation_id or None


async def installation_before_create(*, caller: Caller, body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The body to store, and the objectId of the installation it names if that exists (then it is an update)."""
    installation_id = _claimed_id(caller, body)
    if installation_id is None:
        if not caller.is_master:
            raise ParseError(MISSING_REQUIRED_FIELD, "installationId must be specified in this operation")
        if not body.get("deviceToken"):
            raise ParseError(
                MISSING_REQUIRED_FIELD,
                "at least one ID field (deviceToken, installationId) must be specified in this operation",
            )
        return body, None
    if "installationId" not in body:
        body = {**body, "installationId": installation_id}
    elif body["installationId"] != installation_id:
        return body, None  # not a string: the schema check answers 111
    async with app_statement(caller.app_pk) as conn:
        row = await conn.fetch_one(
            f"SELECT object_id FROM {object_partition(caller.app_pk)} "
            "WHERE app_id = %s AND class_name = %s AND data->>'installationId' = %s ORDER BY created_at LIMIT 1",
            [caller.app_pk, INSTALLATION, installation_id],
        )
    return body, (row[0] if row else None)


def installation_update_condition(caller: Caller, body: dict[str, Any], params: list[Any]) -> str:
    """`` AND ...`` keeping a client's update to the installation whose installationId it presents."""
    if caller.is_master:
        return ""
    installation_id = _claimed_id(caller, body)
    if installation_id is None or ("installationId" in body and body["installationId"] != installation_id):
        return " AND FALSE"  # no installationId, or a non-string one: nothing is the caller's
    params.append(installation_id)
    return " AND data->>'installationId' = %s"


# Client operations rest.js ``enforceRoleSecurity`` refuses on installations (a count is a find).
_MASTER_ONLY = {"find": "find", "count": "find", "delete": "delete"}


class InstallationRules(ClassRules):
    def client_access_check(self, *, operation: str, caller: Caller) -> None:
        if operation in _MASTER_ONLY:
            raise ParseError(
                OPERATION_FORBIDDEN,
                f"Clients aren't allowed to perform the {_MASTER_ONLY[operation]} operation "
                "on the installation collection.",
            )

    async def resolve_create(self, *, caller: Caller, body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        return await installation_before_create(caller=caller, body=body)

    def client_update_condition(self, *, caller: Caller, body: dict[str, Any], params: list[Any]) -> str:
        return installation_update_condition(caller, body, params)


def register() -> None:
    # The datastore holds these until messaging, which owns installations, takes them over.
    register_class_rules(INSTALLATION, InstallationRules())
