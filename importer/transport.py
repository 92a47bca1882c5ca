"""How the import client reaches a stream-producer API: over HTTP, or in-process for Vodscope's own.

Either way the same API views answer; `LocalTransport` only spares a worker from knowing the
URL its own web server listens on.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import requests


class TransientError(Exception):
    """The call may or may not have reached the target (timeout, refused, dropped connection)."""


@dataclass(frozen=True)
class ApiResponse:
    status: int
    data: Any

    @property
    def error(self) -> str:
        if isinstance(self.data, dict) and "error" in self.data:
            return str(self.data["error"])
        return f"HTTP {self.status}"


class Transport(Protocol):
    target_key: str

    def request(
        self, method: str, path: str, *, body: dict[str, Any] | None = None, params: dict[str, str] | None = None
    ) -> ApiResponse: ...


def _decode(status: int, raw: bytes) -> ApiResponse:
    try:
        data = json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = {"error": raw[:200].decode("utf-8", "replace")}
    return ApiResponse(status, data)


class HttpTransport:
    def __init__(
        self, base_url: str, token: str, *, timeout: tuple[float, float] = (3.05, 60.0), keep_alive: bool = False
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        # Servers that write headers and body separately (Django's own, Python's http.server) stall
        # ~40 ms per call on a kept-alive connection (Nagle against delayed ACK); a new one costs <1 ms.
        self.keep_alive = keep_alive
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        # Two accounts on one server are two targets; the token is hashed, never stored.
        self.target_key = f"{self.base_url}#{hashlib.sha256(token.encode()).hexdigest()[:12]}"

    def request(
        self, method: str, path: str, *, body: dict[str, Any] | None = None, params: dict[str, str] | None = None
    ) -> ApiResponse:
        try:
            response = self.session.request(
                method, self.base_url + path, json=body, params=params, timeout=self.timeout
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        finally:
            if not self.keep_alive:
                self.session.close()  # the pool would otherwise reuse a socket the server is closing
        return _decode(response.status_code, response.content)


class LocalTransport:
    """Calls the hosted API views in this process, authenticated as `owner` by their API token."""

    def __init__(self, owner: Any) -> None:
        from rest_framework.authtoken.models import Token

        self.token = Token.objects.get_or_create(user=owner)[0].key
        self.target_key = f"hosted:user:{owner.pk}"

    def request(
        self, method: str, path: str, *, body: dict[str, Any] | None = None, params: dict[str, str] | None = None
    ) -> ApiResponse:
        from django.test import RequestFactory
        from django.urls import Resolver404, resolve

        factory = RequestFactory(headers={"Authorization": f"Bearer {self.token}"})
        url = path + ("?" + urlencode(params) if params else "")
        if method == "GET":
            request = factory.get(url)
        else:
            request = factory.post(url, data=json.dumps(body or {}), content_type="application/json")
        try:
            match = resolve(path)
        except Resolver404:
            return ApiResponse(404, {"error": f"no such path {path}"})
        response = match.func(request, *match.args, **match.kwargs)
        return _decode(response.status_code, response.content)
