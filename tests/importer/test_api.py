"""The hosted API against the contract, over real HTTP: paths, JSON, status codes, errors, token auth."""
from __future__ import annotations

import pytest
import requests

from importer.models import Kill, Raid, StreamSession
from tests.importer.conftest import Api

pytestmark = pytest.mark.django_db(transaction=True)

RAID = {"map_name": "customs", "character_type": "pmc", "game_mode": "pve", "timestamp": "2026-01-15T18:06:10Z"}


def _open_raid(api: Api) -> int:
    assert api.post("/api/session", {"session_type": "stream", "started_at": "2026-01-15T18:00:00Z"}).status_code == 201
    response = api.post("/api/raid", RAID)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_requests_without_a_valid_token_get_401_json(live_server, token) -> None:  # type: ignore[no-untyped-def]
    bare = requests.get(f"{live_server.url}/api/stats", timeout=10)
    assert bare.status_code == 401 and "error" in bare.json()
    wrong = Api(live_server.url, "nope").get("/api/stats")
    assert wrong.status_code == 401 and "error" in wrong.json()
    assert Api(live_server.url, token, scheme="Token").get("/api/stats").status_code == 200
    assert Api(live_server.url, token, scheme="Bearer").get("/api/stats").status_code == 200


def test_a_whole_session_through_individual_calls(api: Api) -> None:
    started = api.post("/api/session", {"session_type": "stream", "notes": "from a.mkv", "started_at": "2026-01-15T18:00:00+01:00"})
    assert started.status_code == 201
    assert started.json()["started_at"] == "2026-01-15T17:00:00Z" and started.json()["ended_at"] is None
    assert api.get("/api/session/current").json()["id"] == started.json()["id"]
    raid = api.post("/api/raid", RAID).json()
    assert raid["outcome"] is None and raid["started_at"] == "2026-01-15T18:06:10Z"
    assert api.get("/api/raid/current").json()["id"] == raid["id"]
    first = api.post(f"/api/raid/{raid['id']}/transition", {"to_state": "raid_active", "timestamp": "2026-01-15T18:06:10Z"})
    second = api.post(f"/api/raid/{raid['id']}/transition", {"to_state": "survived", "timestamp": "2026-01-15T18:38:02Z"})
    assert first.status_code == 201 and first.json()["from_state"] is None
    assert second.json()["from_state"] == "raid_active"
    kill = api.post(f"/api/raid/{raid['id']}/kill", {"enemy_type": "scav", "weapon": "AK-74M", "headshot": True, "timestamp": "2026-01-15T18:12:34Z"})
    assert kill.status_code == 201 and kill.json()["killed_at"] == "2026-01-15T18:12:34Z" and kill.json()["headshot"] is True
    ended = api.post(f"/api/raid/{raid['id']}/end", {"outcome": "survived", "extract_location": "zb-1011", "timestamp": "2026-01-15T18:38:02Z"})
    assert ended.status_code == 200 and ended.json()["outcome"] == "survived"
    assert api.get("/api/raid/current").status_code == 404
    session_end = api.post("/api/session/end", {"timestamp": "2026-01-15T21:00:00Z"})
    assert session_end.status_code == 200 and session_end.json()["ended_at"] == "2026-01-15T21:00:00Z"
    assert api.get("/api/session/current").status_code == 404
    assert api.post("/api/session/end", {}).status_code == 404
    found = api.get("/api/sessions", started_at="2026-01-15T17:00:00Z").json()
    assert [s["id"] for s in found] == [started.json()["id"]]
    assert api.get("/api/sessions", started_at="2026-01-15T18:00:00+01:00").json() == found
    assert api.get("/api/sessions", started_at="2026-01-15T17:00:01Z").json() == []
    stats = api.get("/api/stats").json()
    assert stats["sessions"] == 1 and stats["raids"] == 1 and stats["kills"] == 1
    assert stats["survival_rate"] == 1.0 and stats["kd_ratio"] == 1.0
    assert stats["by_map"]["customs"]["raids"] == 1


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/api/session", {"session_type": "marathon"}, "session_type"),
        ("/api/session", {"session_type": "stream", "started_at": "yesterday"}, "started_at"),
        ("/api/session", {"session_type": "stream", "started_at": "2026-01-15T18:00:00"}, "offset"),
        ("/api/raid", {**RAID, "character_type": "boss"}, "character_type"),
        ("/api/raid", {**RAID, "game_mode": "arena"}, "game_mode"),
        ("/api/raid", {**RAID, "map_name": ""}, "map_name"),
    ],
)
def test_malformed_bodies_are_400_with_the_field_named(api: Api, path: str, body: dict, needle: str) -> None:
    if path == "/api/raid":
        api.post("/api/session", {"session_type": "stream", "started_at": "2026-01-15T18:00:00Z"})
    response = api.post(path, body)
    assert response.status_code == 400
    assert needle in response.json()["error"]


