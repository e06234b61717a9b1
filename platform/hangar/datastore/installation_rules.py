"""``_Installation`` writes: one installation per device, changed by clients only through their installationId.

Follows Parse Server's RestWrite ``handleInstallation`` (protocol reference §10.8):

- a create names its installation with an ``installationId`` (the body's, else the request's
  ``X-Parse-Installation-Id``) or, for the master key, a ``deviceToken``; neither is 135;
- installationIds are lower-cased, and so is a 64-character (APNs) deviceToken;
- a create whose installationId (or, for the master key, deviceToken) already exists
  updates that installation instead of adding another; a new one needs ``deviceType`` (135);
- a device token belongs to one installation: other installations holding it are deleted
  once the write has succeeded (a reinstalled app gets a new installationId but keeps its
  token; a refused write deletes nothing), and a master create
  naming only a token that several installations hold is 132;
- ``installationId`` and ``deviceType`` never change, nor ``deviceToken`` on an installation
  without an installationId (136).

Where Hangar is stricter than Parse Server, it is for clients: a client (no master key)
must present an installationId, changes only the installation carrying it, never takes
over another row by naming its token, and can neither list nor delete installations
(hangar.datastore.permissions). Knowing an installationId is what makes an installation
one's own: only the device that generated it, and the master key, ever see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hangar.caller import Caller
from hangar.datastore.class_rules import ClassRules, PreparedWrite, register_class_rules
from hangar.datastore.connection import app_statement
from hangar.datastore.partitions import object_partition
from hangar.parse_errors import (
    CHANGED_IMMUTABLE_FIELD,
    DEVICE_TOKEN_AMBIGUOUS,
    MISSING_REQUIRED_FIELD,
    OPERATION_FORBIDDEN,
    ParseError,
)

INSTALLATION = "_Installation"
APNS_TOKEN_LENGTH = 64  # Parse Server lower-cases tokens of this length (hex APNs tokens)
_STORED_FIELDS = "data->>'installationId', data->>'deviceToken', data->>'deviceType', data->>'appIdentifier'"
# A token or installationId shared by more rows than this is not a device: refuse rather than scan.
_MATCH_LIMIT = 100


@dataclass(frozen=True)
class _Stored:
    object_id: str
    installation_id: str | None
    device_token: str | None
    device_type: str | None
    app_identifier: str | None


@dataclass
class InstallationWrite(PreparedWrite):
    """An installation's write, and the installations holding its token that go once it is written."""

    stale: list[str] = field(default_factory=list)


def normalized(body: dict[str, Any]) -> dict[str, Any]:
    """The body with its installationId and an APNs deviceToken lower-cased, as Parse Server stores them."""
    body = dict(body)
    if isinstance(body.get("installationId"), str):
        body["installationId"] = body["installationId"].lower()
    token = body.get("deviceToken")
    if isinstance(token, str) and len(token) == APNS_TOKEN_LENGTH:
        body["deviceToken"] = token.lower()
    return body


def _claimed_id(caller: Caller, body: dict[str, Any]) -> str | None:
    """The installationId the request speaks for: the body's, else the request header's.

    A client whose header names one installation and whose body names another speaks for
    neither (None): the header is the device's own id, a body cannot borrow someone else's.
    """
    given = body.get("installationId")
    header = caller.installation_id.lower() if caller.installation_id else None
    if isinstance(given, str) and given:
        if header and not caller.is_master and given.lower() != header:
            return None
        return given.lower()
    return header


def _borrowed_id(caller: Caller, body: dict[str, Any]) -> bool:
    given = body.get("installationId")
    return isinstance(given, str) and bool(given) and _claimed_id(caller, body) is None


def _immutable(field: str) -> ParseError:
    return ParseError(CHANGED_IMMUTABLE_FIELD, f"{field} may not be changed in this operation")


async def _matching(app_pk: int, *, installation_id: str | None, device_token: str | None) -> list[_Stored]:
    """Installations holding this installationId or this deviceToken (one indexed query each, OR-ed)."""
    conditions, params = [], []
    if installation_id:
        conditions.append("data->>'installationId' = %s")
        params.append(installation_id)
    if device_token:
        conditions.append("data->>'deviceToken' = %s")
        params.append(device_token)
    if not conditions:
        return []
    async with app_statement(app_pk) as conn:
        rows = await conn.fetch_all(
            f"SELECT object_id, {_STORED_FIELDS} "
            f"FROM {object_partition(app_pk)} WHERE app_id = %s AND class_name = %s AND ({' OR '.join(conditions)}) "
            f"ORDER BY created_at LIMIT {_MATCH_LIMIT}",
            [app_pk, INSTALLATION, *params],
        )
    return [_Stored(*row) for row in rows]


async def _stored(app_pk: int, object_id: str) -> _Stored | None:
    async with app_statement(app_pk) as conn:
        row = await conn.fetch_one(
            f"SELECT object_id, {_STORED_FIELDS} "
            f"FROM {object_partition(app_pk)} WHERE app_id = %s AND class_name = %s AND object_id = %s",
            [app_pk, INSTALLATION, object_id],
        )
    return _Stored(*row) if row else None


async def _delete(app_pk: int, object_ids: list[str]) -> None:
    """Drop stale installations (a token now held by another one): Parse Server's destroy, no triggers."""
    if not object_ids:
        return
    async with app_statement(app_pk) as conn:
        await conn.run(
            f"DELETE FROM {object_partition(app_pk)} WHERE app_id = %s AND class_name = %s AND object_id = ANY(%s)",
            [app_pk, INSTALLATION, object_ids],
        )


