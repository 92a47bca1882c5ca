"""The corrected event log: the detector's JSON format after review.

Deleted events leave, edits are applied (they live on the rows), manual additions are
included; `manually_reviewed` marks what a person looked at, per event and in metadata.
"""
from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from detection.models import DetectedEvent, ModelVersion, Recording
from detection.pipeline.event_log import EventLog, LoggedEvent, format_timestamp, real_time
from review.vocabulary import event_spec, game_profile


def recording_event_log(*, recording: Recording) -> EventLog:
    rows = (
        DetectedEvent.objects.filter(recording=recording)
        .exclude(review_status=DetectedEvent.ReviewStatus.DELETED)
        .order_by("video_offset_seconds", "id")
    )
    events = [
        LoggedEvent(
            event_id=row.event_id,
            type=row.event_type,
            video_offset_seconds=row.video_offset_seconds,
            data=_in_schema_order(row.event_type, row.data),
            timestamp=row.timestamp or real_time(recording.started_at, row.video_offset_seconds),
            frame_number=row.frame_number,
            confidence=row.confidence,
            thumbnail=os.path.basename(row.thumbnail.name or ""),
            manually_reviewed=row.manually_reviewed,
        )
        for row in rows
    ]
    reviewed = DetectedEvent.objects.filter(recording=recording, manually_reviewed=True).exists()
    metadata: dict[str, Any] = {
        "recording_id": recording.pk,
        "title": recording.title,
        "source": os.path.basename(recording.source_path or recording.uploaded_file.name or ""),
        "started_at": format_timestamp(recording.started_at),
        "duration_seconds": recording.duration_seconds,
        "fps": recording.avg_fps,
        "game_profile": game_profile().name,
        "models": _models_that_ran(rows),
        "review_threshold": settings.VODSCOPE_REVIEW_THRESHOLD,
        "manually_reviewed": reviewed,
        "exported_at": format_timestamp(timezone.now()),
    }
    return EventLog(metadata=metadata, events=events)


def _models_that_ran(rows: QuerySet[DetectedEvent]) -> list[dict[str, str]]:
    """The model versions behind the logged detections, named as `manage.py detect` names its model."""
    versions = ModelVersion.objects.filter(pk__in=rows.values("model_version")).order_by("created_at", "pk")
    return [{"name": version.name, "sha256": version.sha256} for version in versions]


def _in_schema_order(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The profile's field order (PostgreSQL's jsonb keeps none), anything it does not declare after."""
    spec = event_spec(event_type)
    order = [name for name in (spec.field_names if spec else ()) if name in data]
    return {name: data[name] for name in [*order, *sorted(set(data) - set(order))]}


def recording_event_log_json(*, recording: Recording) -> dict[str, Any]:
    return recording_event_log(recording=recording).to_json()
