"""Reviewing through /api/v1/events/: the page's services, audit trail, undo and permissions."""
from __future__ import annotations

import pytest

from detection.models import DetectedEvent
from review.models import EventChange
from tests.conftest import PASSWORD
from tests.review.factories import EventFactory, write_second_game_profile

pytestmark = pytest.mark.django_db
KILL = {"enemy_type": "boss", "weapon": "SVDS", "headshot": True}


def events_url(event: DetectedEvent | None = None, suffix: str = "") -> str:
    return f"/api/v1/events/{event.pk}/{suffix}" if event else f"/api/v1/events/{suffix}"


def test_patch_approves_deletes_and_edits_with_an_audit_trail(api_client, reviewer, recording):
    event = EventFactory(recording=recording, video_offset_seconds=1.0)
    client = api_client(reviewer)
    approved = client.patch(events_url(event), {"review_status": "approved"}, format="json")
    assert approved.status_code == 200 and approved.json()["review_status"] == "approved"
    edited = client.patch(events_url(event), {"data": KILL, "video_offset_seconds": 2.5}, format="json")
    assert edited.status_code == 200
    body = edited.json()
    assert body["review_status"] == "edited" and body["data"] == KILL and body["video_offset_seconds"] == 2.5
    assert body["manually_reviewed"] is True and body["reviewed_by"] == reviewer.pk
    deleted = client.delete(events_url(event))
    assert deleted.status_code == 200 and deleted.json()["review_status"] == "deleted"
    assert DetectedEvent.objects.filter(pk=event.pk).exists()  # soft
    restored = client.post(events_url(event, "restore/"))
    assert restored.json()["review_status"] == "edited"
    changes = EventChange.objects.filter(event=event).order_by("id")
    assert [(c.action, c.user_id) for c in changes] == [
        ("approve", reviewer.pk), ("edit", reviewer.pk), ("delete", reviewer.pk), ("restore", reviewer.pk),
    ]  # fmt: skip
    assert changes[1].before["data"]["enemy_type"] == "scav" and changes[1].after["video_offset_seconds"] == 2.5


def test_post_adds_an_event_by_hand_and_undo_takes_it_back(api_client, owner, recording):
    client = api_client(owner)
    added = client.post(
        events_url(), {"recording": recording.pk, "event_type": "kill", "data": KILL, "video_offset_seconds": 3.0},
        format="json",
    )  # fmt: skip
    assert added.status_code == 201
    body = added.json()
    assert body["source"] == "manual" and body["review_status"] == "approved" and body["data"] == KILL
    undone = client.post(events_url(suffix="undo/"), {"recording": recording.pk}, format="json")
    assert undone.status_code == 200 and undone.json()["review_status"] == "deleted"
    assert client.post(events_url(suffix="undo/"), {"recording": recording.pk}, format="json").status_code == 204


def test_the_api_and_the_page_share_one_undo(api_client, client, owner, recording):
    event = EventFactory(recording=recording)
    api_client(owner).patch(events_url(event), {"review_status": "deleted"}, format="json")
    client.login(username=owner.username, password=PASSWORD)
    assert client.post(f"/recordings/{recording.pk}/review/undo/", HTTP_HX_REQUEST="true").status_code == 200
    assert DetectedEvent.objects.get(pk=event.pk).review_status == "unreviewed"
    approved = client.post(f"/recordings/{recording.pk}/review/events/{event.pk}/approve/", HTTP_HX_REQUEST="true")
    assert approved.status_code == 200
    undone = api_client(owner).post(events_url(suffix="undo/"), {"recording": recording.pk}, format="json")
    assert undone.json()["review_status"] == "unreviewed"


