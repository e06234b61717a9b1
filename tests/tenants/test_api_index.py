"""The management API's discoverability: a JSON index, Swagger UI and Redoc from installed assets, JSON 404s."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_index_answers_json_with_the_documents_and_the_token_endpoint(client: Client) -> None:
    response = client.get("/api/v1/")

    assert response.status_code == 200
    body = response.json()
    assert body["documents"] == {
        "openapi": "http://testserver/api/v1/schema",
        "swagger_ui": "http://testserver/api/v1/docs",
        "redoc": "http://testserver/api/v1/redoc",
    }
    assert body["authentication"]["token_endpoint"] == "http://testserver/api/v1/auth/token"
    assert body["resources"]["organizations"] == "http://testserver/api/v1/organizations"


@pytest.mark.parametrize("path", ["/api/v1/docs", "/api/v1/redoc"])
def test_the_api_documents_load_their_scripts_from_this_server_only(client: Client, path: str) -> None:
    page = client.get(path).content.decode()

    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources, "the page loads its viewer"
    assert all(src.startswith("/static/drf_spectacular_sidecar/") or src.startswith("/api/") for src in sources), (
        sources
    )
    for src in sources:
        if src.startswith("/static/"):
            assert finders.find(src.removeprefix("/static/")), f"{src} is installed"
    assert "cdn" not in page.lower()


def test_the_openapi_document_describes_the_bearer_token_and_the_token_endpoint(client: Client) -> None:
    schema = client.get("/api/v1/schema", HTTP_ACCEPT="application/json").json()

    assert schema["components"]["securitySchemes"]["accessToken"]["scheme"] == "bearer"
    assert "post" in schema["paths"]["/api/v1/auth/token"]
    assert client.get("/api/v1/schema/").status_code == 200, "the old address still answers"


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_an_unknown_api_path_answers_json_not_the_html_404(client: Client, method: str) -> None:
    response = getattr(client, method)("/api/v1/no-such-thing/here")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "/api/v1/" in response.json()["detail"]
