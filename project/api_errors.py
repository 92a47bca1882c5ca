"""DRF's exception handler, plus a one-line `detail` for validation errors and JSON for Django's own refusals.

Field errors keep DRF's shape (`{"field": ["message"]}`) for clients that read them; the added
`detail` makes every 400 of /api/v1/ readable the same way (`{"detail": "<reason>"}`).
"""
from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from project.middleware import request_refusal


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    refusal = request_refusal(exc)
    if refusal is not None:
        return Response({"detail": refusal[1]}, status=refusal[0])
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, ValidationError) and isinstance(response.data, dict):
        if "detail" not in response.data:
            response.data = {"detail": _summary(response.data), **response.data}
    elif response is not None and isinstance(exc, ValidationError) and isinstance(response.data, list):
        response.data = {"detail": _summary(response.data)}
    return response


def _summary(errors: Any, prefix: str = "") -> str:
    """`field: message; other.nested: message` from DRF's nested error structure."""
    if isinstance(errors, dict):
        return "; ".join(_summary(value, f"{prefix}{key}." if prefix or key != "non_field_errors" else "")
                         for key, value in errors.items())
    if isinstance(errors, list):
        return "; ".join(_summary(item, prefix) for item in errors)
    return f"{prefix.rstrip('.')}: {errors}" if prefix else str(errors)
