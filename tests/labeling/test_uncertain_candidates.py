"""Frames the detector was unsure about reach the active-learning queue: sampled by a detect job as it runs,
with the detector's boxes as proposals, ranked for their uncertainty, replaced by the next run's unless touched."""
from __future__ import annotations

from pathlib import Path

import pytest

from detection.models import Job
from detection.pipeline.profile import load_profile
from detection.pipeline.types import Box, Detection, Uncertain
from detection.services import detect as detect_service
from detection.services.detect import detect_job_start
from detection.services.model_versions import model_version_register
from labeling.datasets.annotations import annotation_candidates_collect, uncertain_frames_record
from labeling.datasets.queue import QueueSettings
from labeling.datasets.queue_selector import queue_page
from labeling.models import BoxAnnotation, FrameAnnotation
from project.jobs.dispatch import run_job
from tests.detection.pipeline.synthetic import build_model, session_script, write_video
from tests.factories import JobFactory, RecordingFactory

pytestmark = pytest.mark.django_db


def unsure(frame: int, label: str = "kill_notification", confidence: float = 0.56) -> Uncertain:
    seen = (Detection(label, confidence, Box(0.6, 0.05, 0.98, 0.14)), Detection("gameplay_hud", 0.93, Box(0.0, 0.8, 0.3, 1.0)))
    return Uncertain(frame_number=frame, video_time=frame / 30, label=label, confidence=confidence, detections=seen)


def test_uncertain_frames_become_candidates_with_proposals_ranked_first(owner) -> None:  # type: ignore[no-untyped-def]
    recording = RecordingFactory(owner=owner, avg_fps=30.0)
    FrameAnnotation.objects.create(recording=recording, frame_number=300, video_offset_seconds=10.0)  # labelled
    assert uncertain_frames_record(recording=recording, frames=[unsure(30), unsure(300), unsure(600, confidence=0.99)]) == 2
    assert uncertain_frames_record(recording=recording, frames=[unsure(30)]) == 0  # already there
    frame = FrameAnnotation.objects.get(recording=recording, frame_number=30)
    assert (frame.status, frame.source, frame.label, frame.confidence) == ("candidate", "uncertain", "kill_notification", 0.56)
    assert frame.reason == "uncertain kill_notification (0.56)"
    assert sorted((b.label, b.x0) for b in frame.boxes.all()) == [("gameplay_hud", 0.0), ("kill_notification", 0.6)]
    assert not FrameAnnotation.objects.get(frame_number=300).boxes.exists()  # the labelled frame left as it was

    page = queue_page(recording_ids=[recording.pk])
    first = page.picks[0]
    assert first.candidate.frame_number == 30 and any("uncertain" in reason for reason in first.reasons)


def test_a_detect_job_keeps_frames_worth_at_least_half_the_band() -> None:
    assert QueueSettings().sampling_band == (0.35, 0.85)
    assert QueueSettings(band=(0.1, 0.95)).sampling_band == (0.0, 1.0)


def test_the_next_run_replaces_untouched_uncertain_frames_and_keeps_touched_ones(owner) -> None:  # type: ignore[no-untyped-def]
    recording = RecordingFactory(owner=owner, avg_fps=30.0)
    uncertain_frames_record(recording=recording, frames=[unsure(30), unsure(60)])
    touched = FrameAnnotation.objects.get(frame_number=60)
    touched.changes.create(action="editor:save")
    later = JobFactory(recording=recording, kind=Job.Kind.DETECT)
    uncertain_frames_record(recording=recording, frames=[unsure(90)])
    annotation_candidates_collect(recording=recording, job=later)
    assert sorted(FrameAnnotation.objects.values_list("frame_number", flat=True)) == [60, 90]
    annotation_candidates_collect(recording=recording)  # no run named: nothing uncertain goes
    assert FrameAnnotation.objects.count() == 2


def test_a_detect_job_fills_the_queue_with_the_frames_it_was_unsure_about(  # type: ignore[no-untyped-def]
    owner, settings, tmp_path: Path, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    settings.VODSCOPE_MODELS_DIR = tmp_path
    version = model_version_register(path=build_model(tmp_path / "synthetic.onnx"), profile=load_profile("demo"))
    video = write_video(session_script(), tmp_path / "session.mkv")
    recording = RecordingFactory(owner=owner, source_path=str(video), avg_fps=30.0, duration_seconds=26.5)
    monkeypatch.setattr(detect_service, "QueueSettings", lambda: QueueSettings(band=(0.15, 0.86)))  # all of it unsure
    with django_capture_on_commit_callbacks(execute=False):
        job = detect_job_start(recording=recording, user=owner, params={"model_version": version.pk})
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    sampled = FrameAnnotation.objects.filter(recording=recording, source=FrameAnnotation.Source.UNCERTAIN)
    assert sampled.count() >= 3 and len(set(sampled.values_list("label", flat=True))) >= 3
    assert BoxAnnotation.objects.filter(frame__in=sampled).count() >= sampled.count()
