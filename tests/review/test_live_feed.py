"""The live feed over real WebSockets (Channels' communicator on the project's ASGI application)."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from detection.pipeline.types import Event
from detection.services.live import (
    event_message, live_broadcast, live_events_save, live_session_start, live_status_save,
)
from review import consumers
from review.services_live import overlay_token_create, overlay_token_revoke

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://localhost")


def session_for(user: Any) -> Any:
    return live_session_start(owner=user, title="Live test", video_path="/tmp/none.mkv", session_type="stream",
                              source="test", params={})


def kill(n: int) -> Event:
    return Event(f"kill-{n}", "kill", 10.0 + n, 100 + n, 0.9, {"enemy": "scav"}, thumbnail=b"\xff\xd8 a jpeg")


def cookie_for(user: Any) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


async def receive_until(communicator: WebsocketCommunicator, wanted: Any, timeout: float = 10.0) -> dict[str, Any]:
    """The first message `wanted(message)` accepts, skipping others; fails after `timeout` seconds."""
    async def wait() -> dict[str, Any]:
        while True:
            message: dict[str, Any] = await communicator.receive_json_from(timeout=timeout)
            if wanted(message):
                return message

    return await asyncio.wait_for(wait(), timeout)


def connect(path: str, headers: list[tuple[bytes, bytes]]) -> tuple[bool, Any]:
    from project.asgi import application

    async def attempt() -> tuple[bool, Any]:
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, code = await communicator.connect(timeout=10)
        await communicator.disconnect()
        return connected, code

    return async_to_sync(attempt)()


def test_an_event_message_says_when_a_kill_known_only_from_its_raids_list_happened(owner) -> None:  # type: ignore[no-untyped-def]
    window = {"inferred": True, "happened_between": [5.5, 49.9]}
    rows = live_events_save(session=session_for(owner), events=[
        Event("kill-1900-listed0", "kill", 63.3, 1900, 0.43, {"enemy": "boss"}, evidence=window),
        Event("kill-1000-listed1", "kill", 33.3, 1000, 0.43, {"enemy": "pmc"}, evidence=window),
        Event("kill-1100", "kill", 36.0, 1100, 0.9, {}, evidence={"happened_between": "5.5 to 49.9"}),  # another version
        kill(4),
    ])
    by_id = {row.event_id: row for row in rows}
    at_summary, at_unread_notification = by_id["kill-1900-listed0"], by_id["kill-1000-listed1"]
    odd, seen = by_id["kill-1100"], by_id["kill-4"]

    summary = event_message(at_summary)
    assert summary["inferred"] is True and summary["happened_between"] == [5.5, 49.9] and summary["time_unknown"] is True
    placed = event_message(at_unread_notification)
    assert placed["happened_between"] == [5.5, 49.9] and placed["time_unknown"] is False
    assert [event_message(row)["time_unknown"] for row in (odd, seen)] == [False, False]
    assert event_message(odd)["happened_between"] is None and event_message(seen)["inferred"] is False


def test_an_anonymous_socket_is_refused() -> None:
    assert connect("/ws/live/", [ORIGIN]) == (False, consumers.REFUSED)


def test_an_overlay_token_opens_the_overlay_feed_until_revoked(owner) -> None:  # type: ignore[no-untyped-def]
    from project.asgi import application

    token = overlay_token_create(user=owner)
    assert connect(f"/ws/live/overlay/{token.key}/", [ORIGIN])[0] is True
    assert connect("/ws/live/overlay/not-a-token/", [ORIGIN]) == (False, consumers.REFUSED)

    async def revoked_while_open() -> Any:
        communicator = WebsocketCommunicator(application, f"/ws/live/overlay/{token.key}/", headers=[ORIGIN])
        assert (await communicator.connect(timeout=10))[0]
        await database_sync_to_async(overlay_token_revoke)(user=owner, token_id=token.pk)
        closed = await communicator.receive_output(10)  # no live session: the close is the first output
        await communicator.wait()
        return closed

    assert async_to_sync(revoked_while_open)() == {"type": "websocket.close", "code": consumers.REFUSED}
    assert connect(f"/ws/live/overlay/{token.key}/", [ORIGIN]) == (False, consumers.REFUSED)


def test_a_logged_in_dashboard_gets_missed_events_then_new_ones_state_and_stats(owner, outsider) -> None:  # type: ignore[no-untyped-def]
    from project.asgi import application

    session = session_for(owner)
    first = live_events_save(session=session, events=[kill(1)])[0]
    owner_cookie, outsider_cookie = cookie_for(owner), cookie_for(outsider)

    async def scenario() -> list[dict[str, Any]]:
        communicator = WebsocketCommunicator(application, "/ws/live/", headers=[ORIGIN, owner_cookie])
        connected, _ = await communicator.connect(timeout=10)
        assert connected
        caught_up = await receive_until(communicator, lambda m: m["type"] == "event")
        await database_sync_to_async(live_events_save)(session=session, events=[kill(2)])
        await database_sync_to_async(live_status_save)(
            session=session, state={"state": "raid_active", "raid": {"map": "dam", "kills": 2}},
            stats={"frames": 10, "dropped": 1, "detection_fps": 5.0, "latency_ms": 120, "video_time": 12.0})
        seen: list[dict[str, Any]] = []

        def both(message: dict[str, Any]) -> bool:
            seen.append(message)
            return {"event", "state"} <= {m["type"] for m in seen}

        await receive_until(communicator, both)
        await communicator.disconnect()
        return [caught_up, *(next(m for m in seen if m["type"] == kind) for kind in ("event", "state"))]

    caught_up, new, state = async_to_sync(scenario)()
    assert caught_up["id"] == first.pk and caught_up["event_type"] == "kill"
    assert new["event_id"] == "kill-2" and new["data"] == {"enemy": "scav"} and new["video_offset_seconds"] == 12.0
    assert new["thumbnail"] == f"/recordings/{session.recording.pk}/review/events/{new['id']}/thumbnail/"
    assert state["state"] == "raid_active" and state["raid"]["map"] == "dam" and state["running"] is True

    async def reconnect_since(last: int) -> dict[str, Any]:
        communicator = WebsocketCommunicator(application, f"/ws/live/?since={last}", headers=[ORIGIN, owner_cookie])
        assert (await communicator.connect(timeout=10))[0]
        missed = await receive_until(communicator, lambda m: m["type"] == "event")
        await communicator.disconnect()
        return missed

    live_events_save(session=session, events=[kill(3)])  # while nobody was connected
    assert async_to_sync(reconnect_since)(new["id"])["event_id"] == "kill-3"

    async def outsider_sees_nothing() -> bool:
        communicator = WebsocketCommunicator(application, "/ws/live/", headers=[ORIGIN, outsider_cookie])
        assert (await communicator.connect(timeout=10))[0]
        empty = await communicator.receive_nothing(timeout=1.5)
        await communicator.disconnect()
        return empty

    assert async_to_sync(outsider_sees_nothing)()  # someone else's live session is not theirs to watch


@pytest.mark.production
def test_production_pushes_through_the_redis_layer_without_polling(owner, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from project.asgi import application

    monkeypatch.setattr(consumers, "POLL_SECONDS", 3600.0)  # only the first look at the rows, then pushes alone
    session = session_for(owner)
    owner_cookie = cookie_for(owner)

    async def scenario() -> dict[str, Any]:
        communicator = WebsocketCommunicator(application, "/ws/live/", headers=[ORIGIN, owner_cookie])
        assert (await communicator.connect(timeout=10))[0]
        await communicator.receive_nothing(timeout=0.5)
        await database_sync_to_async(live_broadcast)(
            {"type": "event", "id": 10**9, "job": session.job.pk, "event_id": "pushed", "event_type": "kill"})
        message = await receive_until(communicator, lambda m: m["type"] == "event")
        await communicator.disconnect()
        return message

    assert async_to_sync(scenario)()["event_id"] == "pushed"


def test_a_live_label_reaches_the_dashboard_as_a_label_message(owner) -> None:  # type: ignore[no-untyped-def]
    from labeling.vlm_models import WindowLabel
    from project.asgi import application

    session = session_for(owner)
    owner_cookie = cookie_for(owner)

    def labelled() -> WindowLabel:
        return WindowLabel.objects.create(
            recording=session.recording, job=session.job, video_path="/tmp/none.mkv", prompt_version="tactical_v1",
            spec=f"live{session.job.pk}:5x2/2", window_index=7, start=14.0, end=16.0,
            frames=[14.0, 14.4, 14.8, 15.2, 15.6], status=WindowLabel.Status.LABELLED, source=WindowLabel.Source.VLM,
            backend="ollama:test-model", label={"tactic": "kiting", "health": 73, "shield": 40})

    async def scenario() -> dict[str, Any]:
        communicator = WebsocketCommunicator(application, "/ws/live/", headers=[ORIGIN, owner_cookie])
        assert (await communicator.connect(timeout=10))[0]
        await database_sync_to_async(labelled)()
        message = await receive_until(communicator, lambda m: m["type"] == "label")
        await communicator.disconnect()
        return message

    message = async_to_sync(scenario)()
    assert message["job"] == session.job.pk and message["recording"] == session.recording.pk
    assert message["label"] == {"tactic": "kiting", "health": 73, "shield": 40}
    assert (message["start"], message["end"], message["window"], message["source"]) == (14.0, 16.0, 7, "vlm")
