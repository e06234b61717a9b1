"""The audit log page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from dashboard.views.audit import EVENTS_PER_PAGE
from tenants.audit import audit_record
from tenants.models import AuditEvent
from tests.conftest import Tenant
from tests.dashboard.conftest import AddMember, logged_in

pytestmark = pytest.mark.django_db


def test_the_audit_log_shows_what_happened_newest_first(alice_client: Client, tenant_a: Tenant) -> None:
    alice_client.post(
        reverse("dashboard:app_rename", args=[tenant_a.organization.pk, tenant_a.app.pk]), {"name": "Renamed"}
    )

    page = alice_client.get(reverse("dashboard:audit_log", args=[tenant_a.organization.pk]))

    events = list(page.context["page"].object_list)
    assert events[0].action == "app.rename"
    assert "app.create" in page.content.decode()
    assert "alice@example.com" in page.content.decode()


def test_the_audit_log_is_paginated(tenant_a: Tenant, add_member: AddMember) -> None:
    viewer = logged_in(add_member(tenant_a, "vera", "viewer").developer)
    for n in range(EVENTS_PER_PAGE + 5):
        audit_record(
            actor=tenant_a.developer, organization=tenant_a.organization, action="test.event",
            target_type="thing", target_id=n,
        )  # fmt: skip
    total = AuditEvent.objects.filter(organization=tenant_a.organization).count()
    url = reverse("dashboard:audit_log", args=[tenant_a.organization.pk])

    first = viewer.get(url)
    second = viewer.get(url, {"page": 2})

    assert len(first.context["page"].object_list) == EVENTS_PER_PAGE
    assert len(second.context["page"].object_list) == total - EVENTS_PER_PAGE
    assert "?page=2" in first.content.decode()
