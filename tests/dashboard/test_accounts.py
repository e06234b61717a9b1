"""Sign up, log in, log out and the login wall."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from tenants.models import Developer, Membership, Organization
from tests.conftest import PASSWORD, Tenant

pytestmark = pytest.mark.django_db


def test_sign_up_logs_in_and_creates_a_personal_organization(client: Client) -> None:
    response = client.post(
        reverse("dashboard:signup"), {"email": "dana@example.com", "name": "Dana", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == reverse("dashboard:home")
    developer = Developer.objects.get(email="dana@example.com")
    organization = Organization.objects.get(memberships__developer=developer)
    assert Membership.objects.get(organization=organization, developer=developer).role == "owner"
    home = client.get(reverse("dashboard:home"))
    assert home.status_code == 200
    assert home.context["user"] == developer
    assert escape(organization.name) in home.content.decode()


def test_sign_up_with_a_taken_email_shows_the_error_on_the_email_field(client: Client, tenant_a: Tenant) -> None:
    response = client.post(
        reverse("dashboard:signup"), {"email": "ALICE@example.com", "name": "", "password": PASSWORD}
    )

    assert response.status_code == 200
    assert "already exists" in response.context["form"].errors["email"][0]
    assert Developer.objects.filter(email__iexact="alice@example.com").count() == 1


def test_sign_up_with_a_weak_password_is_refused(client: Client) -> None:
    response = client.post(reverse("dashboard:signup"), {"email": "erin@example.com", "password": "short"})

    assert response.status_code == 200
    assert response.context["form"].errors["password"]
    assert not Developer.objects.filter(email="erin@example.com").exists()


def test_sign_up_goes_back_to_a_local_next_url_only(client: Client) -> None:
    data = {"email": "finn@example.com", "password": PASSWORD, "next": "https://evil.example/steal"}
    response = client.post(reverse("dashboard:signup"), data)

    assert response.url == reverse("dashboard:home")


def test_log_in_and_log_out(client: Client, tenant_a: Tenant) -> None:
    response = client.post(reverse("dashboard:login"), {"username": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("dashboard:home")
    assert client.get(reverse("dashboard:home")).status_code == 200

    response = client.post(reverse("dashboard:logout"))
    assert response.status_code == 302
    assert client.get(reverse("dashboard:home")).url.startswith(reverse("dashboard:login"))


def test_log_in_with_a_wrong_password_is_refused(client: Client, tenant_a: Tenant) -> None:
    response = client.post(reverse("dashboard:login"), {"username": "alice@example.com", "password": "nope-nope-nope"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert client.get(reverse("dashboard:home")).status_code == 302


def test_pages_send_anonymous_visitors_to_log_in_and_back(client: Client, tenant_a: Tenant) -> None:
    url = reverse("dashboard:app_settings", args=[tenant_a.organization.pk, tenant_a.app.pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('dashboard:login')}?next={url}"


def test_logout_is_post_only(alice_client: Client) -> None:
    assert alice_client.get(reverse("dashboard:logout")).status_code == 405


def test_log_in_ignores_the_case_of_the_email(client: Client, tenant_a: Tenant) -> None:
    response = client.post(reverse("dashboard:login"), {"username": "Alice@Example.COM", "password": PASSWORD})

    assert response.status_code == 302
    assert client.get(reverse("dashboard:home")).status_code == 200
