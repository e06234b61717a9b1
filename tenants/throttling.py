"""DRF throttles that count per client address as hangar.client_address computes it.

DRF's own ``get_ident`` believes X-Forwarded-For unless NUM_PROXIES is set, so a client
that sends a new header on each request gets a new budget each time.
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle

from hangar.client_address import client_address_of_meta, rate_limit_key


class ClientAddressScopedRateThrottle(ScopedRateThrottle):
    """ScopedRateThrottle keyed by the client address (its /64 for IPv6), trusting only HANGAR_TRUSTED_PROXIES."""

    def get_ident(self, request: Request) -> str:
        return rate_limit_key(client_address_of_meta(request.META))
