"""Reviewer writes: every action changes one event, marks it reviewed and records an EventChange.

`review_undo_last` walks a user's changes on a recording backwards, so `u` pressed
repeatedly keeps undoing. Undo puts the `before` snapshot back and is itself recorded.
"""
from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from detection.models import DetectedEvent, Recording
from labeling.datasets.annotations import annotation_sync_event
from review.models import EventChange
from review.vocabulary import event_problems

Status = DetectedEvent.ReviewStatus
SNAPSHOT_FIELDS = (
    "event_type",
    "data",
    "video_offset_seconds",
    "timestamp",
    "review_status",
    "manually_reviewed",
    "reviewed_by_id",
    "reviewed_at",
)
_TIME_FIELDS = ("timestamp", "reviewed_at")
_COMPARED_FIELDS = ("event_type", "data", "video_offset_seconds", "review_status")
UNDO_LOOKBACK = 50
# Where a recording's duration is unknown, a time still has to fit the clock: about 11.5 days.
UNKNOWN_DURATION_LIMIT = 1e6


class EventInvalid(ValueError):
    """An edit or addition the review refuses (type or data outside the profile's schema); nothing is saved."""


def checked_offset(recording: Recording, offset: float) -> float:
    """A time inside the recording: finite, from 0 up to its end (one frame of slack for the player's clock)."""
    if not math.isfinite(offset) or offset < 0:
        raise EventInvalid(f"time {offset}: give a number of seconds from 0")
    duration = recording.duration_seconds
    end = duration + 1.0 / (recording.avg_fps or 10.0) if duration else UNKNOWN_DURATION_LIMIT
    if offset > end:
        raise EventInvalid(f"time {offset:g} s is past the end of the recording ({duration or end:g} s)")
    return offset


def _check_schema(event_type: str, data: Any) -> None:
    problems = event_problems(event_type, data)
    if problems:
        raise EventInvalid("; ".join(problems))


def event_snapshot(event: DetectedEvent) -> dict[str, Any]:
    snapshot = {name: getattr(event, name) for name in SNAPSHOT_FIELDS}
    for name in _TIME_FIELDS:
        moment = snapshot[name]
        snapshot[name] = moment.isoformat() if moment is not None else None
    return snapshot


def _apply_snapshot(event: DetectedEvent, snapshot: dict[str, Any]) -> None:
    for name in SNAPSHOT_FIELDS:
        value = snapshot.get(name)
        if name in _TIME_FIELDS and value is not None:
            value = datetime.fromisoformat(value)
        setattr(event, name, value)


def _save_reviewed(event: DetectedEvent, *, user: Any, action: str, before: dict[str, Any]) -> DetectedEvent:
    event.manually_reviewed = True
    event.reviewed_by = user
    event.reviewed_at = timezone.now()
    event.save(update_fields=[*(n.removesuffix("_id") for n in SNAPSHOT_FIELDS), "updated_at"])
    EventChange.objects.create(
        event=event,
        recording_id=event.recording_id,
        user=user,
        action=action,
        before=before,
        after=event_snapshot(event),
    )
    annotation_sync_event(event=event, user=user)  # the event's frame follows its review (training data)
    return event


@transaction.atomic
def event_approve(*, event: DetectedEvent, user: Any) -> DetectedEvent:
    before = event_snapshot(event)
    event.review_status = Status.APPROVED
    return _save_reviewed(event, user=user, action=EventChange.Action.APPROVE, before=before)


@transaction.atomic
def event_delete(*, event: DetectedEvent, user: Any) -> DetectedEvent:
    """Soft: the row stays (for undo and history) and leaves the export."""
    before = event_snapshot(event)
    event.review_status = Status.DELETED
    return _save_reviewed(event, user=user, action=EventChange.Action.DELETE, before=before)


@transaction.atomic
def event_restore(*, event: DetectedEvent, user: Any) -> DetectedEvent:
    """Back to the review state the event had before it was deleted; an event not deleted is left alone."""
    if event.review_status != Status.DELETED:
        return event
    before = event_snapshot(event)
    last_delete = (
        EventChange.objects.filter(event=event, action=EventChange.Action.DELETE).values_list("before", flat=True).first()
    )
    previous = (last_delete or {}).get("review_status", Status.UNREVIEWED)
    event.review_status = Status.APPROVED if previous == Status.DELETED else previous
    return _save_reviewed(event, user=user, action=EventChange.Action.RESTORE, before=before)


