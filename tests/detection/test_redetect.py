"""Detecting a reviewed recording again: one row per real event, every review kept, and the job and
`manage.py detect` agreeing on events and metadata."""
from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from detection.models import DetectedEvent, Job, Recording
from detection.pipeline.event_log import format_timestamp
from detection.pipeline.profile import load_profile
from detection.render.session import render_session
from detection.render.timeline import QUICK_PACING
from detection.services.detect import detect_job_handle, detect_job_start
from detection.services.ingest import recording_register_path
from detection.services.model_versions import model_version_register
from project.jobs.runner import job_run
from review.export import recording_event_log
from review.services import event_add, event_approve, event_delete, event_update
from tests.detection.pipeline.synthetic import build_model, session_script, write_video

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
Status = DetectedEvent.ReviewStatus


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rendered = render_session(out_dir=tmp_path_factory.mktemp("demo"), seconds=60, fps=30, size=(1280, 720), seed=31,
                              started_at=datetime(2026, 4, 2, 19, 0, tzinfo=UTC), name="demo", pacing=QUICK_PACING)
    return rendered.video


def detect(recording: Recording, user: Any, params: dict[str, Any], capture: Any) -> Job:
    with capture(execute=False):  # the worker's part is run here, inline
        job = detect_job_start(recording=recording, user=user, params=params)
    finished = job_run(job_id=job.pk, handler=detect_job_handle)
    assert finished is not None and finished.status == Job.Status.SUCCEEDED, finished and finished.error
    return finished


def review_state(row: DetectedEvent) -> tuple[Any, ...]:
    return (row.pk, row.event_type, row.review_status, row.data, row.video_offset_seconds, row.source)


def test_detecting_again_keeps_one_row_per_event_and_every_review(  # type: ignore[no-untyped-def]
    owner, library, demo, api_client, django_capture_on_commit_callbacks
):
    recording = recording_register_path(owner=owner, path=str(shutil.copy(demo, library / "demo.mkv")))
    first = detect(recording, owner, {}, django_capture_on_commit_callbacks)
    rows = list(DetectedEvent.objects.filter(recording=recording).order_by("video_offset_seconds", "event_id"))
    kills = [r for r in rows if r.event_type == "kill"]
    transitions = [r for r in rows if r.event_type == "state_transition"]
    assert len(kills) >= 2 and len(transitions) >= 4
    reviewed = [
        event_approve(event=next(r for r in rows if r.event_type == "raid_start"), user=owner),
        event_approve(event=transitions[1], user=owner),
        event_update(event=kills[0], user=owner, event_type="kill", data={**kills[0].data, "weapon": "AKM"},
                     video_offset_seconds=kills[0].video_offset_seconds + 0.5),
        event_delete(event=transitions[2], user=owner),
        event_add(recording=recording, user=owner, event_type="kill", video_offset_seconds=21.0,
                  data={"enemy_type": "scav", "weapon": "MOSIN", "headshot": False}),
    ]
    before = {row.pk: review_state(row) for row in reviewed}
    count = DetectedEvent.objects.filter(recording=recording).count()
    assert count == len(rows) + 1

    # Another threshold, and another sampling rate so that the detections' frames (and ids) move too.
    second = detect(recording, owner, {"confidence_threshold": 0.3, "detection_fps": 9.5}, django_capture_on_commit_callbacks)

    current = DetectedEvent.objects.filter(recording=recording)
    assert current.count() == count
    assert {row.pk: review_state(row) for row in current.filter(pk__in=before)} == before
    unreviewed = current.filter(review_status=Status.UNREVIEWED, manually_reviewed=False)
    assert unreviewed.count() == count - len(reviewed)
    assert set(unreviewed.values_list("job", flat=True)) == {second.pk}
    assert second.result["superseded"] > 0 and second.result["linked_to_reviewed"] > 0
    linked = DetectedEvent.all_objects.filter(superseded_by=second, duplicate_of__isnull=False)
    assert {row.duplicate_of_id for row in linked} <= set(before)
    assert not DetectedEvent.objects.filter(job=first).exclude(pk__in=before).exists()
    # Superseded rows are gone from the API and the export as well.
    listed = api_client(owner).get("/api/v1/events/", {"recording": recording.pk}).json()
    assert listed["count"] == count
    exported = recording_event_log(recording=recording).events
    assert len(exported) == count - 1  # the deleted one leaves the export


def test_the_command_and_the_job_give_the_same_events_and_metadata(  # type: ignore[no-untyped-def]
    owner, library, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.VODSCOPE_MODELS_DIR = tmp_path
    version = model_version_register(path=build_model(tmp_path / "synthetic.onnx"), profile=load_profile("demo"))
    assert version.active  # the command takes it without --model, as the job does
    video = write_video(session_script(), library / "session.mkv", creation_time="2026-03-01T18:00:00.000000Z")
    params = {"detection_fps": 8.0, "confidence_threshold": 0.4, "gate": False}
    recording = recording_register_path(owner=owner, path=str(video))
    job = detect(recording, owner, params, django_capture_on_commit_callbacks)
    out = tmp_path / "out"
    call_command("detect", "--video", str(video), "--output", str(out), "--detection-fps", "8",
                 "--confidence-threshold", "0.4", "--no-gate")
    log = json.loads((out / "session.events.json").read_text())

    metadata = job.result["metadata"]
    assert metadata["model"] == {"name": version.name, "sha256": version.sha256}
    assert {key: log["metadata"][key] for key in metadata} == metadata
    assert recording_event_log(recording=recording).metadata["models"] == [log["metadata"]["model"]]
    rows = DetectedEvent.objects.filter(recording=recording).order_by("video_offset_seconds", "event_id")
    from_job = [(r.event_id, r.event_type, round(r.video_offset_seconds, 3), r.data, round(r.confidence, 4),
                 format_timestamp(r.timestamp)) for r in rows]
    from_command = [(e["event_id"], e["type"], e["video_offset_seconds"], e["data"], e["confidence"], e["timestamp"])
                    for e in log["events"]]
    assert from_job and sorted(from_job) == sorted(from_command)
