"""Detect jobs that outlive their worker process, and detect jobs that are cancelled.

A real worker (prefork, one child, as scripts/run.sh runs it) has its child killed mid-detection: the
worker re-queues the job itself, its fresh child resumes the run from the checkpoint, and the events at the
end are exactly those of an uninterrupted run, with no worker restart.
"""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from detection.models import DetectedEvent, Job, Recording
from detection.pipeline.profile import load_profile
from detection.services.detect import detect_job_handle, detect_job_start
from detection.services.model_versions import model_version_register
from project.jobs.runner import job_run
from project.jobs.services import job_cancel
from tests.detection.pipeline.synthetic import Script, build_model, session_script, write_video
from tests.factories import DetectedEventFactory, RecordingFactory
from tests.project.test_worker import wait_for
from tests.project.worker import pool_children, running_worker

pytestmark = pytest.mark.slow
# The default period. The dying child's worker re-queues the job itself, so the resume does not wait for
# the stale-heartbeat sweep (3 periods, then up to one more). Measured: 1-2 s on a quiet machine, up to 5 s
# on a loaded one (a fresh child's first task), hence the bound of 3 periods below.
HEARTBEAT = 2.0
LOOPS = 10


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("resume")
    # Ten loops of the session (265 s): checkpoints come at most every 5 s of wall time, so a run must last
    # well beyond that for one to fall mid-video before the kill, on a quiet machine too (four loops ran
    # through in one checkpoint interval there).
    sessions = Script(shots=session_script().shots * LOOPS)
    return {"model": build_model(folder / "synthetic.onnx"), "video": write_video(sessions, folder / "sessions.mkv")}


@pytest.fixture
def model_params(settings, material) -> dict[str, int]:  # type: ignore[no-untyped-def]
    settings.VODSCOPE_MODELS_DIR = material["model"].parent
    version = model_version_register(path=material["model"], profile=load_profile("demo"))
    # Every frame (30 fps): a run long enough that checkpoints (every 5 s of wall time) fall mid-video.
    return {"model_version": version.pk, "detection_fps": 30}


def events_of(recording: Recording) -> list[tuple[Any, ...]]:
    """Everything a run decides about its events; confidences compared exactly, not approximately."""
    rows = DetectedEvent.objects.filter(recording=recording).order_by("event_id")
    return [(e.event_id, e.event_type, e.data, e.confidence, e.video_offset_seconds, e.frame_number, e.partial)
            for e in rows]


@pytest.fixture
def detect_worker(material, transactional_db, monkeypatch, tmp_path) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from project.celery import app as celery_app

    monkeypatch.setattr(celery_app.conf, "task_always_eager", False)
    env = {"VODSCOPE_JOB_HEARTBEAT_SECONDS": str(HEARTBEAT), "VODSCOPE_JOB_STALE_SECONDS": str(3 * HEARTBEAT),
           "VODSCOPE_MODELS_DIR": str(material["model"].parent)}
    with running_worker(tmp_path / "worker.log", queues=["detect"], pool="prefork", env=env) as process:
        process.log_path = tmp_path / "worker.log"  # type: ignore[attr-defined]
        yield process


def test_a_killed_worker_process_resumes_its_detect_job_with_identical_events(
    detect_worker, material, model_params, owner
):  # type: ignore[no-untyped-def]
    def recording() -> Recording:
        return RecordingFactory(owner=owner, source_path=str(material["video"]), duration_seconds=26.5 * LOOPS)

    control = detect_job_start(recording=recording(), user=owner, params=model_params)
    wait_for(lambda: Job.objects.get(pk=control.pk).status not in Job.ACTIVE_STATUSES, timeout=180)
    control.refresh_from_db()
    assert (control.status, control.attempts) == (Job.Status.SUCCEEDED, 1), control.error

    job = detect_job_start(recording=recording(), user=owner, params=model_params)
    # Killed after its first checkpoint, so the resumed run starts part-way through the video.
    wait_for(lambda: Job.objects.get(pk=job.pk).checkpoint.get("video_time") is not None, timeout=180)
    before = Job.objects.get(pk=job.pk)
    assert before.status == Job.Status.RUNNING and before.progress_done < before.progress_total
    [child] = pool_children(detect_worker)
    os.kill(child, signal.SIGKILL)
    killed = time.monotonic()
    wait_for(lambda: Job.objects.get(pk=job.pk).attempts == 2, timeout=30)
    resumed_after = time.monotonic() - killed
    wait_for(lambda: Job.objects.get(pk=job.pk).status not in Job.ACTIVE_STATUSES, timeout=180)
    print(f"control run {(control.finished_at - control.started_at).total_seconds():.1f} s; killed at "
          f"{before.checkpoint['video_time']:.1f} s of video; resumed {resumed_after:.2f} s after the kill")

    job.refresh_from_db()
    assert (job.status, job.attempts, job.error) == (Job.Status.SUCCEEDED, 2, "")
    assert job.result["resumed_from"] is not None and job.result["resumed_from"] > 0
    [new_child] = pool_children(detect_worker)
    assert detect_worker.poll() is None and new_child != child  # the same worker, with a fresh child
    assert job.recording is not None and control.recording is not None
    assert events_of(job.recording) == events_of(control.recording)
    assert len(events_of(job.recording)) > 5
    assert f"job {job.pk} re-queued: the process running it died" in detect_worker.log_path.read_text()
    assert resumed_after < 3 * HEARTBEAT, f"resumed {resumed_after:.1f} s after the kill"


@pytest.mark.django_db
def test_a_cancelled_run_marks_the_events_it_found_partial(material, model_params, owner):  # type: ignore[no-untyped-def]
    """As a failed run's are: a cancelled run's events do not cover the whole recording."""
    recording = RecordingFactory(owner=owner, source_path=str(material["video"]), duration_seconds=26.5 * LOOPS)
    job = Job.objects.create(kind=Job.Kind.DETECT, recording=recording, created_by=owner, params=model_params)
    found_before = DetectedEventFactory(recording=recording, job=job)  # by an attempt before a worker died
    earlier_run = DetectedEventFactory(recording=recording)

    def cancel_then_run(job: Job, progress):  # type: ignore[no-untyped-def]
        job_cancel(job=job)
        return detect_job_handle(job, progress)

    finished = job_run(job_id=job.pk, handler=cancel_then_run)
    assert finished is not None and finished.status == Job.Status.CANCELLED
    found_before.refresh_from_db()
    earlier_run.refresh_from_db()
    assert found_before.partial and not earlier_run.partial
    assert Recording.objects.get(pk=recording.pk).status == Recording.Status.READY

