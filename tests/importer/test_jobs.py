"""Import from reviewed recordings: the recording page's button, the admin action, the job, and the CLI."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from detection.models import DetectedEvent, Job
from importer.models import ImportTarget, Kill, Raid, StreamSession
from importer.plan import build_session_plan
from importer.sample_log import synthetic_log
from project.jobs.dispatch import run_job
from tests.factories import RecordingFactory
from tests.importer.conftest import T0

pytestmark = pytest.mark.django_db(transaction=True)


def _recording(owner, start, *, seed=0, events=60):  # type: ignore[no-untyped-def]
    log = synthetic_log(started_at=start, events=events, seed=seed)
    recording = RecordingFactory(owner=owner, title=f"{start:%Y-%m-%d} stream.mkv", started_at=start,
                                 source_path=f"/srv/vods/{start:%Y-%m-%d}_stream.mkv", duration_seconds=None)
    for index, event in enumerate(log.events):
        DetectedEvent.objects.create(
            recording=recording, event_id=event.event_id, event_type=event.type, data=event.data,
            video_offset_seconds=event.video_offset_seconds,
            review_status=DetectedEvent.ReviewStatus.APPROVED if index % 4 else DetectedEvent.ReviewStatus.UNREVIEWED,
        )  # fmt: skip
    return recording, build_session_plan(log, source="x", started_at=start)


def _finish(job_id: int) -> Job:
    run_job(job_id)  # embedded passes already ran it eagerly; production needs it run here
    return Job.objects.get(pk=job_id)


def test_the_recording_page_button_imports_into_the_hosted_api(client, owner) -> None:  # type: ignore[no-untyped-def]
    recording, plan = _recording(owner, T0)
    DetectedEvent.objects.filter(recording=recording, event_type="kill").update(review_status=DetectedEvent.ReviewStatus.DELETED)
    client.force_login(owner)
    response = client.post(f"/importer/recordings/{recording.pk}/import/", {"next": "/"})
    assert response.status_code == 302
    job = _finish(Job.objects.get(kind=Job.Kind.IMPORT).pk)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["created"]["raids"] == len(plan.raids) and job.result["created"]["kills"] == 0
    assert job.result["verification"]["ok"] and job.result["unreviewed_events"] > 0
    session = StreamSession.objects.get(owner=owner)
    assert session.started_at == T0 and session.notes == "from 2026-01-15_stream.mkv"
    assert Kill.objects.count() == 0  # deleted events stay out
    fragment = client.get(f"/importer/recordings/{recording.pk}/actions/").content.decode()
    assert "Import to stream-producer" in fragment and "Succeeded" in fragment and "stats check: ok" in fragment
    client.post(f"/importer/recordings/{recording.pk}/import/", HTTP_HX_REQUEST="true")
    second = _finish(Job.objects.filter(kind=Job.Kind.IMPORT).first().pk)  # type: ignore[union-attr]
    assert second.result["skipped_duplicates"] == 1 and StreamSession.objects.count() == 1


def test_only_the_owner_may_import(client, owner, reviewer, outsider) -> None:  # type: ignore[no-untyped-def]
    recording, _ = _recording(owner, T0)
    recording.reviewers.add(reviewer)
    client.force_login(outsider)
    assert client.post(f"/importer/recordings/{recording.pk}/import/").status_code == 404
    client.force_login(reviewer)
    assert client.post(f"/importer/recordings/{recording.pk}/import/").status_code == 403
    assert not Job.objects.filter(kind=Job.Kind.IMPORT).exists()


def test_a_dry_run_job_lists_the_call_and_writes_nothing(client, owner) -> None:  # type: ignore[no-untyped-def]
    recording, _ = _recording(owner, T0)
    client.force_login(owner)
    client.post(f"/importer/recordings/{recording.pk}/import/", {"dry_run": "1"})
    job = _finish(Job.objects.get(kind=Job.Kind.IMPORT).pk)
    assert job.result["dry_run"] and job.result["output"][0].startswith("POST /api/import/session {")
    assert StreamSession.objects.count() == 0
    fragment = client.get(f"/importer/recordings/{recording.pk}/actions/").content.decode()
    assert "(dry run)" in fragment and "nothing was sent" in fragment and "POST /api/import/session" in fragment


def test_a_saved_external_target_is_used_over_http(client, owner, outsider, live_server) -> None:  # type: ignore[no-untyped-def]
    recording, plan = _recording(owner, T0)
    client.force_login(owner)
    page = client.post("/importer/target/", {"api_url": live_server.url, "token": Token.objects.create(user=outsider).key})
    assert page.status_code == 302 and ImportTarget.objects.get(owner=owner).api_url == live_server.url
    client.post(f"/importer/recordings/{recording.pk}/import/")
    job = _finish(Job.objects.get(kind=Job.Kind.IMPORT).pk)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert Raid.objects.filter(session__owner=outsider).count() == len(plan.raids)
    assert not StreamSession.objects.filter(owner=owner).exists()


def test_the_admin_action_imports_the_selection_in_time_order(client, staff, owner) -> None:  # type: ignore[no-untyped-def]
    later, _ = _recording(owner, T0 + timedelta(days=3), seed=1)
    earlier, _ = _recording(owner, T0, seed=2)
    undated = RecordingFactory(owner=owner, title="no start.mkv", started_at=None)
    client.force_login(staff)
    response = client.post("/admin/detection/recording/", {"action": "import_selected_recordings",
                                                           "_selected_action": [later.pk, earlier.pk, undated.pk]})  # fmt: skip
    assert response.status_code == 302
    job = _finish(Job.objects.get(kind=Job.Kind.IMPORT).pk)
    assert job.params["recording_ids"] == [earlier.pk, later.pk, undated.pk]
    assert job.progress_done == job.progress_total == 2  # sessions planned; the undated one never was
    sessions = list(StreamSession.objects.filter(owner=staff).order_by("id").values_list("started_at", flat=True))
    assert sessions == [T0, T0 + timedelta(days=3)]
    failed = [s for s in job.result["sessions"] if s["status"] == "failed"]
    assert len(failed) == 1 and "no start time" in failed[0]["error"]


def test_import_events_command(tmp_path: Path, live_server, owner, capsys) -> None:  # type: ignore[no-untyped-def]
    token = Token.objects.create(user=owner).key
    for day in (2, 0, 1):
        log = synthetic_log(started_at=T0 + timedelta(days=day), events=40, seed=day, source=f"day{day}.mkv")
        (tmp_path / f"day{day}.json").write_text(json.dumps(log.to_json()))
    (tmp_path / "broken.json").write_text("{not json")

    with pytest.raises(CommandError, match="1 session"):  # the unreadable file fails; the three others go on
        call_command("import_events", str(tmp_path), "--api-url", live_server.url, "--token", token, "--dry-run")
    dry = capsys.readouterr().out
    assert dry.count("POST /api/import/session {") == 3 and StreamSession.objects.count() == 0

    with pytest.raises(CommandError):
        call_command("import_events", str(tmp_path), "--api-url", live_server.url, "--token", token, "--session-type", "casual")
    out = capsys.readouterr().out
    assert "created: 3 sessions" in out and "skipped as duplicates: 0; failed: 1" in out and "stats check: ok" in out
    assert list(StreamSession.objects.order_by("id").values_list("notes", flat=True)) == ["from day0.mkv", "from day1.mkv", "from day2.mkv"]
    assert set(StreamSession.objects.values_list("session_type", flat=True)) == {"casual"}

    (tmp_path / "broken.json").unlink()
    call_command("import_events", str(tmp_path), "--api-url", live_server.url, "--token", token)
    assert "created: 0 sessions, 0 raids, 0 kills, 0 transitions; skipped as duplicates: 3; failed: 0" in capsys.readouterr().out


def test_stats_page_shows_the_numbers(client, owner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    assert "No raids yet" in client.get("/importer/stats/").content.decode()
    recording, plan = _recording(owner, T0)
    client.post(f"/importer/recordings/{recording.pk}/import/")
    _finish(Job.objects.get(kind=Job.Kind.IMPORT).pk)
    html = client.get("/importer/stats/").content.decode()
    assert "K/D" in html and "Survival rate" in html and "By map" in html
    assert f"{len(plan.raids)}</span>" in html


def test_admin_pages_for_the_hosted_tables(client, staff, owner) -> None:  # type: ignore[no-untyped-def]
    recording, _ = _recording(owner, T0)
    client.force_login(owner)
    client.post(f"/importer/recordings/{recording.pk}/import/")
    _finish(Job.objects.get(kind=Job.Kind.IMPORT).pk)
    client.force_login(staff)
    session = StreamSession.objects.get()
    for url in ["/admin/importer/streamsession/", f"/admin/importer/streamsession/{session.pk}/change/",
                "/admin/importer/raid/", "/admin/importer/kill/", "/admin/importer/raidstatetransition/",
                "/admin/importer/importledger/", "/admin/importer/importtarget/"]:  # fmt: skip
        assert client.get(url).status_code == 200, url
