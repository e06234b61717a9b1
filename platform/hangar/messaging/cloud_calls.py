"""Cloud code's push call (``request.data.push(...)`` in a bundle): the same checks and record as ``POST /push``.

Registered as a data call (hangar.cloudcode.data_calls), so it runs in the invocation's
own app and nowhere else. As Parse's ``Parse.Push.send(..., {useMasterKey: true})`` it
needs the master scope: a handler running for an end user cannot message other users'
devices unless the developer's code asks for the master key.
"""

from __future__ import annotations

from typing import Any

from hangar.caller import Caller
from hangar.cloudcode.data_calls import register_call
from hangar.messaging.campaigns import campaign_create
from hangar.messaging.push_requests import push_spec_from_request
from hangar.parse_errors import OPERATION_FORBIDDEN, ParseError


async def push_call(caller: Caller, arguments: dict[str, Any]) -> str:
    """Record a push campaign (source ``cloud``); returns its ``_PushStatus`` objectId."""
    if not caller.is_master:
        raise ParseError(OPERATION_FORBIDDEN, "Sending a push requires the master key (use_master=True).")
    spec = await push_spec_from_request(caller=caller, body=arguments, source="cloud")
    return await campaign_create(app_pk=caller.app_pk, spec=spec)


def register() -> None:
    register_call("push", push_call)
