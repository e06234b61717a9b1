"""Home (the developer's organizations and their apps), creating an organization, one organization's apps."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from dashboard.access import DeveloperRequest, capabilities, organization_view
from dashboard.forms import NameForm, add_domain_error
from tenants import selectors, services
from tenants.errors import ValidationFailedError
from tenants.roles import Permission
from tenants.selectors import OrganizationAccess


@require_GET
@login_required
def home(request: DeveloperRequest) -> HttpResponse:
    overviews = selectors.organization_overview_list(developer=request.user)
    rows = [(overview, capabilities(overview.role)) for overview in overviews]
    return render(request, "dashboard/home.html", {"rows": rows, "form": NameForm()})


@require_http_methods(["GET", "POST"])
@login_required
def organization_create(request: DeveloperRequest) -> HttpResponse:
    form = NameForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = services.organization_create(actor=request.user, name=form.cleaned_data["name"])
        except ValidationFailedError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"Created the organization {organization.name}.")
            return redirect("dashboard:organization_detail", organization_id=organization.pk)
    return render(request, "dashboard/organizations/create.html", {"form": form})


@require_GET
@organization_view(requires=Permission.VIEW_ORG)
def organization_detail(request: DeveloperRequest, access: OrganizationAccess) -> HttpResponse:
    apps = selectors.app_list(developer=request.user, organization=access.organization)
    context = {"access": access, "can": capabilities(access.role), "apps": apps, "tab": "apps"}
    return render(request, "dashboard/organizations/detail.html", context)
