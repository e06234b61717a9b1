"""The per-class rules registry: the datastore asks it for every class, and fails closed for system classes."""

from __future__ import annotations

from typing import Any

import pytest

from hangar.caller import Caller
from hangar.datastore import class_rules as registry
from hangar.datastore.class_rules import ClassRules, PreparedWrite, class_rules, register_class_rules
from tests.datastore.conftest import ParseApp

pytestmark = pytest.mark.django_db(transaction=True)


class _StampingRules(ClassRules):
    """Rules a capability could register: stamp new objects, count committed changes."""

    stores_internal_fields = True

    def __init__(self) -> None:
        self.changed_apps: list[int] = []

    async def before_create(self, *, caller: Caller, body: dict[str, Any], object_id: str) -> PreparedWrite:
        return PreparedWrite(body={**body, "stamped": True}, internal={"_secret": "kept out of answers"})

    async def changed(self, app_pk: int) -> None:
        self.changed_apps.append(app_pk)


@pytest.fixture
def stamping_rules() -> Any:
    rules = _StampingRules()
    register_class_rules("Stamped", rules)
    yield rules
    registry._registry.pop("Stamped", None)


def test_system_classes_without_registered_rules_fail_closed(monkeypatch: pytest.MonkeyPatch):
    """A _User written without identity's rules would store a plain password: refuse instead."""
    monkeypatch.setattr(registry, "_registry", {})
    for name in ("_User", "_Session", "_Role"):
        with pytest.raises(RuntimeError, match=name):
            class_rules(name)
    assert class_rules("Plain").before_delete(caller=Caller(app_pk=1, is_master=True), object_id="x") is None


def test_identity_registers_its_classes_at_start_up():
    assert "authData" in class_rules("_User").owner_only_fields
    assert type(class_rules("_Session")).__name__ == "SessionRules"
    assert type(class_rules("_Role")).__name__ == "RoleRules"


async def test_registered_rules_apply_on_every_route_and_hide_internal_fields(app_a: ParseApp, stamping_rules):
    created = await app_a.request("POST", "/classes/Stamped", {"n": 1}, master=True)
    assert created.status_code == 201, created.text
    object_id = created.json()["objectId"]
    in_batch = await app_a.request(
        "POST", "/batch", {"requests": [{"method": "POST", "path": "/parse/classes/Stamped", "body": {"n": 2}}]}
    )
    assert "success" in in_batch.json()[0], in_batch.text
    found = (await app_a.request("GET", "/classes/Stamped", params={"order": "n"})).json()["results"]
    assert [(obj["n"], obj["stamped"]) for obj in found] == [(1, True), (2, True)]
    assert all("_secret" not in obj for obj in found)
    got = (await app_a.request("GET", f"/classes/Stamped/{object_id}", master=True)).json()
    assert "_secret" not in got
    assert stamping_rules.changed_apps == [app_a.tenant.app.pk, app_a.tenant.app.pk]
