"""WebSocket routes; each app adds its consumers here."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from django.http import HttpResponseBase
from django.urls import re_path

if TYPE_CHECKING:
    from channels.consumer import _ASGIApplicationProtocol
    from channels.routing import URLRouter, _ExtendedURLPattern


def websocket_route(pattern: str, consumer: _ASGIApplicationProtocol) -> _ExtendedURLPattern:
    """`re_path` for a consumer (`SomeConsumer.as_asgi()`).

    The same URLPattern at run time; only the stubs disagree: django-stubs types re_path for HTTP views,
    types-channels wants a pattern whose callback is an ASGI app. The casts say so in this one place.
    """
    view = cast("Callable[..., HttpResponseBase]", consumer)
    return cast("_ExtendedURLPattern", re_path(pattern, view))


def _routes() -> list[_ExtendedURLPattern | URLRouter]:
    from review.consumers import LiveFeedConsumer, OverlayFeedConsumer

    return [
        websocket_route(r"^ws/live/$", LiveFeedConsumer.as_asgi()),
        websocket_route(r"^ws/live/overlay/(?P<token>[A-Za-z0-9_-]+)/$", OverlayFeedConsumer.as_asgi()),
    ]


websocket_urlpatterns: list[_ExtendedURLPattern | URLRouter] = _routes()