@transaction.atomic
def event_update(
    *,
    event: DetectedEvent,
    user: Any,
    event_type: str,
    data: dict[str, Any],
    video_offset_seconds: float | None = None,
) -> DetectedEvent:
    """Type, data and time as the reviewer says; data that breaks the profile's schema raises EventInvalid."""
    _check_schema(event_type, data)
    if video_offset_seconds is not None and video_offset_seconds != event.video_offset_seconds:
        # Only a changed time is checked: an event the detector placed past the end stays editable.
        checked_offset(event.recording, video_offset_seconds)
    before = event_snapshot(event)
    event.event_type = event_type
    event.data = data
    if video_offset_seconds is not None and video_offset_seconds != event.video_offset_seconds:
        event.video_offset_seconds = video_offset_seconds
        event.timestamp = _real_time(event.recording, video_offset_seconds) or event.timestamp
    event.review_status = Status.EDITED
    return _save_reviewed(event, user=user, action=EventChange.Action.EDIT, before=before)


@transaction.atomic
def event_add(
    *,
    recording: Recording,
    user: Any,
    event_type: str,
    data: dict[str, Any],
    video_offset_seconds: float,
) -> DetectedEvent:
    """A reviewer's own event: approved by its author, full confidence, source=manual; checked like an edit."""
    _check_schema(event_type, data)
    checked_offset(recording, video_offset_seconds)
    fps = recording.avg_fps or 0.0
    event = DetectedEvent(
        recording=recording,
        event_id=f"manual-{uuid.uuid4().hex[:12]}",
        event_type=event_type,
        data=data,
        video_offset_seconds=max(0.0, video_offset_seconds),
        frame_number=round(max(0.0, video_offset_seconds) * fps),
        timestamp=_real_time(recording, video_offset_seconds),
        confidence=1.0,
        source=DetectedEvent.Source.MANUAL,
        review_status=Status.APPROVED,
        manually_reviewed=True,
        reviewed_by=user,
        reviewed_at=timezone.now(),
    )
    event.save()
    EventChange.objects.create(
        event=event, recording=recording, user=user, action=EventChange.Action.ADD, after=event_snapshot(event)
    )
    annotation_sync_event(event=event, user=user)  # no box yet: its frame asks for one in the queue
    return event


@transaction.atomic
def review_undo_last(*, recording: Recording, user: Any) -> DetectedEvent | None:
    """Revert the user's latest change on this recording that nobody has overtaken; None when none is left.

    A change whose event was changed again since (by someone else) is skipped: putting its
    `before` back would silently wipe the later change.
    """
    candidates = (
        EventChange.objects.select_for_update()
        .select_related("event")
        .filter(recording=recording, user=user, undone_at__isnull=True)
        .exclude(action=EventChange.Action.UNDO)
        .order_by("-id")[:UNDO_LOOKBACK]
    )
    change = next((c for c in candidates if _still_current(c)), None)
    if change is None:
        return None
    event = change.event
    before = event_snapshot(event)
    if change.action == EventChange.Action.ADD:
        # It did not exist before: undoing the addition deletes it (softly, so history keeps its row).
        event.review_status = Status.DELETED
    else:
        _apply_snapshot(event, change.before)
    event.save(update_fields=[*(n.removesuffix("_id") for n in SNAPSHOT_FIELDS), "updated_at"])
    change.undone_at = timezone.now()
    change.save(update_fields=["undone_at"])
    EventChange.objects.create(
        event=event,
        recording=recording,
        user=user,
        action=EventChange.Action.UNDO,
        before=before,
        after=event_snapshot(event),
        reverts=change,
    )
    annotation_sync_event(event=event, user=user)
    return event


def _still_current(change: EventChange) -> bool:
    current = event_snapshot(change.event)
    return all(current[name] == change.after.get(name) for name in _COMPARED_FIELDS)


def _real_time(recording: Recording, offset: float) -> datetime | None:
    if recording.started_at is None:
        return None
    try:
        return recording.started_at + timedelta(seconds=offset)
    except OverflowError:
        # A start set at the end of the calendar: the event keeps its offset and goes without a clock time.
        return None
