"""An app's API console: try a Parse REST call from the browser with the app's REST key, and copyable SDK snippets.

The call goes from the developer's browser straight to the app's Parse endpoint, as any
client's would (the same keys, CORS and limits); the server only renders the page. The
master key is never put in this page: calls run with the REST API key and, optionally,
a session token the developer pastes.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.access import DeveloperRequest, app_view, capabilities
from tenants import selectors
from tenants.models import AppKey
from tenants.selectors import AppAccess

METHODS = ("GET", "POST", "PUT", "DELETE")


def _snippets(
    *, application_id: str, client_key: str, javascript_key: str, rest_key: str, server_url: str
) -> list[tuple[str, str, str]]:
    """(id, label, code) for each client, with the app's id, key and URL filled in."""
    return [
        ("js", "JavaScript", 'import Parse from "parse";\n\n'
                             f'Parse.initialize("{application_id}", "{javascript_key}");\n'
                             f'Parse.serverURL = "{server_url}";'),
        ("ios", "iOS (Swift)", "import ParseSwift\n\nParseSwift.initialize(\n"
                               f'    applicationId: "{application_id}",\n    clientKey: "{client_key}",\n'
                               f'    serverURL: URL(string: "{server_url}")!\n)'),
        ("android", "Android (Java)", "Parse.initialize(new Parse.Configuration.Builder(this)\n"
                                      f'    .applicationId("{application_id}")\n    .clientKey("{client_key}")\n'
                                      f'    .server("{server_url}/")\n    .build());'),
        ("flutter", "Flutter (Dart)", "await Parse().initialize(\n"
                                      f"  '{application_id}',\n  '{server_url}',\n  clientKey: '{client_key}',\n"
                                      "  autoSendSessionId: true,\n);"),
        ("rest", "REST (curl)", f'curl -X GET \\\n  -H "X-Parse-Application-Id: {application_id}" \\\n'
                                f'  -H "X-Parse-REST-API-Key: {rest_key}" \\\n  "{server_url}/classes/GameScore"'),
    ]  # fmt: skip


@require_GET
@app_view()
def api_console_page(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    keys = selectors.app_keys_for(developer=request.user, app=access.app)
    server_url = settings.HANGAR_PUBLIC_URL + settings.HANGAR_PARSE_MOUNT
    rest_key = keys.get(AppKey.Kind.REST) or ""
    context = {
        "access": access,
        "app": access.app,
        "can": capabilities(access.role),
        "tab": "api_console",
        "methods": METHODS,
        "server_url": server_url,
        "rest_key": rest_key,
        "snippets": _snippets(
            application_id=access.app.application_id, client_key=keys.get(AppKey.Kind.CLIENT) or "",
            javascript_key=keys.get(AppKey.Kind.JAVASCRIPT) or "", rest_key=rest_key, server_url=server_url,
        ),
    }  # fmt: skip
    return render(request, "dashboard/apps/api_console.html", context)
