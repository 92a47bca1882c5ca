"""Review add/edit refuse a time that is not inside the recording, with a message, and store nothing."""
from __future__ import annotations

import pytest

from detection.models import DetectedEvent
from review.models import EventChange
from tests.conftest import PASSWORD
from tests.review.factories import EventFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
KILL = {"event_type": "kill", "kill-enemy_type": "scav", "kill-weapon": "AKM"}
BAD_OFFSETS = ["1e12", "1e308", "nan", "inf", "-inf", "-1", "5000", "1e400", "0x10", ""]


@pytest.fixture
def owner_client(client, owner):  # type: ignore[no-untyped-def]
    client.login(username=owner.username, password=PASSWORD)
    return client


def test_adding_at_a_time_outside_the_recording_is_refused(owner_client, recording):
    recording.duration_seconds = 60.0
    recording.save()
    url = f"/recordings/{recording.pk}/review/events/add/"
    for offset in BAD_OFFSETS:
        response = owner_client.post(url, {**KILL, "video_offset_seconds": offset}, **HTMX)
        assert response.status_code == 200, offset
        assert b'class="error"' in response.content, offset
    assert not DetectedEvent.objects.filter(recording=recording).exists()
    assert not EventChange.objects.exists()


def test_editing_to_a_time_outside_the_recording_is_refused(owner_client, recording):
    recording.duration_seconds = 60.0
    recording.save()
    event = EventFactory(recording=recording, video_offset_seconds=1.0)
    url = f"/recordings/{recording.pk}/review/events/{event.pk}/edit/"
    for offset in BAD_OFFSETS:
        response = owner_client.post(url, {**KILL, "video_offset_seconds": offset}, **HTMX)
        assert response.status_code == 200, offset
        assert b'class="error"' in response.content, offset
    event.refresh_from_db()
    assert event.video_offset_seconds == 1.0 and event.review_status == "unreviewed"
    assert not EventChange.objects.exists()


def test_past_the_end_names_the_end(owner_client, recording):
    recording.duration_seconds = 60.0
    recording.save()
    url = f"/recordings/{recording.pk}/review/events/add/"
    response = owner_client.post(url, {**KILL, "video_offset_seconds": "5000"}, **HTMX)
    assert b"past the end of the recording" in response.content


def test_an_event_already_past_the_end_can_still_be_edited_in_place(owner_client, recording):
    recording.duration_seconds = 60.0
    recording.save()
    event = EventFactory(recording=recording, video_offset_seconds=61.0)
    url = f"/recordings/{recording.pk}/review/events/{event.pk}/edit/"
    response = owner_client.post(url, {**KILL, "video_offset_seconds": "61.0", "kill-enemy_type": "pmc"}, **HTMX)
    assert response.status_code == 200
    event.refresh_from_db()
    assert event.review_status == "edited" and event.data["enemy_type"] == "pmc"


def test_the_add_form_opens_inside_the_recording_whatever_t_says(owner_client, recording):
    recording.duration_seconds = 60.0
    recording.save()
    for t in ["inf", "nan", "1e400", "9999999", "-5"]:
        response = owner_client.get(f"/recordings/{recording.pk}/review/events/add/?t={t}", **HTMX)
        assert response.status_code == 200
        assert b'value="60.0"' in response.content or b'value="0.0"' in response.content, t


def test_a_time_the_clock_cannot_hold_is_refused(owner_client, recording):
    from datetime import UTC, datetime

    recording.duration_seconds = 60.0
    recording.started_at = datetime(9999, 12, 31, 23, 59, 30, tzinfo=UTC)
    recording.save()
    url = f"/recordings/{recording.pk}/review/events/add/"
    response = owner_client.post(url, {**KILL, "video_offset_seconds": "45"}, **HTMX)
    assert response.status_code == 200
    added = DetectedEvent.objects.filter(recording=recording).first()
    assert added is None or added.timestamp is None
