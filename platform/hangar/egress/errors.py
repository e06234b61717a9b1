"""Typed egress failures; each says whether trying again later can help (``retryable``)."""

from __future__ import annotations


class EgressError(Exception):
    """An outbound request did not produce a usable response."""

    retryable = False


class EgressRefusedError(EgressError):
    """The policy forbids this destination (scheme, domain allowlist or a non-public address)."""


class EgressUnavailableError(EgressError):
    """The destination could not be reached in time (DNS, connection, timeout); a retry may help."""

    retryable = True


class EgressResponseTooLargeError(EgressError):
    """The response body is larger than ``HANGAR_EGRESS_MAX_RESPONSE_BYTES``."""
