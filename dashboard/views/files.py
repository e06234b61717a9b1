"""An app's Files page: stored files newest first with a preview, storage against the quota, delete."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dashboard.access import DeveloperRequest, app_view, capabilities
from hangar.parse_errors import ParseError
from tenants import files_console
from tenants.roles import Permission
from tenants.selectors import AppAccess


@require_GET
@app_view()
def file_list(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    page_number = request.GET.get("page", "1")
    page = files_console.file_page(app=access.app, number=int(page_number) if page_number.isdigit() else 1)
    context = {
        "access": access, "app": access.app, "can": capabilities(access.role), "tab": "files", "page": page,
        "storage": files_console.storage_get(app=access.app),
        "files": [(stored, files_console.file_url(app=access.app, name=stored.name)) for stored in page],
    }  # fmt: skip
    return render(request, "dashboard/apps/files.html", context)


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def file_remove(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    name = request.POST.get("name", "")
    try:
        files_console.file_remove(app=access.app, name=name)
    except ParseError as exc:
        messages.error(request, f"{exc.message} (Parse error {exc.code})")
    else:
        messages.success(request, f"Deleted {name}. Objects that point to it keep a broken link.")
    return redirect("dashboard:files", organization_id=access.organization.pk, app_id=access.app.pk)
