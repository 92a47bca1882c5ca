"""The hosted contract refuses what it cannot store or what contradicts itself, as 400 `{"error": ...}`."""
from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from rest_framework.authtoken.models import Token

from importer.models import Kill, Raid, RaidStateTransition, StreamSession

pytestmark = pytest.mark.django_db

EDGES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]
RAID = {"map_name": "customs", "character_type": "pmc", "game_mode": "pve"}


class Hosted:
    def __init__(self, client: Any, token: str) -> None:
        self.client = client
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(path, data=json.dumps(body), content_type="application/json", **self.auth)

    def get(self, path: str, **params: str) -> Any:
        return self.client.get(path, params, **self.auth)


@pytest.fixture
def hosted(client, owner) -> Hosted:  # type: ignore[no-untyped-def]
    return Hosted(client, Token.objects.get_or_create(user=owner)[0].key)


def _assert_400(response: Any, needle: str = "") -> None:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert needle in response.json()["error"]


@pytest.mark.parametrize("edge", EDGES)
def test_timestamps_at_the_ends_of_the_range_are_400(hosted, edge):
    _assert_400(hosted.get("/api/sessions", started_at=edge), "out of range")
    _assert_400(hosted.post("/api/session", {"session_type": "stream", "started_at": edge}), "started_at")
    assert hosted.post("/api/session", {"session_type": "stream", "started_at": "2026-01-15T18:00:00Z"}).status_code == 201
    _assert_400(hosted.post("/api/raid", {**RAID, "timestamp": edge}), "timestamp")
    raid_id = hosted.post("/api/raid", {**RAID, "timestamp": "2026-01-15T18:05:00Z"}).json()["id"]
    _assert_400(hosted.post(f"/api/raid/{raid_id}/kill", {"enemy_type": "scav", "timestamp": edge}))
    _assert_400(hosted.post(f"/api/raid/{raid_id}/transition", {"to_state": "raid_active", "timestamp": edge}))
    _assert_400(hosted.post(f"/api/raid/{raid_id}/end", {"outcome": "killed", "timestamp": edge}))
    _assert_400(hosted.post("/api/session/end", {"timestamp": edge}))
    body = {"session": {"session_type": "stream", "started_at": edge}, "raids": []}
    _assert_400(hosted.post("/api/import/session", body), "session.started_at")


IMPORT: dict[str, Any] = {
    "session": {"session_type": "stream", "started_at": "2026-01-15T18:00:00Z", "ended_at": "2026-01-15T21:00:00Z"},
    "raids": [
        {**RAID, "started_at": "2026-01-15T18:06:00Z", "ended_at": "2026-01-15T18:38:00Z", "outcome": "survived",
         "transitions": [{"to_state": "raid_active", "timestamp": "2026-01-15T18:06:00Z"}],
         "kills": [{"enemy_type": "scav", "timestamp": "2026-01-15T18:12:00Z"}]},
        {**RAID, "started_at": "2026-01-15T18:50:00Z", "ended_at": "2026-01-15T19:10:00Z", "outcome": "killed"},
    ],
}


def _changed(path: list[Any], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(IMPORT)
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        (["raids", 1, "started_at"], "2026-01-15T18:30:00Z", "overlaps"),
        (["raids", 0, "ended_at"], "2026-01-15T18:55:00Z", "overlaps"),
        (["raids", 1, "started_at"], "2026-01-15T17:59:00Z", "earlier than"),
        (["session", "ended_at"], "2026-01-15T18:45:00Z", "raids[1].started_at 2026-01-15T18:50:00Z is after"),
        (["raids", 1, "ended_at"], "2026-01-15T21:30:00Z", "after the session's ended_at"),
        (["raids", 0, "kills", 0, "timestamp"], "2026-01-15T18:40:00Z", "after the raid's ended_at"),
        (["raids", 0, "transitions", 0, "timestamp"], "2026-01-15T18:39:00Z", "after the raid's ended_at"),
        (["raids", 1, "ended_at"], None, "left active"),
    ],
)
def test_a_whole_session_is_refused_where_the_single_calls_would_refuse(hosted, path, value, needle):
    body = _changed(path, value)
    if value is None:
        body["raids"][1].pop("outcome")
    _assert_400(hosted.post("/api/import/session", body), needle)
    assert not StreamSession.objects.exists() and not Raid.objects.exists()


def test_a_raid_left_active_is_fine_while_the_session_is_open(hosted):
    body = copy.deepcopy(IMPORT)
    body["session"].pop("ended_at")
    body["raids"][1].pop("ended_at")
    body["raids"][1].pop("outcome")
    assert hosted.post("/api/import/session", body).status_code == 201


def _open_session_with_ended_raid(hosted: Hosted) -> int:
    assert hosted.post("/api/session", {"session_type": "stream", "started_at": "2026-01-15T18:00:00Z"}).status_code == 201
    raid_id = hosted.post("/api/raid", {**RAID, "timestamp": "2026-01-15T18:05:00Z"}).json()["id"]
    assert hosted.post(f"/api/raid/{raid_id}/kill", {"enemy_type": "scav", "timestamp": "2026-01-15T18:20:00Z"}).status_code == 201
    return int(raid_id)


def test_single_calls_keep_raids_apart_and_events_inside_their_raid(hosted):
    raid_id = _open_session_with_ended_raid(hosted)
    _assert_400(hosted.post(f"/api/raid/{raid_id}/end", {"outcome": "killed", "timestamp": "2026-01-15T18:19:00Z"}),
                "kill")
    assert hosted.post(f"/api/raid/{raid_id}/end", {"outcome": "killed", "timestamp": "2026-01-15T18:30:00Z"}).status_code == 200
    _assert_400(hosted.post("/api/raid", {**RAID, "timestamp": "2026-01-15T18:29:00Z"}), "overlaps")
    _assert_400(hosted.post("/api/session/end", {"timestamp": "2026-01-15T18:25:00Z"}), "raid")
    assert hosted.post("/api/raid", {**RAID, "timestamp": "2026-01-15T18:40:00Z"}).status_code == 201
    ended = hosted.post("/api/session/end", {"timestamp": "2026-01-15T19:00:00Z"})
    assert ended.status_code == 409 and "still active" in ended.json()["error"]
    assert Raid.objects.count() == 2 and Kill.objects.count() == 1 and not RaidStateTransition.objects.exists()


def test_stats_never_show_a_negative_time_between_raids(hosted, owner):
    session = StreamSession.objects.create(owner=owner, session_type="stream", started_at="2026-01-15T18:00:00Z",
                                           ended_at="2026-01-15T21:00:00Z")
    # Rows written before the checks existed: the second raid starts inside the first.
    Raid.objects.create(session=session, **RAID, started_at="2026-01-15T18:10:00Z", ended_at="2026-01-15T18:40:00Z",
                        outcome="killed")
    Raid.objects.create(session=session, **RAID, started_at="2026-01-15T18:20:00Z", ended_at="2026-01-15T18:30:00Z",
                        outcome="killed")
    minutes = hosted.get("/api/stats").json()["avg_minutes_between_raids"]
    assert minutes is None or minutes >= 0
