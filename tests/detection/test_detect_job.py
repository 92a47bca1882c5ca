"""Detect jobs end to end on a synthetic recording: events in the DB, idempotent re-runs, resume,
partial events of a failed run, model registration and refusal, the detect command."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from detection.models import DetectedEvent, Job, ModelVersion, RejectedObservation, Recording
from detection.pipeline.profile import load_profile
from detection.services.detect import DetectError, detect_job_handle, detect_job_start
from detection.services.model_versions import ModelVersionError, model_version_register
from project.jobs.dispatch import run_job as run_job_task
from project.jobs.runner import job_run
from tests.detection.pipeline.synthetic import EXPECTED, Script, build_model, session_script, write_video
from tests.factories import RecordingFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
STARTED = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("detect")
    cut_source = write_video(
        Script().add("stash_screen", 2).add("character_select", 2, chosen="PMC").add("map_select", 20), folder / "w.mkv"
    )
    cut = folder / "cut.mkv"
    cut.write_bytes(cut_source.read_bytes()[: cut_source.stat().st_size * 2 // 3])
    return {
        "model": build_model(folder / "synthetic.onnx"),
        "video": write_video(session_script(), folder / "session.mkv", creation_time="2026-03-01T18:00:00.000000Z"),
        "cut": cut,
    }


@pytest.fixture
def registered(settings, material) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Job parameters naming the synthetic model, registered from the models folder as staff would."""
    settings.VODSCOPE_MODELS_DIR = material["model"].parent
    version = model_version_register(path=material["model"], profile=load_profile("demo"))
    return {"model_version": version.pk}


def recording_for(owner, path: Path) -> Recording:  # type: ignore[no-untyped-def]
    return RecordingFactory(owner=owner, source_path=str(path), started_at=STARTED, duration_seconds=26.5)


