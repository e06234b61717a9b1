"""LiveQuery never streams push campaigns or audiences to clients: ``_PushStatus`` and ``_Audience`` are master-only."""

from __future__ import annotations

import pytest

from tests.conftest import Tenant
from tests.realtime.conftest import Rest, live_client, rest_a, user_with_session, ws_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
__all__ = ["live_client", "rest_a", "ws_url"]


async def test_clients_cannot_listen_to_campaigns_or_audiences(live_client, tenant_a: Tenant, rest_a: Rest) -> None:
    _, token = await user_with_session(tenant_a, "ada")
    async with live_client() as anonymous, live_client() as user, live_client() as master:
        await anonymous.connect(tenant_a)
        await user.connect(tenant_a, session=token)
        for request_id, class_name in enumerate(("_PushStatus", "_Audience"), start=1):
            for client in (anonymous, user):
                refused = await client.subscribe(request_id, class_name)
                assert (refused["op"], refused["code"]) == ("error", 119), refused
        await master.connect(tenant_a, key="master")
        assert (await master.subscribe(1, "_PushStatus"))["op"] == "subscribed"
        await rest_a.call("POST", "/push", {"channels": ["news"], "data": {"alert": "hi"}})
        created = (await master.expect("create"))["object"]
        assert created["source"] == "rest"
        await anonymous.quiet()
        await user.quiet()
