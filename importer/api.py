"""The hosted stream-producer API at the contract's paths: token auth, contract JSON, `{"error": ...}`.

Plain Django views: the contract fixes every body and status, so DRF's renderers and error
shapes would only have to be undone. Tokens are `rest_framework.authtoken` tokens, sent as
`Authorization: Bearer <token>` or DRF's `Token <token>`.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authtoken.models import Token

from importer import selectors, services
from importer.contract import ContractError, parse_time
from importer.services import HostedError
from project.json_input import UnstorableText, refuse_unstorable_text

View = Callable[..., HttpResponse]


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _token_owner(request: HttpRequest) -> User | None:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() not in ("bearer", "token") or not key.strip():
        return None
    token = Token.objects.select_related("user").filter(key=key.strip()).first()
    return token.user if token is not None and token.user.is_active else None


def endpoint(*methods: str) -> Callable[[View], View]:
    """Token auth, method check, JSON body parsing and HostedError → JSON error, for every view."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            owner = _token_owner(request)
            if owner is None:
                response = error(401, "missing or invalid token (Authorization: Bearer <token>)")
                response["WWW-Authenticate"] = 'Bearer realm="stream-producer"'
                return response
            if request.method not in methods:
                return error(405, f"method {request.method} not allowed; use {', '.join(methods)}")
            body: object = {}
            if request.method == "POST" and request.body:
                try:
                    body = json.loads(request.body)
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    return error(400, f"body is not JSON: {exc}")
                try:
                    refuse_unstorable_text(body)
                except UnstorableText as exc:
                    return error(400, str(exc))
            try:
                return view(request, owner, body, *args, **kwargs)
            except HostedError as exc:
                return error(exc.status, exc.message)

        return wrapper

    return decorate


@endpoint("POST")
def session_start(request: HttpRequest, owner: Any, body: object) -> HttpResponse:
    return JsonResponse(selectors.session_json(services.stream_session_start(owner=owner, body=body)), status=201)


@endpoint("GET")
def session_current(request: HttpRequest, owner: Any, body: object) -> HttpResponse:
    session = services.active_session(owner)
    if session is None:
        return error(404, "no session is active")
    return JsonResponse(selectors.session_json(session))


@endpoint("POST")
def session_end(request: HttpRequest, owner: Any, body: object) -> HttpResponse:
    return JsonResponse(selectors.session_json(services.stream_session_end(owner=owner, body=body)))


@endpoint("GET")
def sessions(request: HttpRequest, owner: Any, body: object) -> HttpResponse:
    raw = request.GET.get("started_at")
    if raw is None:
        return error(400, "started_at: missing query parameter")
    try:
        # An unencoded "+01:00" arrives as " 01:00"; put the plus back rather than refuse it.
        started_at = parse_time(raw.replace(" ", "+"), name="started_at")
    except ContractError as exc:
        return error(400, str(exc))
    found = selectors.sessions_started_at(owner=owner, started_at=started_at)
    return JsonResponse([selectors.session_json(s) for s in found], safe=False)


@endpoint("POST")
def raid_start(request: HttpRequest, owner: Any, body: object) -> HttpResponse:
    return JsonResponse(selectors.raid_json(services.raid_start(owner=owner, body=body)), status=201)


@endpoint("GET")
def raid_current(request: HttpRequest, owner: Any, body: object) -> HttpResponse:
    raid = selectors.current_raid(owner=owner)
    if raid is None:
        return error(404, "no raid is active")
    return JsonResponse(selectors.raid_json(raid))


@endpoint("GET")
def raid_detail(request: HttpRequest, owner: Any, body: object, raid_id: int) -> HttpResponse:
    return JsonResponse(selectors.raid_detail_json(services.owned_raid(owner, raid_id)))


@endpoint("POST")
def raid_transition(request: HttpRequest, owner: Any, body: object, raid_id: int) -> HttpResponse:
    transition = services.raid_transition_add(owner=owner, raid_id=raid_id, body=body)
    return JsonResponse(selectors.transition_json(transition), status=201)


@endpoint("POST")
def raid_kill(request: HttpRequest, owner: Any, body: object, raid_id: int) -> HttpResponse:
    kill = services.raid_kill_add(owner=owner, raid_id=raid_id, body=body)
    return JsonResponse(selectors.kill_json(kill), status=201)


@endpoint("POST")
def raid_end(request: HttpRequest, owner: Any, body: object, raid_id: int) -> HttpResponse:
    return JsonResponse(selectors.raid_json(services.raid_end(owner=owner, raid_id=raid_id, body=body)))


@endpoint("POST")
def import_session(request: HttpRequest, owner: Any, body: object) -> HttpResponse:
    return JsonResponse(services.session_import(owner=owner, body=body), status=201)


@endpoint("GET")
def stats(request: HttpRequest, owner: Any, body: object) -> HttpResponse:
    return JsonResponse(selectors.stats(owner=owner))
