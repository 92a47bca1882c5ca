"""A live session started from the dashboard really goes to the live queue and runs in a separate worker
process (threads pool, as scripts/run.sh starts it), in whichever mode this pass runs; stopping that worker
stops the session cleanly instead of waiting for a stream that never ends."""
from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from detection.models import DetectedEvent, Job, Recording
from detection.pipeline.profile import load_profile
from detection.services.model_versions import model_version_register
from project.celery import app as celery_app
from tests.detection.pipeline.synthetic import build_model, session_script, write_video
from tests.project.worker import running_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_live_worker_runs_a_dashboard_session_and_stops_it_cleanly_on_shutdown(  # type: ignore[no-untyped-def]
    client, staff, settings, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(celery_app.conf, "task_always_eager", False)
    (tmp_path / "models").mkdir()
    (tmp_path / "library").mkdir()
    model = build_model(tmp_path / "models" / "synthetic.onnx")
    video = write_video(session_script(), tmp_path / "library" / "s.mkv")
    settings.VODSCOPE_MODELS_DIR = model.parent
    settings.VODSCOPE_ALLOWED_ROOTS = [video.parent]
    version = model_version_register(path=model, profile=load_profile("demo"))
    version.active = True  # what a session uses when none is named
    version.save(update_fields=["active"])
    env = {"VODSCOPE_MODELS_DIR": str(model.parent), "VODSCOPE_MEDIA_ROOT": str(tmp_path / "media")}
    with running_worker(tmp_path / "live-worker.log", queues=["live"], pool="threads", env=env) as worker:
        client.force_login(staff)
        answer = client.post("/live/sessions/", {"source_kind": "file", "source": str(video), "detection_fps": "5",
                                                 "session_type": "stream"})
        assert answer.status_code == 302
        job = Job.objects.get()
        deadline = time.monotonic() + 120
        while DetectedEvent.objects.filter(job=job).count() < 2:
            assert worker.poll() is None and time.monotonic() < deadline, (tmp_path / "live-worker.log").read_text()[-3000:]
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)  # Celery's warm shutdown
        assert worker.wait(timeout=60) == 0
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.result["stopped"] is True, job.error
    assert job.result["events"] == DetectedEvent.objects.filter(job=job).count() >= 2
    recording = Recording.objects.get()
    assert recording.status == Recording.Status.PROCESSED and recording.started_at is not None
