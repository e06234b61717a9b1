"""One error shape for the management API: ``{"code": ..., "detail": ...}`` (+ ``field``).

Domain errors (tenants.errors) carry their own stable code and HTTP status; DRF's own
exceptions (authentication, parsing, serializer validation) are reshaped to match, so
a client reads ``code`` and ``detail`` whatever went wrong. Serializer errors keep the
full per-field map under ``errors``.
https://www.django-rest-framework.org/api-guide/exceptions/#custom-exception-handling
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from tenants.errors import BundleRejectedError, SignInLockedError, TenantsError, ValidationFailedError


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render TenantsError and DRF exceptions as ``{code, detail}``; anything else stays a 500."""
    if isinstance(exc, TenantsError):
        answer = Response(tenants_error_body(exc), status=exc.status)
        if isinstance(exc, SignInLockedError) or getattr(exc, "retry_after_seconds", None):
            answer["Retry-After"] = str(exc.retry_after_seconds)  # type: ignore[attr-defined]
        return answer
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        response.data = drf_error_body(exc)
    return response


def tenants_error_body(exc: TenantsError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": exc.code, "detail": exc.message}
    if isinstance(exc, ValidationFailedError):
        body["field"] = exc.field
    if isinstance(exc, BundleRejectedError):
        body.update({"file": exc.file, "line": exc.line})
    return body


def drf_error_body(exc: exceptions.APIException) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_error(exc.detail)
        return {
            "code": "invalid",
            "detail": f"{field}: {message}" if field else message,
            "field": field,
            "errors": exc.detail,
        }
    codes = exc.get_codes()
    return {"code": codes if isinstance(codes, str) else exc.default_code, "detail": str(exc.detail)}


def _first_error(detail: Any, field: str | None = None) -> tuple[str | None, str]:
    """The first (field path, message) of a possibly nested serializer error structure."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = None if key == "non_field_errors" else str(key)
            path = ".".join(part for part in (field, inner) if part) or None
            return _first_error(value, path)
    if isinstance(detail, list) and detail:
        return _first_error(detail[0], field)
    return field, str(detail) if detail else "Invalid input."