def test_reviewers_may_outsiders_get_404_and_change_nothing(api_client, reviewer, outsider, staff, recording):
    event = EventFactory(recording=recording)
    stranger = api_client(outsider)
    assert stranger.patch(events_url(event), {"review_status": "approved"}, format="json").status_code == 404
    assert stranger.delete(events_url(event)).status_code == 404
    assert stranger.post(events_url(event, "restore/")).status_code == 404
    new = {"recording": recording.pk, "event_type": "kill", "data": KILL, "video_offset_seconds": 1.0}
    assert stranger.post(events_url(), new, format="json").status_code == 404
    assert stranger.post(events_url(suffix="undo/"), {"recording": recording.pk}, format="json").status_code == 404
    assert not EventChange.objects.exists() and DetectedEvent.objects.count() == 1
    assert api_client().patch(events_url(event), {"review_status": "approved"}, format="json").status_code == 401
    for user in (reviewer, staff):
        assert api_client(user).patch(events_url(event), {"review_status": "approved"}, format="json").status_code == 200
    assert api_client(reviewer).put(events_url(event), new, format="json").status_code == 405


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"data": {"enemy_type": "dragon", "weapon": "AKM", "headshot": False}}, "enemy_type 'dragon' is not one of"),
        ({"data": {"enemy_type": "scav"}}, "weapon is required"),
        ({"event_type": "dance"}, "event type 'dance' is not one of"),
        ({"data": ["scav"]}, "data: Expected a dictionary"),
        ({"video_offset_seconds": "soon"}, "video_offset_seconds: A valid number is required"),
        ({"video_offset_seconds": 99.0}, "past the end of the recording"),
        ({"video_offset_seconds": -1}, "give a number of seconds from 0"),
        ({"review_status": "edited"}, "review_status:"),
        ({"review_status": "approved", "data": KILL}, "not both"),
        ({}, "nothing to change"),
    ],
)
def test_bad_patches_answer_400_with_the_reason_and_change_nothing(api_client, owner, recording, body, reason):
    event = EventFactory(recording=recording, video_offset_seconds=1.0)
    response = api_client(owner).patch(events_url(event), body, format="json")
    assert response.status_code == 400 and reason in response.json()["detail"], response.json()
    event.refresh_from_db()
    assert event.review_status == "unreviewed" and event.video_offset_seconds == 1.0 and not EventChange.objects.exists()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"event_type": "kill", "data": {"enemy_type": "boss"}, "video_offset_seconds": 1}, "weapon is required"),
        ({"event_type": "kill", "data": KILL, "video_offset_seconds": 1e9}, "past the end of the recording"),
        ({"event_type": "kill", "data": KILL}, "video_offset_seconds: This field is required"),
        ({"event_type": "kill", "data": KILL, "video_offset_seconds": 1, "recording": "x"}, "recording: A valid integer"),
    ],
)
def test_bad_additions_answer_400_and_add_nothing(api_client, owner, recording, body, reason):
    response = api_client(owner).post(events_url(), {"recording": recording.pk, **body}, format="json")
    assert response.status_code == 400 and reason in response.json()["detail"], response.json()
    assert not DetectedEvent.objects.exists()


def test_a_nan_offset_is_refused(api_client, owner, recording):
    event = EventFactory(recording=recording, video_offset_seconds=1.0)
    response = api_client(owner).patch(
        events_url(event), b'{"video_offset_seconds": NaN}', content_type="application/json"
    )
    assert response.status_code == 400 and "detail" in response.json()
    assert DetectedEvent.objects.get(pk=event.pk).video_offset_seconds == 1.0


def test_the_api_checks_against_the_active_profile(api_client, owner, recording, settings, tmp_path):
    settings.VODSCOPE_GAME_PROFILE = str(write_second_game_profile(tmp_path / "second.yaml"))
    client = api_client(owner)
    loot = {"recording": recording.pk, "event_type": "loot", "data": {"item": "gold"}, "video_offset_seconds": 1}
    assert client.post(events_url(), loot, format="json").status_code == 201
    demo_kill = {**loot, "event_type": "kill", "data": KILL}
    refused = client.post(events_url(), demo_kill, format="json")
    assert refused.status_code == 400 and "enemy_type 'boss' is not one of ['zombie', 'wraith', 'lich']" in refused.json()["detail"]


def test_the_schema_documents_event_reviews(client, owner):
    client.force_login(owner)
    paths = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/events/{id}/"])
    assert "post" in paths["/api/v1/events/"] and "post" in paths["/api/v1/events/undo/"]
    assert "post" in paths["/api/v1/events/{id}/restore/"] and "put" not in paths["/api/v1/events/{id}/"]
