"""The request type of views behind django_htmx's middleware: `request.htmx` typed, no `type: ignore`."""
from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails
