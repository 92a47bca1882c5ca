"""The request type of pages behind django_htmx's middleware: `request.htmx` typed, and `request.user` a User."""
from __future__ import annotations

from django_htmx.middleware import HtmxDetails

from project.http import AuthenticatedHttpRequest


class HtmxHttpRequest(AuthenticatedHttpRequest):
    htmx: HtmxDetails
