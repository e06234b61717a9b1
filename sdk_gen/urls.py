"""SDK routes of the management API, included at /api/v1/ beside tenants.urls."""

from django.urls import path

from sdk_gen.api import SdkDownloadApi, SdkOverviewApi

app_name = "sdk_gen"

APP = "organizations/<int:org_id>/apps/<int:app_id>"

urlpatterns = [
    path(f"{APP}/sdks", SdkOverviewApi.as_view(), name="sdk-overview"),
    path(f"{APP}/sdks/<str:language>", SdkDownloadApi.as_view(), name="sdk-download"),
]
