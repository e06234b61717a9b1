"""Control-plane URLs: the dashboard, the management API and its OpenAPI document.

The Parse data plane (/parse) is not here: hangar.asgi hands it to the gateway
before Django sees the request.
"""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from dashboard.forms import AdminLoginForm
from tenants.api.index import ApiIndexApi, ApiNotFoundApi

# The admin's password form is a way in too: same lockout as the dashboard's (docs/tenants.md).
admin.site.login_form = AdminLoginForm
admin.site.login_template = "admin/hangar_login.html"  # adds the two-factor code field

urlpatterns = [
    # The API's paths have no trailing slash; /api/v1/schema/ stays as the address docs have long given.
    path("api/v1/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema-slash"),
    path("api/v1/docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path(
        "api/v1/redoc",
        SpectacularRedocView.as_view(url_name="api-schema", template_name="tenants/redoc.html"),
        name="api-redoc",
    ),
    path("api/v1/", ApiIndexApi.as_view(), name="api-index"),
    path("api/v1/agents/", include("hangar.builds.agent_urls")),
    path("api/v1/", include("tenants.urls")),
    path("api/v1/", include("sdk_gen.urls")),
    path("api/v1/<path:rest>", ApiNotFoundApi.as_view(), name="api-not-found"),
    path("admin/", admin.site.urls),
    path("apps/", include("hangar.identity.urls")),
    path("builds/", include("hangar.builds.urls")),
    path("", include("dashboard.urls")),
]
