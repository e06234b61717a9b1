"""A subscription: its query, and what its subscriber may see, decided once when it subscribes.

A subscribe is checked as a ``find`` by the same caller would be (reference §16.4, §15):
the class's CLP ``find`` (``get`` for a query of one objectId) with the class's fixed
client rules (``_Session`` needs a user and shows only the user's own; ``_Installation``
is master-only), the ``where`` compiled by the SQL query compiler with the caller's read
rules (so a constraint on a protected or hidden field is refused exactly as on the REST
path), then the in-memory matcher. What the subscriber may see of each event is kept with
the subscription: its ACL principals, the pointer-permission fields restricting its rows,
the protected fields hidden from it, and the owner-only fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from hangar.caller import Caller
from hangar.datastore.class_rules import class_rules
from hangar.datastore.include import include_tree
from hangar.datastore.names import validate_class_name
from hangar.datastore.permissions import clp_check, protected_fields_for
from hangar.datastore.query import compile_query
from hangar.datastore.read_access import query_context_for
from hangar.datastore.schema_registry import app_schemas
from hangar.parse_errors import OPERATION_FORBIDDEN, ParseError
from hangar.realtime.matching import compile_matcher
from hangar.realtime.protocol import Query

if TYPE_CHECKING:
    from collections.abc import Callable

    from hangar.realtime.connection import Connection


@dataclass(eq=False)
class Subscription:
    connection: Connection
    request_id: int
    caller: Caller
    session_token: str | None  # the token this subscription acts with (its own, else the connection's)
    query: Query
    query_key: bytes  # the class and canonical where: subscriptions with the same one match once per event
    matches: Callable[[dict[str, Any]], bool]
    pointer_fields: tuple[str, ...]  # rows restricted to those pointing at the subscriber (CLP, _Session)
    hidden: frozenset[str]  # protected fields (and owner-only ones, unless the object is the subscriber)
    owner_only: frozenset[str]
    include: tuple[str, ...] = ()  # the query's include, and the pointers its dotted keys reach into
    view_key: tuple[Any, ...] = field(default=())  # subscriptions with equal keys see an event identically
    # Everything besides the query that decides what an event sends it (access, view, watch), encoded:
    # subscriptions of one query with equal keys get the same event and object (a bytes key hashes once).
    delivery_key: bytes = b""
    heads: dict[str, bytes] = field(default_factory=dict)  # event op -> its frame's opening (protocol.event_head)

    @property
    def app_pk(self) -> int:
        return self.caller.app_pk

    @property
    def class_name(self) -> str:
        return self.query.class_name

    @property
    def principals(self) -> tuple[str, ...] | None:
        """None for the master key (sees every object), else the subscriber's ACL principals."""
        return self.caller.acl_principals


def _is_get(where: dict[str, Any]) -> bool:
    return len(where) == 1 and isinstance(where.get("objectId"), str)


@dataclass(frozen=True)
class Access:
    """What a caller may see of a subscription's class (see Subscription)."""

    pointer_fields: tuple[str, ...]
    hidden: frozenset[str]
    owner_only: frozenset[str]
    include: tuple[str, ...]


async def subscription_access(caller: Caller, query: Query, allowed_classes: frozenset[str] | None) -> Access:
    """Check a subscribe as a find by ``caller``; raises ParseError (the code the REST find would answer)."""
    class_name = query.class_name
    validate_class_name(class_name)
    if allowed_classes is not None and class_name not in allowed_classes:
        raise ParseError(OPERATION_FORBIDDEN, f"LiveQuery is not enabled for class {class_name} in this app.")
    schemas = await app_schemas(caller.app_pk, caller.schema_version)
    schema = schemas.classes.get(class_name)
    pointer_fields: list[str] = []
    if schema is None:
        if not caller.is_master:
            raise ParseError(
                OPERATION_FORBIDDEN, f"This user is not allowed to access non-existent class: {class_name}"
            )
    else:
        pointer_fields = clp_check(schema, "get" if _is_get(query.where) else "find", caller)
    # The REST path's own checks of the where: operators, field names, hidden and protected fields.
    compile_query(class_name=class_name, where=query.where, order=None, context=query_context_for(caller, schemas))
    # As on the REST path, a dotted key (``owner.name``) includes the pointer it reaches into: the
    # JS SDK sends no ``include`` in a subscribe, but it does send ``select("owner.name")``.
    dotted = (key.rsplit(".", 1)[0] for key in query.keys or () if "." in key)
    include = tuple(dict.fromkeys([*query.include, *dotted]))
    if include:
        include_tree(list(include))  # refuses more paths than a query may include
    return Access(
        pointer_fields=tuple(pointer_fields),
        hidden=frozenset(protected_fields_for(schema, caller)) if schema is not None else frozenset(),
        owner_only=frozenset() if caller.is_master else class_rules(class_name).owner_only_fields,
        include=include,
    )


def _kept(encoded: bytes) -> bytes:
    """A copy of orjson's output at its own size, for bytes kept as long as the subscription.

    orjson's result holds on to its whole output buffer (about 4 KiB, measured with
    tracemalloc on orjson 3.13) however short the JSON: two such keys were 8 KB of every
    subscribed connection.
    """
    return bytes(memoryview(encoded))


def subscription_apply(subscription: Subscription, caller: Caller, access: Access) -> None:
    """Give the subscription this caller and what it may see."""
    subscription.caller = caller
    subscription.pointer_fields = access.pointer_fields
    subscription.hidden = access.hidden
    subscription.owner_only = access.owner_only
    subscription.include = access.include
    subscription.view_key = (
        caller.is_master, caller.user_id, caller.principals, access.hidden, access.owner_only,
        subscription.query.keys, access.include,
    )  # fmt: skip
    subscription.delivery_key = _kept(orjson.dumps([
        caller.is_master, caller.user_id, caller.principals, sorted(access.hidden), sorted(access.owner_only),
        subscription.query.keys, access.include, access.pointer_fields, subscription.query.watch,
    ]))  # fmt: skip


async def subscription_build(
    connection: Connection, *, request_id: int, caller: Caller, session_token: str | None, query: Query,
    allowed_classes: frozenset[str] | None,
) -> Subscription:  # fmt: skip
    """A subscription of ``query`` by ``caller``, once checked (``subscription_access``)."""
    access = await subscription_access(caller, query, allowed_classes)
    matches = compile_matcher(query.where)
    subscription = Subscription(
        connection=connection, request_id=request_id, caller=caller, session_token=session_token, query=query,
        query_key=_kept(orjson.dumps([query.class_name, query.where], option=orjson.OPT_SORT_KEYS)), matches=matches,
        pointer_fields=(), hidden=frozenset(), owner_only=frozenset(),
    )  # fmt: skip
    subscription_apply(subscription, caller, access)
    return subscription
