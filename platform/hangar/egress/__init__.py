"""Outbound HTTP for the whole platform under one policy (docs/egress.md).

Every adapter that calls another service (OAuth providers today; cloud-code webhooks,
push/SMS/email providers and build agents' callbacks next) sends through
``egress_request`` / ``egress_get`` and handles ``EgressError`` (``retryable`` says whether a
later retry can help).
"""

from hangar.egress.client import (
    EgressResponse,
    domain_allowed,
    egress_check,
    egress_connections_close,
    egress_get,
    egress_request,
)
from hangar.egress.errors import (
    EgressError,
    EgressRefusedError,
    EgressResponseTooLargeError,
    EgressUnavailableError,
)

__all__ = [
    "EgressError",
    "EgressRefusedError",
    "EgressResponse",
    "EgressResponseTooLargeError",
    "EgressUnavailableError",
    "domain_allowed",
    "egress_check",
    "egress_connections_close",
    "egress_get",
    "egress_request",
]
