"""Typed egress failures; each says whether trying again later can help (``retryable``)."""

from __future__ import annotations


class EgressError(Exception):
    """An outbound request did not produce a usable response."""

    retryable = False


class EgressRefusedError(EgressError):
    """The policy forbids this request: its destination (scheme, domain allowlist, a non-public address)
    or its text (header values that would split it); a retry never helps."""


class EgressUnavailableError(EgressError):
    """The destination could not be reached in time (DNS, connection, timeout); a retry may help."""

    retryable = True


class EgressResponseTooLargeError(EgressError):
    """The response body is larger than ``HANGAR_EGRESS_MAX_RESPONSE_BYTES``."""
