"""Writing what a detect run found. One row per real event, whoever ran what before.

- Idempotent: one row per (recording, event_id); a resumed or repeated run rewrites its own rows.
- A person's work stays: a reviewed, edited, deleted or hand-added event is never overwritten.
  A new detection with its id, or of the same type within the matching tolerance, is stored
  linked to it (`duplicate_of`) and hidden, not added beside it; each kept event takes one per run.
- A new run replaces the unreviewed events of earlier runs: once the run has passed a point of
  the video, their rows there are superseded (hidden, `superseded_by` names the run), so a
  cancelled or failed run leaves the earlier events of the part it did not reach in place.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.files.base import ContentFile
from django.db.models import Q
from django.utils import timezone

from detection.evaluation import TOLERANCE_SECONDS
from detection.models import DetectedEvent, Job, ModelVersion, RejectedObservation, Recording
from detection.pipeline.types import Event, Rejection


def kept_by_review() -> Q:
    """Rows a person looked at or made: they outlive every re-detection."""
    return (
        Q(manually_reviewed=True)
        | Q(source=DetectedEvent.Source.MANUAL)
        | ~Q(review_status=DetectedEvent.ReviewStatus.UNREVIEWED)
    )


def _is_kept(row: DetectedEvent) -> bool:
    return bool(
        row.manually_reviewed
        or row.source == DetectedEvent.Source.MANUAL
        or row.review_status != DetectedEvent.ReviewStatus.UNREVIEWED
    )


def detected_events_save(
    *, recording: Recording, job: Job, version: ModelVersion, events: list[Event], rejections: list[Rejection]
) -> None:
    """Call inside the transaction that saves the run's checkpoint."""
    reviewed = list(
        DetectedEvent.objects.filter(recording=recording).filter(kept_by_review()).exclude(job=job)
        .only("pk", "event_type", "video_offset_seconds")
    )
    claimed = set(
        DetectedEvent.all_objects.filter(recording=recording, superseded_by=job, duplicate_of__isnull=False)
        .values_list("duplicate_of_id", flat=True)
    )
    for event in sorted(events, key=lambda e: (e.video_time, e.event_id)):
        event_id = event.event_id
        row = DetectedEvent.all_objects.filter(recording=recording, event_id=event_id).first()
        if row is not None and _is_kept(row):
            # The reviewed row is this very detection: linked under a name of its own, so that later
            # checkpoints (and a resumed run) know the reviewed event is taken.
            match: DetectedEvent | None = row
            event_id = f"{event.event_id}~job{job.pk}"[: DetectedEvent._meta.get_field("event_id").max_length]
        elif row is not None and row.duplicate_of_id is not None and row.superseded_by_id == job.pk:
            continue  # linked by this run already (written again on resume)
        else:
            match = _nearest_unclaimed(event, reviewed, claimed)
        hidden: dict[str, Any] = {"superseded_at": None, "superseded_by": None, "duplicate_of": None}
        if match is not None:
            claimed.add(match.pk)
            hidden = {"superseded_at": timezone.now(), "superseded_by": job, "duplicate_of": match}
        row, _ = DetectedEvent.all_objects.update_or_create(
            recording=recording,
            event_id=event_id,
            defaults={**_event_fields(event, recording=recording, job=job, version=version), **hidden},
        )
        if event.thumbnail and not row.thumbnail:
            row.thumbnail.save(f"{recording.pk}-{event.event_id}.jpg", ContentFile(event.thumbnail), save=True)
    for rejection in rejections:
        RejectedObservation.objects.update_or_create(
            recording=recording,
            observation_key=rejection.key,
            defaults=_rejection_fields(rejection, recording=recording, job=job),
        )


def detected_events_supersede(*, recording: Recording, job: Job, until: float | None) -> int:
    """Hide the unreviewed events of earlier runs up to `until` seconds of video (None: all of them)."""
    stale = (
        DetectedEvent.objects.filter(recording=recording)
        .exclude(job=job)
        .exclude(kept_by_review())
    )
    if until is not None:
        stale = stale.filter(video_offset_seconds__lte=until)
    return stale.update(superseded_at=timezone.now(), superseded_by=job)


def _nearest_unclaimed(event: Event, reviewed: list[DetectedEvent], claimed: set[int]) -> DetectedEvent | None:
    near = [
        row for row in reviewed
        if row.pk not in claimed and row.event_type == event.type
        and abs(row.video_offset_seconds - event.video_time) <= TOLERANCE_SECONDS
    ]
    return min(near, key=lambda row: abs(row.video_offset_seconds - event.video_time), default=None)


def _event_fields(event: Event, *, recording: Recording, job: Job, version: ModelVersion) -> dict[str, Any]:
    started = recording.started_at
    return {
        "job": job,
        "model_version": version,
        "event_type": event.type,
        "timestamp": started + timedelta(seconds=event.video_time) if started else None,
        "video_offset_seconds": event.video_time,
        "frame_number": event.frame_number,
        "confidence": event.confidence,
        "data": event.data,
        "evidence": event.evidence,
        "partial": False,
    }


def _rejection_fields(rejection: Rejection, *, recording: Recording, job: Job) -> dict[str, Any]:
    started = recording.started_at
    return {
        "job": job,
        "from_state": rejection.from_state,
        "observed_screen": rejection.observed_screen,
        "video_offset_seconds": rejection.video_time,
        "frame_number": rejection.frame_number,
        "timestamp": started + timedelta(seconds=rejection.video_time) if started else None,
        "confidence": rejection.confidence,
        "reason": rejection.reason[:255],
    }
