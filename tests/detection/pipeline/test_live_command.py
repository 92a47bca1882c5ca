"""`manage.py live` as its own process: events saved and written as they come; SIGTERM ends it cleanly."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from detection.models import DetectedEvent, Job, Recording
from detection.pipeline.profile import load_profile
from detection.services.model_versions import model_version_register
from tests.conftest import PASSWORD
from tests.detection.pipeline.synthetic import build_model, session_script, write_video
from tests.project.worker import worker_environment


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("live")
    return {"model": build_model(folder / "synthetic.onnx"), "video": write_video(session_script(), folder / "s.mkv")}


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_sigterm_ends_the_live_process_cleanly_keeping_every_confirmed_event(  # type: ignore[no-untyped-def]
    material, transactional_db, django_user_model, settings, tmp_path
) -> None:
    django_user_model.objects.create_superuser("admin", "a@example.com", PASSWORD)
    settings.VODSCOPE_MODELS_DIR = material["model"].parent
    version = model_version_register(path=material["model"], profile=load_profile("demo"))
    output = tmp_path / "events.jsonl"
    env = {**worker_environment(), "VODSCOPE_MODELS_DIR": str(material["model"].parent),
           "VODSCOPE_MEDIA_ROOT": str(tmp_path / "media")}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "live", "--source", str(material["video"]), "--realtime", "--speed", "2",
         "--detection-fps", "5", "--model-version", str(version.pk), "--output", str(output)],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while len(lines(output)) < 2:  # events came out while it runs, not only at the end
            assert process.poll() is None and time.monotonic() < deadline, process.stdout.read().decode()  # type: ignore[union-attr]
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, out.decode()
    recording = Recording.objects.get()
    assert recording.source_path == str(material["video"]) and recording.status == Recording.Status.PROCESSED
    assert recording.started_at is not None and recording.duration_seconds
    job = Job.objects.get(recording=recording)
    assert job.status == Job.Status.SUCCEEDED and job.params["live"] is True
    written = lines(output)
    saved = DetectedEvent.objects.filter(recording=recording).order_by("video_offset_seconds", "event_id")
    assert sorted(e["event_id"] for e in written) == sorted(r.event_id for r in saved)  # type: ignore[type-var]
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["events"] == len(written) >= 2
    assert all("video_offset_seconds" in e and e["timestamp"] for e in written)
    # Stopped early: not the whole session (about 26 s of video) was played.
    assert summary["video_time"] < recording.duration_seconds - 1


def test_live_and_batch_find_the_same_events_on_the_same_video(material) -> None:  # type: ignore[no-untyped-def]
    """The file played live (fast, nothing dropped) and run in batch: same types and data, times within 1 s."""
    from detection.pipeline.factory import build_pipeline, model_ref_for_file, open_source
    from detection.pipeline.live import LiveLoop, RealtimeFileSource
    from detection.pipeline.run_settings import DetectSettings
    from detection.pipeline.types import Event

    profile = load_profile("demo")
    model = model_ref_for_file(material["model"])
    detect = DetectSettings(model_path=model.path, model_name=model.name, model_sha256=model.sha256, detection_fps=5)
    batch_pipeline = build_pipeline(profile, detect)
    source, _ = open_source(material["video"], batch_pipeline, detect)
    batch = batch_pipeline.run(source).events
    source.close()
    live: list[Event] = []
    live_source = RealtimeFileSource(material["video"], detection_fps=5, speed=8, capacity=1000)
    stats = LiveLoop(source=live_source, run=build_pipeline(profile, detect, live=True).start(),
                     on_events=live.extend).run_until_stopped()
    assert stats.dropped == 0 and len(batch) >= 3
    live.sort(key=lambda e: (e.video_time, e.event_id))  # as a batch result is: events of one frame come in any order
    assert [(e.type, e.data) for e in live] == [(e.type, e.data) for e in batch]
    assert all(abs(a.video_time - b.video_time) <= 1.0 for a, b in zip(live, batch))


@pytest.mark.django_db(transaction=True)  # the command's heartbeat thread writes beside the test's connection
def test_a_capture_session_is_recorded_to_disk_and_becomes_a_reviewable_recording(  # type: ignore[no-untyped-def]
    material, django_user_model, settings, tmp_path
) -> None:
    from io import StringIO

    from django.core.management import call_command

    django_user_model.objects.create_superuser("admin", "a@example.com", PASSWORD)
    settings.VODSCOPE_MODELS_DIR = material["model"].parent
    settings.MEDIA_ROOT = tmp_path / "media"
    version = model_version_register(path=material["model"], profile=load_profile("demo"))
    # A stream URL FFmpeg opens; a file read as a stream comes faster than real time (frames are dropped).
    call_command("live", source=str(material["video"]), detection_fps=5, model_version=version.pk, stdout=StringIO())
    recording = Recording.objects.get()
    recorded = Path(recording.source_path)
    assert recorded.parent == tmp_path / "media" / "live" and recorded.suffix == ".mkv"
    assert recording.duration_seconds is not None and abs(recording.duration_seconds - 26) < 2
    assert recording.codec and Job.objects.get(recording=recording).status == Job.Status.SUCCEEDED
