"""Every page needs a login; the JSON APIs answer 401/403 themselves instead of redirecting."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware

API_PREFIXES = ("/api/",)


class LoginRequiredEverywhereMiddleware(LoginRequiredMiddleware):
    def process_view(self, request, view_func, view_args, view_kwargs):  # type: ignore[no-untyped-def]
        if request.path.startswith(API_PREFIXES) or request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
