"""A fixture app with every field type and typed cloud functions, served by the session's live server."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hangar.cloudcode.bundles import _pack
from hangar.cloudcode.services import deploy_version
from tests.conftest import LiveServer, Tenant, make_tenant

PROGRAMS = Path(__file__).resolve().parent / "programs"

# Every Parse field type, a pointer to another generated class, to _User and to a system class.
TEAM_FIELDS = {"name": {"type": "String"}}
PLAYER_FIELDS = {
    "name": {"type": "String", "required": True},
    "score": {"type": "Number"},
    "active": {"type": "Boolean"},
    "born": {"type": "Date"},
    "stats": {"type": "Object"},
    "tags": {"type": "Array"},
    "team": {"type": "Pointer", "targetClass": "Team"},
    "owner": {"type": "Pointer", "targetClass": "_User"},
    "fans": {"type": "Relation", "targetClass": "_User"},
    "avatar": {"type": "File"},
    "home": {"type": "GeoPoint"},
    "area": {"type": "Polygon"},
    "blob": {"type": "Bytes"},
    "class": {"type": "String"},  # a keyword in every target language
}
USER_FIELDS = {"nickname": {"type": "String"}}

BUNDLE = {
    "main.py": """
    from hangar_cloud import define

    @define("total")
    def total(request, *, price: float, count: int) -> float:
        return price * count

    @define("greet")
    def greet(request, *, name: str) -> str:
        return f"Hello {name}"

    @define("teamNames")
    def team_names(request) -> list:
        return sorted(row["name"] for row in request.data.find("Team"))
    """,
}


@dataclass
class SdkApp:
    tenant: Tenant
    server: LiveServer

    @property
    def parse_url(self) -> str:
        return f"{self.server.url}/parse"

    def program_env(self) -> dict[str, str]:
        return {
            "HANGAR_URL": self.parse_url,
            "HANGAR_APP_ID": self.tenant.application_id,
            "HANGAR_CLIENT_KEY": self.tenant.keys["client"],
        }


def define_schema(server: LiveServer, tenant: Tenant) -> None:
    headers = tenant.parse_headers("master")
    for class_name, fields in (("Team", TEAM_FIELDS), ("Player", PLAYER_FIELDS), ("_User", USER_FIELDS)):
        method = "PUT" if class_name == "_User" else "POST"
        response = httpx.request(
            method, f"{server.url}/parse/schemas/{class_name}", headers=headers,
            json={"className": class_name, "fields": fields}, timeout=30,
        )  # fmt: skip
        assert response.status_code == 200, response.text


def deploy_functions(tenant: Tenant) -> None:
    deploy_version(tenant.app, _pack({name: textwrap.dedent(src).encode() for name, src in BUNDLE.items()}))


@pytest.fixture
def sdk_app(live_server: LiveServer, transactional_db: None) -> SdkApp:
    tenant = make_tenant("sdk")
    define_schema(live_server, tenant)
    deploy_functions(tenant)
    return SdkApp(tenant=tenant, server=live_server)


from tests.cloudcode.conftest import _stop_workers  # noqa: E402,F401 - cloud-code workers closed after each test
from tests.datastore.conftest import app_a, app_b  # noqa: E402,F401 - the data API's Parse clients
