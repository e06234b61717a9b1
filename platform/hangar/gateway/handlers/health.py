"""``/health`` and ``/serverInfo`` (reference §13.6)."""

from __future__ import annotations

from django.conf import settings

from hangar.gateway.auth import AuthContext, require_master
from hangar.gateway.request import ParseRequest
from hangar.gateway.responses import ParseResponse

# The Parse Server release whose REST behaviour Hangar follows; the Parse Dashboard
# reads it to decide which features to offer.
PARSE_COMPATIBLE_VERSION = "7.3.0"


async def server_info(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    # Only what Hangar serves today is advertised; later issues switch features on.
    return ParseResponse(
        {
            "features": {
                "globalConfig": {"create": True, "read": True, "update": True, "delete": True},
                "hooks": {"create": True, "read": True, "update": True, "delete": True},
                "cloudCode": {"jobs": True, "viewCode": True},  # viewCode: the dashboard's Cloud Code page
                "logs": {"level": True, "size": True, "order": True, "until": True, "from": True},
                "push": {
                    # docs/messaging.md: /push, push_time (also local), _PushStatus, /push_audiences,
                    # and data.alert-<locale> / title-<locale> picked per installation's localeIdentifier.
                    "immediatePush": True, "scheduledPush": True, "storedPushData": True,
                    "pushAudiences": True, "localization": True,
                },
                "schemas": {
                    "addField": True, "removeField": True, "addClass": True, "removeClass": True,
                    "clearAllDataFromClass": True, "exportClass": False,
                    "editClassLevelPermissions": True, "editPointerPermissions": True,
                },
                "settings": {"securityCheck": False},
            },
            "parseServerVersion": PARSE_COMPATIBLE_VERSION,
            "hangarVersion": settings.HANGAR_SERVER_VERSION,
        }
    )  # fmt: skip
