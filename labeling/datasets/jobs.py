"""The `export` job: reviewed frames of some recordings written as a YOLO or CVAT dataset under MEDIA_ROOT.

Parameters name recordings and a format, never a path: the output goes to
MEDIA_ROOT/exports/job-<id>-<format>/, so nothing a user sends reaches the file system.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.conf import settings

from detection.models import Job
from project.jobs.runner import JobProgress
from project.jobs.services import job_create

from .items import DatasetError
from .transfer import FORMATS, dataset_export


def export_params_clean(params: object) -> dict[str, Any]:
    """{"recordings": [ids...], "format": "yolo"|"cvat"} checked; DatasetError says what is wrong."""
    if not isinstance(params, dict):
        raise DatasetError("export parameters: an object with recordings and format")
    recordings, format = params.get("recordings"), params.get("format", "yolo")
    if not isinstance(recordings, list) or not recordings or not all(type(r) is int and r > 0 for r in recordings):
        raise DatasetError("recordings: a non-empty list of recording ids")
    if format not in FORMATS:
        raise DatasetError(f"format {format!r}: use one of {', '.join(FORMATS)}")
    return {"recordings": sorted(set(recordings)), "format": format}


def export_job_start(*, recording_ids: list[int], format: str, user: Any = None) -> Job:
    params = export_params_clean({"recordings": list(recording_ids), "format": format})
    return job_create(kind=Job.Kind.EXPORT, created_by=user, params=params)


def export_out_dir(job: Job) -> Path:
    return Path(settings.MEDIA_ROOT) / "exports" / f"job-{job.pk}-{job.params.get('format', 'yolo')}"


def export_job_handle(job: Job, progress: JobProgress) -> dict[str, Any]:
    params = export_params_clean(job.params)
    progress.update(0, 1, f"exporting {len(params['recordings'])} recording(s) as {params['format']}", force=True)
    summary = dataset_export(recording_ids=params["recordings"], format=params["format"], out=export_out_dir(job))
    progress.update(1, 1, f"{summary.images} images, {summary.boxes} boxes", force=True)
    return asdict(summary)
