"""The schema every new app starts with: Parse's system classes.

Field lists follow Parse Server's defaults (the protocol reference's schema section);
every class also has objectId, createdAt, updatedAt and ACL.
"""

from __future__ import annotations

from typing import Any

DEFAULT_FIELDS: dict[str, dict[str, Any]] = {
    "objectId": {"type": "String"},
    "createdAt": {"type": "Date"},
    "updatedAt": {"type": "Date"},
    "ACL": {"type": "ACL"},
}

SYSTEM_CLASS_FIELDS: dict[str, dict[str, dict[str, Any]]] = {
    "_User": {
        "username": {"type": "String"},
        "password": {"type": "String"},
        "email": {"type": "String"},
        "emailVerified": {"type": "Boolean"},
        "authData": {"type": "Object"},
    },
    "_Role": {
        "name": {"type": "String"},
        "users": {"type": "Relation", "targetClass": "_User"},
        "roles": {"type": "Relation", "targetClass": "_Role"},
    },
    "_Session": {
        "user": {"type": "Pointer", "targetClass": "_User"},
        "installationId": {"type": "String"},
        "sessionToken": {"type": "String"},
        "expiresAt": {"type": "Date"},
        "createdWith": {"type": "Object"},
    },
    "_Installation": {
        "installationId": {"type": "String"},
        "deviceToken": {"type": "String"},
        "channels": {"type": "Array"},
        "deviceType": {"type": "String"},
        "pushType": {"type": "String"},
        "GCMSenderId": {"type": "String"},
        "timeZone": {"type": "String"},
        "localeIdentifier": {"type": "String"},
        "badge": {"type": "Number"},
        "appVersion": {"type": "String"},
        "appName": {"type": "String"},
        "appIdentifier": {"type": "String"},
        "parseVersion": {"type": "String"},
    },
    # Cloud-code jobs (docs/cloudcode.md, Jobs): one row per run, and the schedules.
    "_JobStatus": {
        "jobName": {"type": "String"},
        "source": {"type": "String"},
        "status": {"type": "String"},
        "message": {"type": "String"},
        "params": {"type": "Object"},
        "finishedAt": {"type": "Date"},
    },
    "_JobSchedule": {
        "jobName": {"type": "String"},
        "description": {"type": "String"},
        "params": {"type": "String"},
        "startAfter": {"type": "String"},
        "daysOfWeek": {"type": "Array"},
        "timeOfDay": {"type": "String"},
        "lastRun": {"type": "Number"},
        "repeatMinutes": {"type": "Number"},
        "cron": {"type": "String"},
    },
    # Push (docs/messaging.md): saved audiences, and one status row per campaign (Parse Server's fields).
    "_Audience": {
        "name": {"type": "String"},
        "query": {"type": "String"},  # the installation query as a JSON string, as Parse stores it
        "lastUsed": {"type": "Date"},
        "timesUsed": {"type": "Number"},
    },
    "_PushStatus": {
        "pushTime": {"type": "String"},
        "source": {"type": "String"},
        "query": {"type": "String"},
        "payload": {"type": "String"},
        "title": {"type": "String"},
        "expiry": {"type": "Number"},
        "expiration_interval": {"type": "Number"},
        "status": {"type": "String"},
        "numSent": {"type": "Number"},
        "numFailed": {"type": "Number"},
        "pushHash": {"type": "String"},
        "errorMessage": {"type": "Object"},
        "sentPerType": {"type": "Object"},
        "failedPerType": {"type": "Object"},
        "sentPerUTCOffset": {"type": "Object"},
        "failedPerUTCOffset": {"type": "Object"},
        "count": {"type": "Number"},
    },
}


def default_class_level_permissions() -> dict[str, Any]:
    """Parse's default CLP for an app's own class: everyone may do everything, nothing protected."""
    public = {"*": True}
    return {
        "find": dict(public),
        "count": dict(public),
        "get": dict(public),
        "create": dict(public),
        "update": dict(public),
        "delete": dict(public),
        "addField": dict(public),
        "protectedFields": {"*": []},
    }


# Operations only the master key may run on a system class, whatever its CLP says
# (hangar.datastore.permissions enforces them too). The CLP shows them as master-only so
# that /schemas and the dashboard say what actually happens.
_MASTER_ONLY_OPERATIONS: dict[str, tuple[str, ...]] = {
    "_User": ("addField",),
    "_Role": ("addField",),
    # Clients create sessions by logging in (POST /sessions, /login), never through /classes.
    "_Session": ("create", "addField"),
    # Parse Server's rest.js enforceRoleSecurity: clients never list, count or delete installations.
    "_Installation": ("find", "count", "delete", "addField"),
    # Parse Server's SharedRest.js classesWithMasterOnlyAccess: nothing for clients at all.
    "_JobStatus": ("find", "count", "get", "create", "update", "delete", "addField"),
    "_JobSchedule": ("find", "count", "get", "create", "update", "delete", "addField"),
    "_Audience": ("find", "count", "get", "create", "update", "delete", "addField"),
    "_PushStatus": ("find", "count", "get", "create", "update", "delete", "addField"),
}


def system_class_permissions(class_name: str) -> dict[str, Any]:
    """The CLP a system class starts with: public, except what only the master key may do there."""
    clp = default_class_level_permissions()
    for operation in _MASTER_ONLY_OPERATIONS[class_name]:
        clp[operation] = {}
    return clp


def system_class_schema(class_name: str) -> dict[str, dict[str, Any]]:
    return {**DEFAULT_FIELDS, **SYSTEM_CLASS_FIELDS[class_name]}
