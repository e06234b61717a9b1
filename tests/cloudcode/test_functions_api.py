"""Cloud functions through the Parse REST API: results, errors, params, scopes and isolation."""

from __future__ import annotations

import pytest

from tests.cloudcode.conftest import deploy_async
from tests.datastore.conftest import ParseApp

pytestmark = pytest.mark.django_db(transaction=True)

HELLO = {
    "main.py": """
    from hangar_cloud import define, ParseError

    @define("hello")
    def hello(request):
        return f"Hello {request.params['name']}"

    @define("fails")
    def fails(request):
        raise ValueError("it broke")

    @define("coded")
    def coded(request):
        raise ParseError(142, "bad input")

    @define("who")
    async def who(request):
        return {"master": request.master, "user": request.user and request.user["objectId"]}
    """
}


async def test_function_result_and_errors(app_a: ParseApp):
    await deploy_async(app_a.tenant, HELLO)
    response = await app_a.request("POST", "/functions/hello", {"name": "Ada"})
    assert (response.status_code, response.json()) == (200, {"result": "Hello Ada"}), response.text
    failed = await app_a.request("POST", "/functions/fails", {})
    assert (failed.status_code, failed.json()) == (400, {"code": 141, "error": "it broke"})
    coded = await app_a.request("POST", "/functions/coded", {})
    assert coded.json() == {"code": 142, "error": "bad input"}
    unknown = await app_a.request("POST", "/functions/nope", {})
    assert unknown.json() == {"code": 141, "error": 'Invalid function: "nope"'}
    who = await app_a.request("POST", "/functions/who", {}, master=True)
    assert who.json() == {"result": {"master": True, "user": None}}


async def test_functions_of_another_app_are_not_reachable(app_a: ParseApp, app_b: ParseApp):
    await deploy_async(app_a.tenant, HELLO)
    response = await app_b.request("POST", "/functions/hello", {"name": "Eve"})
    assert response.json() == {"code": 141, "error": 'Invalid function: "hello"'}
