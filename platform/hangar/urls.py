"""Control-plane URLs: the dashboard, the management API and its OpenAPI document.

The Parse data plane (/parse) is not here: hangar.asgi hands it to the gateway
before Django sees the request.
"""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from dashboard.forms import AdminLoginForm

# The admin's password form is a way in too: same lockout as the dashboard's (docs/tenants.md).
admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/agents/", include("hangar.builds.agent_urls")),
    path("api/v1/", include("tenants.urls")),
    path("api/v1/", include("sdk_gen.urls")),
    path("admin/", admin.site.urls),
    path("apps/", include("hangar.identity.urls")),
    path("builds/", include("hangar.builds.urls")),
    path("", include("dashboard.urls")),
]
