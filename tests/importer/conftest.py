"""The hosted stream-producer API on pytest-django's live server, called over real HTTP."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
from rest_framework.authtoken.models import Token

from importer.client import RetryPolicy
from importer.faultproxy import FaultConfig, FaultProxy

T0 = datetime(2026, 1, 15, 18, 0, tzinfo=timezone.utc)
FAST = RetryPolicy(attempts=10, base_delay=0.002, max_delay=0.05)


class Api:
    def __init__(self, base_url: str, token: str, scheme: str = "Bearer") -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"{scheme} {token}"

    def get(self, path: str, **params: str) -> requests.Response:
        return self.session.get(self.base_url + path, params=params, timeout=30)

    def post(self, path: str, body: Any = None) -> requests.Response:
        return self.session.post(self.base_url + path, json=body if body is not None else {}, timeout=30)


@pytest.fixture
def token(owner) -> str:  # type: ignore[no-untyped-def]
    return Token.objects.get_or_create(user=owner)[0].key


@pytest.fixture
def api(live_server, token) -> Api:  # type: ignore[no-untyped-def]
    return Api(live_server.url, token)


@pytest.fixture
def fault_proxy(live_server) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """`fault_proxy(failure_rate=0.2, seed=1, block_paths=(...))` → a started FaultProxy in front of the live server."""
    proxies: list[FaultProxy] = []

    def start(**options: Any) -> FaultProxy:
        proxy = FaultProxy(FaultConfig(upstream=live_server.url, **options)).__enter__()
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.__exit__()