def _check_device_type(body: dict[str, Any], stored: _Stored) -> None:
    if "deviceType" in body and body["deviceType"] != stored.device_type and stored.device_type is not None:
        raise _immutable("deviceType")


async def installation_resolve_create(*, caller: Caller, body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The body to store, and the objectId of the installation it names if that exists (then it is an update)."""
    body = normalized(body)
    if _borrowed_id(caller, body):
        raise _immutable("installationId")
    installation_id = _claimed_id(caller, body)
    token = body.get("deviceToken") if isinstance(body.get("deviceToken"), str) else None
    if installation_id is None:
        if not caller.is_master:
            raise ParseError(MISSING_REQUIRED_FIELD, "installationId must be specified in this operation")
        if not token:
            raise ParseError(
                MISSING_REQUIRED_FIELD,
                "at least one ID field (deviceToken, installationId) must be specified in this operation",
            )
    elif "installationId" not in body:
        body = {**body, "installationId": installation_id}
    elif body["installationId"] != installation_id:
        return body, None  # not a string: the schema check answers 111
    found = await _matching(caller.app_pk, installation_id=installation_id, device_token=token)
    by_id = next((row for row in found if installation_id and row.installation_id == installation_id), None)
    token_matches = [row for row in found if token and row.device_token == token and row is not by_id]
    if by_id is None and not body.get("deviceType"):
        raise ParseError(MISSING_REQUIRED_FIELD, "deviceType must be specified in this operation")
    if by_id is not None:
        _check_device_type(body, by_id)
        return body, by_id.object_id
    if installation_id is None:  # the master key naming a device by its token alone
        if len(token_matches) > 1:
            raise ParseError(
                DEVICE_TOKEN_AMBIGUOUS,
                "Must specify installationId when deviceToken matches multiple Installation objects",
            )
        if token_matches:
            _check_device_type(body, token_matches[0])
            return body, token_matches[0].object_id
        return body, None
    if caller.is_master and len(token_matches) == 1 and token_matches[0].installation_id is None:
        # An installation registered by token alone now learns its installationId (Parse's merge).
        _check_device_type(body, token_matches[0])
        return body, token_matches[0].object_id
    # A new installation; if its token moved here, the old holders go once it is written.
    return body, None


async def installation_before_update(*, caller: Caller, object_id: str, body: dict[str, Any]) -> InstallationWrite:
    """Lower-case ids and refuse changes to immutable fields (136); the write names the stale holders of its token."""
    body = normalized(body)
    stored = await _stored(caller.app_pk, object_id)
    if stored is None:
        return InstallationWrite(body=body)  # the update answers 101
    if not caller.is_master and (stored.installation_id is None or stored.installation_id != _claimed_id(caller, body)):
        return InstallationWrite(body=body)  # not the caller's: the update answers 101 without saying more
    if (
        "installationId" in body
        and stored.installation_id is not None
        and body["installationId"] != stored.installation_id
    ):
        raise _immutable("installationId")
    _check_device_type(body, stored)
    if "deviceToken" in body and body["deviceToken"] != stored.device_token:
        if stored.installation_id is None and stored.device_token is not None and "installationId" not in body:
            raise _immutable("deviceToken")
    return InstallationWrite(body=body, stale=await _stale_holders(caller.app_pk, object_id, body))


async def _stale_holders(app_pk: int, object_id: str, body: dict[str, Any]) -> list[str]:
    """Other installations holding the token this write gives ``object_id`` (of the same appIdentifier, if named)."""
    token = body.get("deviceToken")
    if not isinstance(token, str) or not token:
        return []
    app_identifier = body.get("appIdentifier")
    holders = await _matching(app_pk, installation_id=None, device_token=token)
    return [
        row.object_id
        for row in holders
        if row.object_id != object_id and (not isinstance(app_identifier, str) or row.app_identifier == app_identifier)
    ]


async def _delete_stale(caller: Caller, write: PreparedWrite) -> None:
    # After the write succeeded: a refused write never costs another installation its row.
    if isinstance(write, InstallationWrite):
        await _delete(caller.app_pk, write.stale)


def installation_update_condition(caller: Caller, body: dict[str, Any], params: list[Any]) -> str:
    """`` AND ...`` keeping a client's update to the installation whose installationId it presents."""
    if caller.is_master:
        return ""
    installation_id = _claimed_id(caller, body)
    if installation_id is None or ("installationId" in body and not isinstance(body["installationId"], str)):
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
        return await installation_resolve_create(caller=caller, body=body)

    async def before_create(self, *, caller: Caller, body: dict[str, Any], object_id: str) -> PreparedWrite | None:
        return InstallationWrite(body=body, stale=await _stale_holders(caller.app_pk, object_id, body))

    async def before_update(self, *, caller: Caller, object_id: str, body: dict[str, Any]) -> PreparedWrite | None:
        return await installation_before_update(caller=caller, object_id=object_id, body=body)

    async def after_create(self, *, caller: Caller, object_id: str, write: PreparedWrite) -> dict[str, Any]:
        await _delete_stale(caller, write)
        return {}

    async def after_update(self, *, caller: Caller, object_id: str, write: PreparedWrite) -> dict[str, Any]:
        await _delete_stale(caller, write)
        return {}

    def client_update_condition(self, *, caller: Caller, body: dict[str, Any], params: list[Any]) -> str:
        return installation_update_condition(caller, body, params)


def register() -> None:
    # The datastore holds these until messaging, which owns installations, takes them over.
    register_class_rules(INSTALLATION, InstallationRules())
