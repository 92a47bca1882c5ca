"""Every page needs a login; the JSON APIs answer 401/403 themselves and every API error is JSON."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse

API_PREFIXES = ("/api/",)
V1_PREFIX = "/api/v1/"


class LoginRequiredEverywhereMiddleware(LoginRequiredMiddleware):
    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponseBase],
        view_args: tuple[Any, ...],
        view_kwargs: dict[Any, Any],
    ) -> HttpResponseBase | None:
        if request.path.startswith(API_PREFIXES) or request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


def api_error(path: str, status: int, message: str) -> JsonResponse:
    """The error shape of the API a path belongs to: `{"detail"}` for /api/v1/, the contract's `{"error"}` else."""
    key = "detail" if path.startswith(V1_PREFIX) else "error"
    return JsonResponse({key: message}, status=status)


def body_too_big_message() -> str:
    return f"the request body is larger than the {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes allowed"


class ApiJsonErrorsMiddleware:
    """Errors Django answers itself (no URL matched, a body too big, a 500) are HTML; under /api/ they become JSON.

    The API views already answer JSON for what they refuse; this catches what never reaches them.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIXES) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        return api_error(request.path, response.status_code, _reason(request, response))

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIXES):
            return None
        refusal = request_refusal(exception)
        return None if refusal is None else api_error(request.path, *refusal)


def request_refusal(exception: Exception) -> tuple[int, str] | None:
    """Django's own refusals of a request's size or shape, as a status and a reason."""
    if isinstance(exception, RequestDataTooBig):
        return 413, body_too_big_message()
    if isinstance(exception, (TooManyFieldsSent, TooManyFilesSent)):
        return 400, str(exception)
    return None


def _reason(request: HttpRequest, response: HttpResponse) -> str:
    if response.status_code == 404:
        return f"not found: {request.path}"
    if response.status_code == 405:
        return f"method {request.method} not allowed on {request.path}"
    if response.status_code >= 500:
        return "internal error; the server logged it"
    text = getattr(response, "content", b"")[:200].decode(errors="replace")
    return text.strip() if text.strip() and "<" not in text else f"request refused ({response.status_code})"
