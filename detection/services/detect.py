"""Detect jobs: run the pipeline on a Recording, write DetectedEvent rows idempotently, resume
from checkpoints, keep the events of a run that failed (marked partial).
"""
from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from detection.jobs import JobCancelled, JobProgress, job_create
from detection.models import DetectedEvent, Job, ModelVersion, RejectedObservation, Recording
from detection.pipeline.detector import ClassMismatchError
from detection.pipeline.event_log import format_timestamp
from detection.pipeline.factory import (
    BUNDLED_MODEL,
    DetectSettings,
    build_pipeline,
    detector_for,
    file_sha256,
    open_source,
)
from detection.pipeline.profile import GameProfile, load_profile
from detection.pipeline.source import VideoSourceError
from detection.pipeline.types import Event, Rejection

logger = logging.getLogger(__name__)


class DetectError(Exception):
    """A detect run that cannot start or did not finish; the message is shown on the job."""


def detect_params_clean(params: dict[str, Any] | None) -> dict[str, Any]:
    """Known keys with checked values; unknown keys are refused so typos don't pass silently."""
    raw = dict(params or {})
    known = {"detection_fps", "confidence_threshold", "model_version", "model_path", "gate", "two_pass", "skip_nonref"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise DetectError(f"unknown detect parameters {unknown}; known: {sorted(known)}")
    clean: dict[str, Any] = {}
    if raw.get("detection_fps") is not None:
        fps = float(raw["detection_fps"])
        if not 0 < fps <= 60:
            raise DetectError(f"detection_fps={fps} must lie in (0, 60]")
        clean["detection_fps"] = fps
    if raw.get("confidence_threshold") is not None:
        confidence = float(raw["confidence_threshold"])
        if not 0 < confidence < 1:
            raise DetectError(f"confidence_threshold={confidence} must lie in (0, 1)")
        clean["confidence_threshold"] = confidence
    if raw.get("model_version") is not None:
        clean["model_version"] = int(raw["model_version"])
    if raw.get("model_path"):
        clean["model_path"] = str(raw["model_path"])
    for flag in ("gate", "two_pass", "skip_nonref"):
        if raw.get(flag) is not None:
            clean[flag] = bool(raw[flag])
    return clean


def detect_job_start(*, recording: Recording, user: Any, params: dict[str, Any] | None = None) -> Job:
    return job_create(kind=Job.Kind.DETECT, recording=recording, created_by=user, params=detect_params_clean(params))


def model_version_register(*, path: str | Path, profile: GameProfile) -> ModelVersion:
    """The ModelVersion row for an ONNX file (by sha256), created on first use and made active if
    no other is. A model whose classes don't match the profile is refused with both lists."""
    model_path = Path(path).resolve()
    if not model_path.is_file():
        raise DetectError(f"no model file at {model_path}")
    digest = file_sha256(model_path)
    existing = ModelVersion.objects.filter(sha256=digest, profile=profile.name).first()
    if existing is not None:
        if list(existing.classes) != list(profile.classes):
            raise ClassMismatchError(existing.classes, profile.classes)
        return existing
    detector = detector_for(profile, DetectSettings(model_path=str(model_path)))
    with transaction.atomic():
        version, _ = ModelVersion.objects.get_or_create(
            sha256=digest,
            profile=profile.name,
            defaults={
                "name": f"{model_path.stem}-{digest[:8]}",
                "onnx_file": str(model_path),
                "classes": list(detector.classes),
                "image_size": detector.image_size,
            },
        )
        if not ModelVersion.objects.filter(profile=profile.name, active=True).exists():
            ModelVersion.objects.filter(pk=version.pk).update(active=True)
            version.active = True
    return version


def model_version_for(*, params: dict[str, Any], profile: GameProfile) -> ModelVersion:
    """An explicit model (row or file) if asked for, else the profile's active one, else the bundled one."""
    if "model_version" in params:
        version = ModelVersion.objects.filter(pk=params["model_version"]).first()
        if version is None:
            raise DetectError(f"no model version #{params['model_version']}")
        if list(version.classes) != list(profile.classes):
            raise ClassMismatchError(version.classes, profile.classes)
        return version
    if "model_path" in params:
        return model_version_register(path=params["model_path"], profile=profile)
    active = ModelVersion.objects.filter(profile=profile.name, active=True).first()
    if active is not None and Path(active.onnx_file).is_file():
        return active
    return model_version_register(path=BUNDLED_MODEL, profile=profile)


def detect_settings(*, params: dict[str, Any], version: ModelVersion) -> DetectSettings:
    return DetectSettings(
        model_path=version.onnx_file,
        detection_fps=float(params.get("detection_fps", settings.VODSCOPE_DETECTION_FPS)),
        confidence=params.get("confidence_threshold"),
        providers=tuple(settings.VODSCOPE_ONNX_PROVIDERS),
        use_gate=bool(params.get("gate", True)),
        two_pass=bool(params.get("two_pass", False)),
        skip_nonref=bool(params.get("skip_nonref", True)),
    )


def _event_defaults(
    event: Event, *, recording: Recording, job: Job, version: ModelVersion
) -> dict[str, Any]:
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


def detected_events_save(
    *, recording: Recording, job: Job, version: ModelVersion, events: list[Event], rejections: list[Rejection]
) -> None:
    """Idempotent: one row per (recording, event_id); a row a reviewer touched keeps their work."""
    for event in events:
        row = DetectedEvent.objects.filter(recording=recording, event_id=event.event_id).first()
        if row is not None and row.manually_reviewed:
            continue
        row, _ = DetectedEvent.objects.update_or_create(
            recording=recording,
            event_id=event.event_id,
            defaults=_event_defaults(event, recording=recording, job=job, version=version),
        )
        if event.thumbnail and not row.thumbnail:
            row.thumbnail.save(f"{recording.pk}-{event.event_id}.jpg", ContentFile(event.thumbnail), save=True)
    for rejection in rejections:
        started = recording.started_at
        RejectedObservation.objects.update_or_create(
            recording=recording,
            observation_key=rejection.key,
            defaults={
                "job": job,
                "from_state": rejection.from_state,
                "observed_screen": rejection.observed_screen,
                "video_offset_seconds": rejection.video_time,
                "frame_number": rejection.frame_number,
                "timestamp": started + timedelta(seconds=rejection.video_time) if started else None,
                "confidence": rejection.confidence,
                "reason": rejection.reason[:255],
            },
        )


def detect_job_handle(job: Job, progress: JobProgress) -> dict[str, Any]:
    """The detect job's handler (see detection.jobs.job_run): resumes from the job's checkpoint."""
    recording = job.recording
    if recording is None:
        raise DetectError("a detect job needs a recording")
    params = detect_params_clean(job.params)
    profile = load_profile(settings.VODSCOPE_GAME_PROFILE)
    version = model_version_for(params=params, profile=profile)
    detect = detect_settings(params=params, version=version)
    pipeline = build_pipeline(profile, detect)
    Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.PROCESSING, error="")
    try:
        source, _ = open_source(recording.video_path, pipeline, detect, started_at=recording.started_at)
    except VideoSourceError as exc:
        Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.FAILED, error=str(exc)[:2000])
        raise DetectError(str(exc)) from exc
    total = int(source.duration or recording.duration_seconds or 0)
    resume = dict(job.checkpoint) if job.checkpoint.get("video_time") is not None else None

    def on_progress(video_time: float) -> None:
        progress.update(int(video_time), total, f"{_clock(video_time)} of {_clock(total)} of video")

    def on_checkpoint(checkpoint: dict[str, Any], events: list[Event], rejections: list[Rejection]) -> None:
        with transaction.atomic():
            detected_events_save(recording=recording, job=job, version=version, events=events, rejections=rejections)
            progress.save_checkpoint(checkpoint)

    try:
        result = pipeline.run(source, resume=resume, on_progress=on_progress, on_checkpoint=on_checkpoint)
    except JobCancelled:
        Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.READY)
        raise
    except Exception as exc:
        Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.FAILED, error=str(exc)[:2000])
        raise
    finally:
        source.close()
    summary = {
        "events": DetectedEvent.objects.filter(recording=recording, job=job).count(),
        "rejected": RejectedObservation.objects.filter(recording=recording, job=job).count(),
        "model_version": version.name,
        "settings": detect.to_json(),
        "timings": result.timings.to_json(),
        "resumed_from": resume["video_time"] if resume else None,
        "started_at": format_timestamp(recording.started_at),
    }
    if result.error:
        DetectedEvent.objects.filter(recording=recording, job=job).update(partial=True)
        Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.FAILED, error=result.error[:2000])
        raise DetectError(f"{result.error} (kept {summary['events']} events found before it, marked partial)")
    Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.PROCESSED, error="")
    return summary


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
