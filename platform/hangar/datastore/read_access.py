"""A caller's read rules for every class of its app, as the query compiler applies them (reference §15).

A query reads other classes besides its own: the inner class of ``$inQuery``,
``$notInQuery``, ``$select`` and ``$dontSelect``, the owner of ``$relatedTo``. Each of
them obeys exactly what a direct read of that class would: the CLP operation, the
pointer permissions (``pointerFields``/``readUserFields``) that restrict its rows, the
ACL, and the fields hidden from the caller, which no query may constrain, sort or
select on. Everything here is computed from the caller and the cached schemas: no I/O.
"""

from __future__ import annotations

from hangar.caller import Caller
from hangar.datastore.acl_sql import acl_read_condition
from hangar.datastore.permissions import clp_check, pointer_permission_condition, protected_fields_for
from hangar.datastore.query.context import QueryContext, Sql
from hangar.datastore.schema_registry import AppSchemas

# Stored in ``data`` but never shown to other users, nor queryable by any client, whoever owns
# them: authData ids are login credentials (a prefix search on authData.anonymous.id is an
# account takeover). Underscored internal fields (password hashes, token hashes, lockout and
# email-flow fields) are refused earlier, by the field-name rule (query/fields.py).
HIDDEN_FROM_QUERIES = {"_User": frozenset({"authData"})}


class CallerReadAccess:
    """``ReadAccess`` (query/context.py) for one non-master caller and its app's schemas."""

    def __init__(self, caller: Caller, schemas: AppSchemas) -> None:
        self._caller = caller
        self._schemas = schemas
        self._unqueryable: dict[str, frozenset[str]] = {}

    def readable_rows(self, class_name: str, operation: str) -> Sql:
        principals = self._caller.acl_principals or ("*",)
        acl_text, acl_params = acl_read_condition(principals)
        schema = self._schemas.classes.get(class_name)
        if schema is None:
            return Sql(acl_text, tuple(acl_params))  # a class that does not exist has no rows
        pointer_fields = clp_check(schema, operation, self._caller)
        if not pointer_fields:
            return Sql(acl_text, tuple(acl_params))
        pointer_text, pointer_params = pointer_permission_condition(pointer_fields, self._caller, schema)
        return Sql(f"{acl_text} AND {pointer_text}", (*acl_params, *pointer_params))

    def unqueryable_fields(self, class_name: str) -> frozenset[str]:
        known = self._unqueryable.get(class_name)
        if known is None:
            schema = self._schemas.classes.get(class_name)
            protected = protected_fields_for(schema, self._caller) if schema is not None else set()
            known = frozenset(protected) | HIDDEN_FROM_QUERIES.get(class_name, frozenset())
            self._unqueryable[class_name] = known
        return known


def query_context_for(caller: Caller, schemas: AppSchemas) -> QueryContext:
    """The compiler's context for a query by ``caller``: the master key reads everything."""
    access = None if caller.is_master else CallerReadAccess(caller, schemas)
    return QueryContext(
        app_pk=caller.app_pk, schemas=schemas.as_mapping(), principals=caller.acl_principals, access=access
    )
