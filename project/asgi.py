from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry loaded)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator, WebsocketDenier  # noqa: E402
from project.routing import websocket_route, websocket_urlpatterns  # noqa: E402

# Last, after every app's routes: a path nobody serves is closed before the handshake (HTTP 403),
# where URLRouter alone would raise and the server would log a 500 with a traceback.
unrouted = websocket_route(r"", WebsocketDenier.as_asgi())

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter([*websocket_urlpatterns, unrouted]))),
    }
)
