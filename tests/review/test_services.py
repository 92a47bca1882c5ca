from __future__ import annotations

import pytest

from detection.models import DetectedEvent
from review import services
from review.models import EventChange
from tests.review.factories import EventFactory

pytestmark = pytest.mark.django_db
Status = DetectedEvent.ReviewStatus
BOSS_KILL = {"enemy_type": "boss", "weapon": "SVDS", "headshot": False}


def test_approve_marks_reviewed_and_records_the_change(recording, reviewer):
    event = EventFactory(recording=recording)
    services.event_approve(event=event, user=reviewer)
    event.refresh_from_db()
    assert event.review_status == Status.APPROVED
    assert event.manually_reviewed and event.reviewed_by == reviewer and event.reviewed_at is not None
    change = EventChange.objects.get(event=event)
    assert change.action == "approve" and change.user == reviewer and change.recording == recording
    assert change.before["review_status"] == "unreviewed" and change.after["review_status"] == "approved"
    assert change.before["manually_reviewed"] is False


def test_delete_is_soft_and_restore_brings_back_the_previous_state(recording, owner):
    event = EventFactory(recording=recording)
    services.event_approve(event=event, user=owner)
    services.event_delete(event=event, user=owner)
    assert DetectedEvent.objects.get(pk=event.pk).review_status == Status.DELETED
    services.event_restore(event=event, user=owner)
    assert DetectedEvent.objects.get(pk=event.pk).review_status == Status.APPROVED


def test_update_changes_type_data_and_time(recording, owner):
    event = EventFactory(recording=recording, video_offset_seconds=2.0)
    services.event_update(
        event=event, user=owner, event_type="raid_end", data={"outcome": "mia"}, video_offset_seconds=2.5
    )
    event.refresh_from_db()
    assert (event.event_type, event.data, event.video_offset_seconds) == ("raid_end", {"outcome": "mia"}, 2.5)
    assert event.review_status == Status.EDITED and event.manually_reviewed
    change = EventChange.objects.get(event=event)
    assert change.before["event_type"] == "kill" and change.after["data"] == {"outcome": "mia"}


def test_add_creates_an_approved_manual_event(recording, owner):
    event = services.event_add(
        recording=recording, user=owner, event_type="kill", data=BOSS_KILL | {"enemy_type": "pmc"}, video_offset_seconds=1.2
    )
    assert event.source == DetectedEvent.Source.MANUAL and event.review_status == Status.APPROVED
    assert event.frame_number == 30  # 1.2 s at 25 fps
    assert event.event_id.startswith("manual-")
    assert EventChange.objects.get(event=event).action == "add"


def test_undo_walks_back_the_users_own_changes(recording, owner, reviewer):
    first = EventFactory(recording=recording)
    second = EventFactory(recording=recording)
    services.event_approve(event=first, user=owner)
    services.event_update(event=second, user=owner, event_type="kill", data=BOSS_KILL)
    services.event_delete(event=first, user=reviewer)  # someone else's: not undone by the owner

    undone = services.review_undo_last(recording=recording, user=owner)
    assert undone == second
    second.refresh_from_db()
    assert second.data["enemy_type"] == "scav" and second.review_status == Status.UNREVIEWED
    assert not second.manually_reviewed

    # The owner's approve of `first` was overtaken by the reviewer's delete: undo leaves it alone.
    assert services.review_undo_last(recording=recording, user=owner) is None
    first.refresh_from_db()
    assert first.review_status == Status.DELETED
    undo_row = EventChange.objects.get(action="undo", user=owner)
    assert undo_row.reverts.event == second


def test_repeated_undo_walks_back_a_sequence(recording, owner):
    event = EventFactory(recording=recording)
    services.event_approve(event=event, user=owner)
    services.event_update(event=event, user=owner, event_type="kill", data=BOSS_KILL)
    services.event_delete(event=event, user=owner)
    for expected in ("edited", "approved", "unreviewed"):
        services.review_undo_last(recording=recording, user=owner)
        event.refresh_from_db()
        assert event.review_status == expected
    assert event.data["enemy_type"] == "scav"
    assert services.review_undo_last(recording=recording, user=owner) is None


def test_undo_of_an_addition_deletes_it_softly(recording, owner):
    event = services.event_add(recording=recording, user=owner, event_type="kill", data=BOSS_KILL, video_offset_seconds=0)
    services.review_undo_last(recording=recording, user=owner)
    event.refresh_from_db()
    assert event.review_status == Status.DELETED


def test_restore_leaves_an_event_that_is_not_deleted_alone(recording, owner):
    event = EventFactory(recording=recording)
    services.event_approve(event=event, user=owner)
    services.event_restore(event=event, user=owner)
    event.refresh_from_db()
    assert event.review_status == Status.APPROVED
    assert EventChange.objects.filter(event=event).count() == 1


@pytest.mark.parametrize(
    ("event_type", "data", "message"),
    [
        ("kill", {"enemy_type": "dragon", "weapon": "AKM", "headshot": False}, "enemy_type 'dragon' is not one of"),
        ("kill", {"enemy_type": "scav", "headshot": False}, "weapon is required"),
        ("kill", {"enemy_type": "scav", "weapon": "AKM", "headshot": "yes"}, "headshot must be true or false"),
        ("kill", BOSS_KILL | {"loot": "gold"}, "kill has no field 'loot'"),
        ("dance", {}, "event type 'dance' is not one of"),
        ("kill", ["scav"], "data must be an object"),
    ],
)
def test_edits_and_additions_outside_the_schema_are_refused_and_not_stored(recording, owner, event_type, data, message):
    event = EventFactory(recording=recording)
    with pytest.raises(services.EventInvalid, match=message):
        services.event_update(event=event, user=owner, event_type=event_type, data=data)
    with pytest.raises(services.EventInvalid, match=message):
        services.event_add(recording=recording, user=owner, event_type=event_type, data=data, video_offset_seconds=1.0)
    event.refresh_from_db()
    assert event.review_status == Status.UNREVIEWED and event.data["enemy_type"] == "scav"
    assert not EventChange.objects.exists() and DetectedEvent.objects.filter(recording=recording).count() == 1