def test_raid_call_errors(api: Api) -> None:
    raid_id = _open_raid(api)
    bad_enum = api.post(f"/api/raid/{raid_id}/end", {"outcome": "won"})
    assert bad_enum.status_code == 400 and "outcome" in bad_enum.json()["error"]
    bad_state = api.post(f"/api/raid/{raid_id}/transition", {"to_state": "flying"})
    assert bad_state.status_code == 400
    early_kill = api.post(f"/api/raid/{raid_id}/kill", {"enemy_type": "scav", "timestamp": "2026-01-15T18:06:09Z"})
    assert early_kill.status_code == 400 and "earlier than" in early_kill.json()["error"]
    bad_time = api.post(f"/api/raid/{raid_id}/kill", {"enemy_type": "scav", "timestamp": "15/01/2026 18:10"})
    assert bad_time.status_code == 400
    assert api.post("/api/raid/999999/kill", {"enemy_type": "scav"}).status_code == 404
    assert api.post("/api/raid", RAID).status_code == 409  # a raid is active
    assert api.post("/api/session", {"session_type": "stream"}).status_code == 409  # a session is active
    assert api.post(f"/api/raid/{raid_id}/end", {"outcome": "killed", "timestamp": "2026-01-15T18:20:00Z"}).status_code == 200
    again = api.post(f"/api/raid/{raid_id}/end", {"outcome": "killed"})
    assert again.status_code == 409 and "already ended" in again.json()["error"]
    assert Kill.objects.count() == 0


def test_raid_without_a_session_is_409_and_not_json_body_is_400(api: Api) -> None:
    assert api.post("/api/raid", RAID).status_code == 409
    raw = api.session.post(api.base_url + "/api/session", data="{not json", timeout=10)
    assert raw.status_code == 400 and "JSON" in raw.json()["error"]


def test_each_token_owner_sees_only_their_data(api: Api, live_server, outsider) -> None:  # type: ignore[no-untyped-def]
    from rest_framework.authtoken.models import Token

    raid_id = _open_raid(api)
    other = Api(live_server.url, Token.objects.create(user=outsider).key)
    assert other.post(f"/api/raid/{raid_id}/kill", {"enemy_type": "scav"}).status_code == 404
    assert other.get("/api/raid/current").status_code == 404
    assert other.post("/api/session", {"session_type": "casual"}).status_code == 201
    assert other.get("/api/stats").json()["raids"] == 0


IMPORT = {
    "session": {"session_type": "stream", "started_at": "2026-01-15T18:00:00Z", "ended_at": "2026-01-15T21:00:00Z", "notes": "from x.mkv"},
    "raids": [
        {"map_name": "customs", "character_type": "pmc", "game_mode": "pve", "started_at": "2026-01-15T18:06:10Z",
         "ended_at": "2026-01-15T18:38:02Z", "outcome": "survived", "extract_location": "zb-1011",
         "transitions": [{"to_state": "raid_active", "timestamp": "2026-01-15T18:06:10Z"}],
         "kills": [{"enemy_type": "scav", "weapon": "AK-74M", "headshot": True, "timestamp": "2026-01-15T18:12:34Z"}]},
        {"map_name": "woods", "character_type": "scav", "game_mode": "pvp", "started_at": "2026-01-15T18:50:00Z",
         "ended_at": "2026-01-15T19:10:00Z", "outcome": "killed", "transitions": [], "kills": []},
    ],
}


def test_atomic_import_writes_all_then_refuses_the_duplicate(api: Api) -> None:
    created = api.post("/api/import/session", IMPORT)
    assert created.status_code == 201, created.text
    assert {k: v for k, v in created.json().items() if k != "session_id"} == {"raids": 2, "kills": 1, "transitions": 1}
    duplicate = api.post("/api/import/session", IMPORT)
    assert duplicate.status_code == 409 and "already exists" in duplicate.json()["error"]
    stats = api.get("/api/stats").json()
    assert (stats["raids"], stats["kills"], stats["survival_rate"], stats["kd_ratio"]) == (2, 1, 0.5, 1.0)
    assert stats["avg_minutes_between_raids"] == pytest.approx(11.97, abs=0.01)


def test_atomic_import_is_all_or_nothing(api: Api) -> None:
    body = {**IMPORT, "raids": [IMPORT["raids"][0], {**IMPORT["raids"][1], "kills": [{"enemy_type": "pmc", "timestamp": "2026-01-15T18:49:00Z"}]}]}
    refused = api.post("/api/import/session", body)
    assert refused.status_code == 400 and "raids[1]" in refused.json()["error"]
    assert (StreamSession.objects.count(), Raid.objects.count(), Kill.objects.count()) == (0, 0, 0)