def run_job(owner, recording: Recording, params: dict, django_capture_on_commit_callbacks) -> Job:  # type: ignore[no-untyped-def,type-arg]
    """The Celery task run inline, in both test modes (the production pass has no worker here)."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = detect_job_start(recording=recording, user=owner, params=params)
    assert len(callbacks) == 1  # enqueued once the transaction commits
    run_job_task(job.pk)
    job.refresh_from_db()
    return job


def test_a_detect_job_writes_events_with_thumbnails_and_evidence(owner, material, registered, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    recording = recording_for(owner, material["video"])
    job = run_job(owner, recording, registered, django_capture_on_commit_callbacks)
    assert job.status == Job.Status.SUCCEEDED, job.error
    events = list(DetectedEvent.objects.filter(recording=recording).order_by("video_offset_seconds", "event_id"))
    assert [(e.event_type, round(e.video_offset_seconds, 1), e.data) for e in events] == sorted(
        EXPECTED, key=lambda x: (x[1], f"{x[0]}")
    )
    kill = next(e for e in events if e.event_type == "kill")
    assert kill.event_id == "kill-390" and kill.timestamp == STARTED + timedelta(seconds=13.0)
    assert kill.thumbnail.name.endswith(".jpg") and kill.evidence["class"] == "kill_notification"
    assert kill.job == job and kill.model_version is not None and not kill.partial
    assert job.result["events"] == len(EXPECTED) and job.checkpoint["machine"]["state"] == "stash"
    assert job.progress_total == 26
    assert Recording.objects.get(pk=recording.pk).status == Recording.Status.PROCESSED
    version = ModelVersion.objects.get()
    assert version.active and version.classes == list(load_profile("demo").classes) and version.image_size == 64


def test_running_again_duplicates_nothing_and_keeps_reviews(owner, material, registered, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    recording = recording_for(owner, material["video"])
    params = registered
    run_job(owner, recording, params, django_capture_on_commit_callbacks)
    reviewed = DetectedEvent.objects.get(recording=recording, event_type="kill", event_id="kill-390")
    reviewed.data = {**reviewed.data, "weapon": "AKM"}
    reviewed.manually_reviewed = True
    reviewed.save()
    second = run_job(owner, recording, params, django_capture_on_commit_callbacks)
    assert second.status == Job.Status.SUCCEEDED
    assert DetectedEvent.objects.filter(recording=recording).count() == len(EXPECTED)
    assert DetectedEvent.objects.get(pk=reviewed.pk).data["weapon"] == "AKM"


def test_decoding_and_two_pass_choices_reach_the_run_and_its_result(owner, material, registered, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    recording = recording_for(owner, material["video"])
    params = {**registered, "skip_nonref": False, "two_pass": True}
    job = run_job(owner, recording, params, django_capture_on_commit_callbacks)
    assert job.status == Job.Status.SUCCEEDED, job.error
    settings = job.result["metadata"]["settings"]
    assert settings["skip_nonref"] is False and settings["two_pass"] is True
    events = DetectedEvent.objects.filter(recording=recording).order_by("video_offset_seconds", "event_id")
    assert [(e.event_type, round(e.video_offset_seconds, 1), e.data) for e in events] == sorted(
        EXPECTED, key=lambda x: (x[1], f"{x[0]}")
    )


def test_a_job_resumes_from_its_checkpoint(owner, material, registered):  # type: ignore[no-untyped-def]
    recording = recording_for(owner, material["video"])
    job = Job.objects.create(
        kind=Job.Kind.DETECT, recording=recording, created_by=owner, params=registered,
        checkpoint={"video_time": 16.5, "machine": {"state": "raid_active", "context": {}}, "current": "gameplay_hud"},
    )
    finished = job_run(job_id=job.pk, handler=detect_job_handle)
    assert finished is not None and finished.status == Job.Status.SUCCEEDED
    assert finished.result["resumed_from"] == 16.5
    found = list(DetectedEvent.objects.filter(recording=recording).values_list("event_type", "video_offset_seconds"))
    assert sorted((t, round(s, 1)) for t, s in found) == sorted(
        (t, s) for t, s, _ in EXPECTED if s > 16.5
    )


def test_a_truncated_recording_fails_keeping_partial_events(owner, material, registered, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    recording = recording_for(owner, material["cut"])
    job = run_job(owner, recording, registered, django_capture_on_commit_callbacks)
    assert job.status == Job.Status.FAILED
    assert "truncated or corrupt after" in job.error and "marked partial" in job.error
    events = DetectedEvent.objects.filter(recording=recording)
    assert events.count() == 2 and all(e.partial for e in events)
    assert Recording.objects.get(pk=recording.pk).status == Recording.Status.FAILED


def test_unreadable_recordings_fail_with_a_clear_message(owner, material, registered, tmp_path, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    params = registered
    missing = run_job(owner, recording_for(owner, tmp_path / "gone.mkv"), params, django_capture_on_commit_callbacks)
    assert missing.status == Job.Status.FAILED and "no such file" in missing.error
    empty = tmp_path / "empty.mkv"
    empty.touch()
    zero = run_job(owner, recording_for(owner, empty), params, django_capture_on_commit_callbacks)
    assert zero.status == Job.Status.FAILED and "zero-length" in zero.error


def test_a_model_with_other_classes_is_refused_with_both_lists(owner, material, settings, tmp_path):  # type: ignore[no-untyped-def]
    profile = load_profile("demo")
    settings.VODSCOPE_MODELS_DIR = tmp_path
    other = build_model(tmp_path / "other.onnx", classes=[*profile.classes[:-1], "loot_screen"])
    with pytest.raises(ModelVersionError) as caught:
        model_version_register(path=other, profile=profile)
    assert "loot_screen" in str(caught.value) and "post_raid_screen" in str(caught.value)
    assert not ModelVersion.objects.exists()
    # A version registered for the profile before its classes changed is refused when a job names it.
    stale = ModelVersion.objects.create(name="stale", profile="demo", onnx_file=str(other), classes=["loot_screen"])
    with pytest.raises(DetectError, match="loot_screen"):
        detect_job_start(recording=recording_for(owner, material["video"]), user=owner,
                         params={"model_version": stale.pk})
    assert not Job.objects.exists()


def test_bad_parameters_are_refused_before_a_job_exists(owner, material):  # type: ignore[no-untyped-def]
    recording = recording_for(owner, material["video"])
    with pytest.raises(DetectError, match="detection_fps"):
        detect_job_start(recording=recording, user=owner, params={"detection_fps": 0})
    with pytest.raises(DetectError, match="unknown detection parameters"):
        detect_job_start(recording=recording, user=owner, params={"fps": 10})
    assert not Job.objects.exists()


def test_rejected_observations_are_kept(owner, material, registered, tmp_path, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    script = Script().add("stash_screen", 2).add("survived_screen", 2, lines=("SURVIVED",)).add("stash_screen", 1)
    recording = recording_for(owner, write_video(script, tmp_path / "odd.mkv"))
    job = run_job(owner, recording, registered, django_capture_on_commit_callbacks)
    assert job.status == Job.Status.SUCCEEDED
    rejected = RejectedObservation.objects.get(recording=recording)
    assert (rejected.from_state, rejected.observed_screen) == ("stash", "survived_screen")
    assert rejected.video_offset_seconds == pytest.approx(2.0)


def test_the_detect_command_writes_one_log_per_video_and_a_summary(material, tmp_path):  # type: ignore[no-untyped-def]
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "a.mkv").write_bytes(material["video"].read_bytes())
    (videos / "b.mkv").write_bytes(material["cut"].read_bytes())
    out = tmp_path / "out"
    with pytest.raises(CommandError, match="1 of 2 videos failed"):
        call_command("detect", "--video-dir", str(videos), "--output", str(out), "--model", str(material["model"]))
    log = json.loads((out / "a.events.json").read_text())
    assert log["metadata"]["started_at"] == "2026-03-01T18:00:00.000Z"
    assert log["metadata"]["model"]["sha256"] and log["metadata"]["settings"]["detection_fps"] == 10.0
    assert log["metadata"]["settings"]["skip_nonref"] is True and log["metadata"]["timings"]["decode"] > 0
    assert [(e["type"], e["video_offset_seconds"]) for e in log["events"]][:2] == [
        ("state_transition", 0.0), ("state_transition", 2.0)]
    kill = next(e for e in log["events"] if e["type"] == "kill")
    assert kill["timestamp"] == "2026-03-01T18:00:13.000Z" and (out / kill["thumbnail"]).is_file()
    partial = json.loads((out / "b.events.json").read_text())
    assert partial["metadata"]["partial"] is True and "truncated" in partial["metadata"]["error"]
    summary = json.loads((out / "summary.json").read_text())
    assert [v["events"] for v in summary["videos"]] == [len(EXPECTED), 2]


def test_the_detect_command_honours_start_time_and_refuses_bad_input(material, tmp_path):  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    call_command("detect", "--video", str(material["video"]), "--output", str(out), "--model", str(material["model"]),
                 "--start-time", "2026-05-01T10:00:00Z", "--every-frame")
    log = json.loads((out / "session.events.json").read_text())
    assert log["events"][0]["timestamp"] == "2026-05-01T10:00:00.000Z"
    assert log["metadata"]["settings"]["skip_nonref"] is False
    with pytest.raises(CommandError, match="no such file"):
        call_command("detect", "--video", str(tmp_path / "none.mkv"), "--output", str(out),
                     "--model", str(material["model"]))


def test_a_cancelled_job_leaves_the_recording_ready(owner, material, registered):  # type: ignore[no-untyped-def]
    recording = recording_for(owner, material["video"])
    job = Job.objects.create(kind=Job.Kind.DETECT, recording=recording, created_by=owner,
                             params=registered, cancel_requested=False)

    def cancel_then_run(job: Job, progress):  # type: ignore[no-untyped-def]
        Job.objects.filter(pk=job.pk).update(cancel_requested=True)
        return detect_job_handle(job, progress)

    finished = job_run(job_id=job.pk, handler=cancel_then_run)
    assert finished is not None and finished.status == Job.Status.CANCELLED
    assert Recording.objects.get(pk=recording.pk).status == Recording.Status.READY
