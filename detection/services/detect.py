"""Detect jobs: run the pipeline on a Recording, write DetectedEvent rows idempotently, resume
from checkpoints, keep the events of a run that failed or was cancelled (marked partial).

The run's settings come from `detect_settings_for` and its model from a registered
ModelVersion, the same way `manage.py detect` gets them, so both give the same events and
metadata on the same video and parameters.
"""
from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction

from detection.models import DetectedEvent, Job, RejectedObservation, Recording
from detection.pipeline.checkpoint import Checkpoint
from detection.pipeline.factory import build_pipeline, open_source, weights_name
from detection.pipeline.profile import load_profile
from detection.pipeline.run_settings import SettingsError, parse_params, run_metadata
from detection.pipeline.source import VideoSourceError
from detection.pipeline.types import Event, Rejection, Uncertain
from detection.services.detected_events import detected_events_save, detected_events_supersede
from detection.services.model_versions import (
    ModelVersionError,
    detect_settings_for,
    model_ref,
    model_version_choose,
)
from labeling.datasets.annotations import (
    annotation_candidates_collect,
    candidate_images_extract,
    uncertain_frames_record,
)
from labeling.datasets.queue import QueueSettings
from project.jobs.runner import JobCancelled, JobProgress
from project.jobs.services import job_create

logger = logging.getLogger(__name__)


class DetectError(Exception):
    """A detect run that cannot start or did not finish; the message is shown on the job or answered with 400."""


def detect_params_clean(params: object) -> dict[str, Any]:
    """Known keys with checked values, and a model version (if one is named) that exists and fits the profile.

    Without one the run takes the version active when it starts."""
    try:
        clean = parse_params(params)
        if "model_version" in clean:
            model_version_choose(version_id=clean["model_version"], profile=load_profile(settings.VODSCOPE_GAME_PROFILE))
    except (SettingsError, ModelVersionError) as exc:
        raise DetectError(str(exc)) from None
    return clean


def detect_job_start(*, recording: Recording, user: Any, params: object = None) -> Job:
    return job_create(kind=Job.Kind.DETECT, recording=recording, created_by=user, params=detect_params_clean(params))


def detect_job_handle(job: Job, progress: JobProgress) -> dict[str, Any]:
    """The detect job's handler (see project.jobs.runner.job_run): resumes from the job's checkpoint."""
    recording = job.recording
    if recording is None:
        raise DetectError("a detect job needs a recording")
    profile = load_profile(settings.VODSCOPE_GAME_PROFILE)
    try:
        params = parse_params(job.params)
        version = model_version_choose(version_id=params.get("model_version"), profile=profile)
        detect = detect_settings_for(params=params, model=model_ref(version))
    except (SettingsError, ModelVersionError) as exc:
        raise DetectError(str(exc)) from None
    pipeline = build_pipeline(profile, detect, uncertain_band=QueueSettings().sampling_band)
    Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.PROCESSING, error="")
    try:
        source, _ = open_source(recording.video_path, pipeline, detect, started_at=recording.started_at)
    except VideoSourceError as exc:
        Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.FAILED, error=str(exc)[:2000])
        raise DetectError(str(exc)) from exc
    total = int(source.duration or recording.duration_seconds or 0)
    resume = Checkpoint.from_json(job.checkpoint) if job.checkpoint.get("video_time") is not None else None

    def on_progress(video_time: float) -> None:
        progress.update(int(video_time), total, f"{_clock(video_time)} of {_clock(total)} of video")

    def on_checkpoint(checkpoint: Checkpoint, events: list[Event], rejections: list[Rejection],
                      uncertain: list[Uncertain]) -> None:
        # The pipeline checkpoints only when quiet: every event up to the checkpoint's time is among those written.
        with transaction.atomic():
            detected_events_save(recording=recording, job=job, version=version, events=events, rejections=rejections)
            uncertain_frames_record(recording=recording, frames=uncertain)
            detected_events_supersede(recording=recording, job=job, until=checkpoint.video_time)
            progress.save_checkpoint(checkpoint.to_json())

    try:
        result = pipeline.run(source, resume=resume, on_progress=on_progress, on_checkpoint=on_checkpoint)
    except JobCancelled:
        # Like a failed run's: what a cancelled run found is kept, marked as not the whole recording's.
        DetectedEvent.objects.filter(recording=recording, job=job).update(partial=True)
        Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.READY)
        raise
    except Exception as exc:
        Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.FAILED, error=str(exc)[:2000])
        raise
    finally:
        source.close()
    if not result.error:
        detected_events_supersede(recording=recording, job=job, until=None)
    summary = {
        "events": DetectedEvent.objects.filter(recording=recording, job=job).count(),
        "linked_to_reviewed": DetectedEvent.all_objects.filter(superseded_by=job, duplicate_of__isnull=False).count(),
        "superseded": DetectedEvent.all_objects.filter(superseded_by=job, duplicate_of__isnull=True).count(),
        "rejected": RejectedObservation.objects.filter(recording=recording, job=job).count(),
        "metadata": run_metadata(detect, profile=profile.name, started_at=recording.started_at,
                                 weights=weights_name(pipeline.detector)),
        "timings": result.timings.to_json(),
        "resumed_from": resume.video_time if resume else None,
    }
    if result.error:
        DetectedEvent.objects.filter(recording=recording, job=job).update(partial=True)
        Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.FAILED, error=result.error[:2000])
        raise DetectError(f"{result.error} (kept {summary['events']} events found before it, marked partial)")
    Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.PROCESSED, error="")
    summary["candidates"] = annotation_candidates_collect(recording=recording, job=job)  # the active-learning queue
    summary["candidate_images"] = candidate_images_extract(recording=recording)  # their phashes drop near-duplicates
    return summary


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
