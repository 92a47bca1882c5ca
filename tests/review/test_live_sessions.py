"""Live sessions as `live` jobs: started and stopped from the dashboard (staff only), run by the job runner
until stopped with every confirmed event kept, and never re-queued when the process running them dies."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from detection.models import DetectedEvent, Job, Recording
from detection.pipeline.profile import load_profile
from detection.pipeline.types import Event
from detection.services.live import live_events_save, live_session_start
from detection.services.model_versions import model_version_register
from project.jobs.registry import job_kind_for
from project.jobs.runner import job_run
from project.jobs.sweep import jobs_sweep
from tests.detection.pipeline.synthetic import build_model, session_script, write_video


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("live-jobs")
    return {"model": build_model(folder / "synthetic.onnx"), "video": write_video(session_script(), folder / "s.mkv")}


def start_form(source: str, **extra: object) -> dict[str, object]:
    return {"source_kind": "file", "source": source, "detection_fps": "5", "session_type": "stream", **extra}


@pytest.mark.django_db
def test_staff_start_a_live_session_from_the_dashboard_others_are_refused(client, owner, staff, library) -> None:  # type: ignore[no-untyped-def]
    video = library / "session.mkv"
    video.write_bytes(b"not played here")
    client.force_login(owner)
    assert client.post("/live/sessions/", start_form(str(video))).status_code == 403
    assert not Job.objects.exists()

    client.force_login(staff)
    assert "Start a live session" in client.get("/live/").content.decode()
    answer = client.post("/live/sessions/", start_form(str(video), title="Friday stream", label="on",
                                                       label_backend="ollama"))
    assert answer.status_code == 302
    job = Job.objects.get()
    assert job.kind == Job.Kind.LIVE and job.status == Job.Status.QUEUED and job_kind_for(job.kind).queue == "live"
    assert job.params["source"] == str(video.resolve()) and job.params["realtime"] is True
    assert job.params["label"] is True and job.params["detection_fps"] == 5.0
    assert job.recording is not None and job.recording.title == "Friday stream" and job.recording.owner == staff
    assert "waiting for the live worker" in client.get("/live/").content.decode()

    assert client.post(f"/live/sessions/{job.pk}/stop/").status_code == 302  # before any worker took it
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert Recording.objects.get().status == Recording.Status.FAILED


@pytest.mark.django_db
@pytest.mark.parametrize(("form", "reason"), [
    ({"source_kind": "file", "source": "/etc/passwd"}, "outside the allowed folders"),
    ({"source_kind": "capture", "source": "/srv/some/file.mkv"}, "a capture source is a device"),
    ({"source_kind": "file", "detection_fps": "0"}, "greater than or equal to 0.1"),
    ({"source_kind": "file", "session_type": "party"}, "party is not one of the available choices"),
])
def test_a_bad_start_is_a_400_saying_why_and_makes_nothing(client, staff, library, form, reason) -> None:  # type: ignore[no-untyped-def]
    video = library / "session.mkv"
    video.write_bytes(b"x")
    client.force_login(staff)
    answer = client.post("/live/sessions/", {**start_form(str(video)), **form})
    assert answer.status_code == 400 and reason in answer.content.decode()
    assert not Job.objects.exists() and not Recording.objects.exists()


@pytest.mark.django_db(transaction=True)  # the runner's heartbeat and the loop write beside the test
def test_a_live_job_runs_until_stopped_from_the_dashboard_keeping_every_confirmed_event(  # type: ignore[no-untyped-def]
    material, client, staff, settings, tmp_path, monkeypatch
) -> None:
    # The message to the live queue is not sent: this test's thread is the live worker.
    monkeypatch.setattr("project.jobs.services.job_enqueue", lambda job: None)
    settings.VODSCOPE_MODELS_DIR = material["model"].parent
    settings.VODSCOPE_ALLOWED_ROOTS = [material["video"].parent]
    settings.MEDIA_ROOT = tmp_path / "media"
    version = model_version_register(path=material["model"], profile=load_profile("demo"))
    version.active = True
    version.save(update_fields=["active"])
    client.force_login(staff)
    assert client.post("/live/sessions/", start_form(str(material["video"]))).status_code == 302
    job = Job.objects.get()
    Job.objects.filter(pk=job.pk).update(params={**job.params, "speed": 2.0})

    def work() -> None:  # as a worker runs it, on a connection of its own
        try:
            job_run(job_id=job.pk, handler=job_kind_for(job.kind).handler)
        finally:
            connection.close()

    runner = threading.Thread(target=work)
    runner.start()
    try:
        deadline = time.monotonic() + 120
        while DetectedEvent.objects.filter(job=job).count() < 2:
            assert runner.is_alive() and time.monotonic() < deadline
            time.sleep(0.2)
        assert client.post(f"/live/sessions/{job.pk}/stop/").status_code == 302
    finally:
        runner.join(timeout=60)
    job.refresh_from_db()
    recording = Recording.objects.get()
    assert job.status == Job.Status.SUCCEEDED and job.result["stopped"] is True and job.result["running"] is False
    assert job.result["events"] == DetectedEvent.objects.filter(job=job).count() >= 2
    assert all(e.evidence["confirmed_at"] for e in DetectedEvent.objects.filter(job=job))
    assert recording.status == Recording.Status.PROCESSED and recording.duration_seconds
    assert job.result["final"]["video_time"] < recording.duration_seconds - 1  # stopped early, not at the end


@pytest.mark.django_db
def test_a_live_session_whose_process_died_ends_and_is_never_requeued(owner) -> None:  # type: ignore[no-untyped-def]
    session = live_session_start(owner=owner, title="Live", video_path="/tmp/none.mkv", session_type="stream",
                                 source="rtsp://cam", params={})
    live_events_save(session=session, events=[Event("kill-1", "kill", 11.0, 101, 0.9, {"enemy": "scav"})])
    Job.objects.filter(pk=session.job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))

    jobs_sweep(stale_after=timedelta(seconds=60))

    job = Job.objects.get(pk=session.job.pk)
    assert job.kind == Job.Kind.LIVE and job.status == Job.Status.FAILED and job.finished_at is not None
    assert "live process stopped" in job.message and "1 events it confirmed are kept" in job.error
    assert job.result["running"] is False
    assert DetectedEvent.objects.filter(job=job).count() == 1
    assert Recording.objects.get().status == Recording.Status.PROCESSED


@pytest.mark.django_db
def test_a_live_job_delivered_again_after_its_worker_process_died_ends_at_once(owner) -> None:  # type: ignore[no-untyped-def]
    """The worker that saw its child die puts the job back in the queue (dispatch.JobRequest); its next run ends it."""
    session = live_session_start(owner=owner, title="Live", video_path="/tmp/none.mkv", session_type="stream",
                                 source="rtsp://cam", params={})
    Job.objects.filter(pk=session.job.pk).update(status=Job.Status.QUEUED, attempts=1)

    job = job_run(job_id=session.job.pk, handler=job_kind_for(Job.Kind.LIVE).handler)

    assert job is not None and job.status == Job.Status.FAILED and job.attempts == 2
    assert "never resumed" in job.error and job.result["running"] is False
    assert Recording.objects.get().status == Recording.Status.PROCESSED


@pytest.mark.django_db(transaction=True)  # the forwarder's thread writes the ledger on a connection of its own
def test_a_forwarded_session_sends_its_events_to_the_owners_target_as_they_come(owner) -> None:  # type: ignore[no-untyped-def]
    """The forward tap binds the session to the owner's target (here Vodscope's hosted copy of the API)."""
    from detection.services.live_job import ForwardTap
    from importer.sample_log import synthetic_log
    from importer.selectors import hosted_snapshot

    log = synthetic_log(started_at=timezone.now() - timedelta(hours=2), events=12, seed=3, source="live.mkv")
    session = live_session_start(owner=owner, title="Live", video_path="/tmp/none.mkv", session_type="stream",
                                 source="rtsp://cam", params={})
    session.recording.started_at = log.started_at
    tap = ForwardTap(session)
    for n, logged in enumerate(sorted(log.events, key=lambda e: e.video_offset_seconds)):
        event = Event(logged.event_id, logged.type, logged.video_offset_seconds, n, 0.9, dict(logged.data))
        tap.events(live_events_save(session=session, events=[event]))
    forwarded = tap.close(timeout=30)["forward"]
    assert forwarded["sent"] == forwarded["queued"] > 0 and forwarded["waiting"] == 0, forwarded
    hosted = hosted_snapshot(owner=owner)
    assert len(hosted) == 1 and hosted[0]["raids"] and hosted[0]["notes"] == "live: Live"
