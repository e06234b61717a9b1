"""An app's SDKs page: one tab per language with its install line and download, and the schema changelog."""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from dashboard.access import DeveloperRequest, app_view, capabilities
from sdk_gen.services import SdkBuilding, sdk_download_get, sdk_overview
from tenants.errors import NotFoundError
from tenants.selectors import AppAccess


@require_GET
@app_view()
def sdks_page(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    overview = sdk_overview(app=access.app)
    chosen = request.GET.get("lang", "")
    current = next((entry for entry in overview.languages if entry.language == chosen), overview.languages[0])
    context = {
        "access": access,
        "app": access.app,
        "can": capabilities(access.role),
        "tab": "sdks",
        "overview": overview,
        "current": current,
        # The page refreshes itself until the chosen language's package is compiled.
        "refresh_seconds": 2 if current.status == "building" else None,
    }
    return render(request, "dashboard/apps/sdks.html", context)


@require_GET
@app_view()
def sdk_download(request: DeveloperRequest, access: AppAccess, language: str) -> HttpResponse:
    if language not in {entry.language for entry in sdk_overview(app=access.app).languages}:
        raise NotFoundError("No SDK in that language.")
    package = sdk_download_get(app=access.app, language=language)
    if isinstance(package, SdkBuilding):
        # Not compiled yet: the SDKs page of that language says so and refreshes until it is.
        page = reverse("dashboard:sdks", args=[access.organization.pk, access.app.pk])
        return HttpResponseRedirect(f"{page}?lang={language}")
    response = HttpResponse(bytes(package.content), content_type=package.content_type)
    response["Content-Disposition"] = f'attachment; filename="{package.filename}"'
    return response
