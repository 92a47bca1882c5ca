"""The request type of pages: `LoginRequiredEverywhereMiddleware` lets no anonymous request reach a view."""
from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthenticatedHttpRequest(HttpRequest):
    user: User
