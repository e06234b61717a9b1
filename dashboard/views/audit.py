"""The organization's audit log."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.access import DeveloperRequest, capabilities, organization_view
from tenants import selectors
from tenants.roles import Permission
from tenants.selectors import OrganizationAccess

EVENTS_PER_PAGE = 50


@require_GET
@organization_view(requires=Permission.VIEW_AUDIT_LOG)
def audit_log(request: DeveloperRequest, access: OrganizationAccess) -> HttpResponse:
    events = selectors.audit_event_list(developer=request.user, organization=access.organization)
    page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"access": access, "can": capabilities(access.role), "page": page, "tab": "audit"}
    return render(request, "dashboard/audit/list.html", context)
