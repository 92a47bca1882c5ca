from __future__ import annotations

import re

import pytest

from detection.models import DetectedEvent, Job, Recording, Upload
from tests.factories import DetectedEventFactory, JobFactory, RecordingFactory

pytestmark = pytest.mark.django_db


def test_anonymous_gets_401_everywhere(api_client):
    client = api_client()
    for url in ["/api/v1/recordings/", "/api/v1/jobs/", "/api/v1/events/", "/api/v1/uploads/", "/api/v1/schema/"]:
        assert client.get(url).status_code == 401, url


def test_session_auth_needs_csrf(client, owner, video):
    from rest_framework.test import APIClient

    csrf_client = APIClient(enforce_csrf_checks=True)
    csrf_client.force_login(owner)
    response = csrf_client.post("/api/v1/recordings/", {"path": str(video)}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_visibility_owner_reviewer_staff_outsider(api_client, owner, reviewer, outsider, staff):
    mine = RecordingFactory(owner=owner)
    mine.reviewers.add(reviewer)
    RecordingFactory(owner=outsider)
    ids = lambda user: sorted(r["id"] for r in api_client(user).get("/api/v1/recordings/").json()["results"])  # noqa: E731
    assert ids(owner) == [mine.pk]
    assert ids(reviewer) == [mine.pk]
    assert len(ids(staff)) == 2
    assert api_client(outsider).get(f"/api/v1/recordings/{mine.pk}/").status_code == 404


def test_register_by_path_and_bad_input_answers_400(api_client, owner, video, library):
    client = api_client(owner)
    response = client.post("/api/v1/recordings/", {"path": str(video), "notes": "vod"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["started_at"] == "2026-03-01T18:30:00Z"
    assert body["review_url"] == f"/recordings/{body['id']}/review/"

    duplicate = client.post("/api/v1/recordings/", {"path": str(video)}, format="json")
    assert duplicate.status_code == 400
    assert duplicate.json() == {"detail": f"already registered as recording #{body['id']} ({video.name})",
                                "recording": body["id"]}
    (library / "zero.mkv").touch()
    for path, reason in [
        (str(library / "nope.mkv"), "no such file"),
        ("/etc/hostname", "outside the allowed folders"),
        (str(library / "zero.mkv"), "empty"),
        (str(library), "is a folder"),
    ]:
        answer = client.post("/api/v1/recordings/", {"path": path}, format="json")
        assert answer.status_code == 400
        assert reason in answer.json()["detail"]
    assert client.post("/api/v1/recordings/", {}, format="json").status_code == 400
    assert Recording.objects.count() == 1


def test_register_folder(api_client, owner, video, library):
    (library / "broken.mov").write_text("x")
    response = api_client(owner).post("/api/v1/recordings/register-folder/", {"path": str(library)}, format="json")
    assert response.status_code == 201
    assert {r["status"] for r in response.json()} == {"created", "error"}
    empty = library / "empty"
    empty.mkdir()
    answer = api_client(owner).post("/api/v1/recordings/register-folder/", {"path": str(empty)}, format="json")
    assert answer.status_code == 400
    assert "no videos" in answer.json()["detail"]


def test_update_started_at_marks_user_source(api_client, owner, reviewer):
    recording = RecordingFactory(owner=owner)
    recording.reviewers.add(reviewer)
    change = {"started_at": "2026-04-01T12:00:00Z", "session_type": "practice"}
    assert api_client(reviewer).patch(f"/api/v1/recordings/{recording.pk}/", change, format="json").status_code == 403
    response = api_client(owner).patch(f"/api/v1/recordings/{recording.pk}/", change, format="json")
    assert response.status_code == 200
    assert response.json()["started_at_source"] == "user"
    bad = api_client(owner).patch(f"/api/v1/recordings/{recording.pk}/", {"session_type": "x"}, format="json")
    assert bad.status_code == 400


def test_jobs_create_list_cancel(api_client, owner, outsider):
    recording = RecordingFactory(owner=owner)
    response = api_client(owner).post("/api/v1/jobs/", {"recording": recording.pk, "params": {"detection_fps": 5}}, format="json")
    assert response.status_code == 201, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert (job.kind, job.recording, job.created_by, job.params) == ("detect", recording, owner, {"detection_fps": 5.0})
    assert api_client(outsider).post("/api/v1/jobs/", {"recording": recording.pk}, format="json").status_code == 404
    assert api_client(outsider).get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    assert api_client(owner).post("/api/v1/jobs/", {"recording": recording.pk, "kind": "train"}, format="json").status_code == 400
    twice = api_client(owner).post("/api/v1/jobs/", {"recording": recording.pk}, format="json")
    assert twice.status_code == 409 and twice.json()["job"] == job.pk
    other = RecordingFactory(owner=owner)
    typo = api_client(owner).post("/api/v1/jobs/", {"recording": other.pk, "params": {"fsp": 1}}, format="json")
    assert typo.status_code == 400 and "unknown detection parameters" in typo.json()["detail"]

    Job.objects.filter(pk=job.pk).update(status="running", progress_done=50, progress_total=200, progress_rate=10.0)
    listed = api_client(owner).get("/api/v1/jobs/", {"status": "running"}).json()["results"]
    assert listed[0]["progress"] == {"percent": 25.0, "rate_per_second": 10.0, "eta_seconds": 15.0}
    cancelled = api_client(owner).post(f"/api/v1/jobs/{job.pk}/cancel/")
    assert cancelled.status_code == 200
    assert cancelled.json()["cancel_requested"] is True


def test_events_filters(api_client, owner, outsider):
    recording = RecordingFactory(owner=owner)
    DetectedEventFactory(recording=recording, event_type="kill", confidence=0.95)
    DetectedEventFactory(recording=recording, event_type="kill", confidence=0.4)
    DetectedEventFactory(recording=recording, event_type="raid_start", review_status="approved")
    DetectedEventFactory(recording=RecordingFactory(owner=outsider))
    client = api_client(owner)
    get = lambda **q: [e["event_type"] for e in client.get("/api/v1/events/", q).json()["results"]]  # noqa: E731
    assert len(get()) == 3
    assert get(type="kill") == ["kill", "kill"]
    assert get(event_type="kill", confidence_min=0.5) == ["kill"]
    assert get(confidence_max=0.5) == ["kill"]
    assert get(review_status="approved") == ["raid_start"]
    assert get(recording=recording.pk, ordering="-confidence")[0] == "kill"
    event = DetectedEvent.objects.filter(recording=recording).first()
    assert client.get(f"/api/v1/events/{event.pk}/").status_code == 200
    assert api_client(outsider).get(f"/api/v1/events/{event.pk}/").status_code == 404


def test_pagination(api_client, owner):
    RecordingFactory.create_batch(55, owner=owner)
    first = api_client(owner).get("/api/v1/recordings/").json()
    assert first["count"] == 55 and len(first["results"]) == 50 and first["next"]


def test_schema_and_swagger_are_served_locally(client, owner):
    client.force_login(owner)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/recordings/" in paths and "/api/v1/uploads/{id}/" in paths
    docs = client.get("/api/v1/docs/").content.decode()
    # The page's own CSRF token is random letters and may spell "cdn": look at what it loads, not at all its text.
    loaded = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", docs)
    assert "swagger-ui" in docs and loaded and "://" not in docs
    assert all(url.startswith("/") and not url.startswith("//") and "cdn" not in url.lower() for url in loaded), loaded


def _chunks(api, url, data, start=0, size=64 * 1024):
    last = None
    for offset in range(start, len(data), size):
        last = api.patch(url, data[offset:offset + size], content_type="application/offset+octet-stream",
                         HTTP_UPLOAD_OFFSET=str(offset))
        assert last.status_code in (200, 201), last.content
    return last


def test_chunked_upload_resumes_and_creates_a_recording(api_client, owner, outsider, video, settings):
    data = video.read_bytes()
    video.unlink()
    api = api_client(owner)
    created = api.post("/api/v1/uploads/", {"filename": "stream.mkv", "size": len(data),
                                            "started_at": "2026-05-05T20:00:00Z"}, format="json")
    assert created.status_code == 201
    url = created.json()["url"]
    half = len(data) // 2
    first = api.patch(url, data[:half], content_type="application/offset+octet-stream", HTTP_UPLOAD_OFFSET="0")
    assert first.json()["offset"] == half
    # A retry of an old chunk (the answer got lost) is told where to resume.
    stale = api.patch(url, data[:10], content_type="application/offset+octet-stream", HTTP_UPLOAD_OFFSET="0")
    assert stale.status_code == 409 and stale.json()["offset"] == half
    assert api.get(url).json()["offset"] == half
    assert api_client(outsider).get(url).status_code == 404
    done = _chunks(api, url, data, start=half)
    assert done.status_code == 201
    recording = Recording.objects.get(pk=done.json()["id"])
    assert recording.started_at_source == "user"
    assert recording.video_path.read_bytes() == data
    assert recording.uploaded_file.name.startswith("uploads/")
    assert not Upload.objects.exists()
    assert list((settings.VODSCOPE_UPLOAD_DIR / "partial").iterdir()) == []


def test_bad_uploads_leave_nothing(api_client, owner, settings, library):
    api = api_client(owner)
    for body, reason in [
        ({"filename": "notes.txt", "size": 10}, "not a video file"),
        ({"filename": "empty.mkv", "size": 0}, "empty"),
    ]:
        answer = api.post("/api/v1/uploads/", body, format="json")
        assert answer.status_code == 400 and reason in answer.json()["detail"]
    junk = b"not a video at all" * 100
    url = api.post("/api/v1/uploads/", {"filename": "junk.mkv", "size": len(junk)}, format="json").json()["url"]
    too_long = api.patch(url, junk + b"x", content_type="application/offset+octet-stream", HTTP_UPLOAD_OFFSET="0")
    assert too_long.status_code == 400 and "past the declared size" in too_long.json()["detail"]
    answer = api.patch(url, junk, content_type="application/offset+octet-stream", HTTP_UPLOAD_OFFSET="0")
    assert answer.status_code == 400 and "not a readable video" in answer.json()["detail"]
    assert not Upload.objects.exists() and not Recording.objects.exists()
    assert [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()] == []


def test_abandoned_uploads_are_purged(api_client, owner, library):
    from datetime import timedelta
    from pathlib import Path

    from django.utils import timezone

    api = api_client(owner)
    old = api.post("/api/v1/uploads/", {"filename": "old.mkv", "size": 100}, format="json").json()
    Upload.objects.filter(pk=old["id"]).update(updated_at=timezone.now() - timedelta(days=8))
    old_part = Path(Upload.objects.get(pk=old["id"]).temp_path)
    assert old_part.exists()
    api.post("/api/v1/uploads/", {"filename": "new.mkv", "size": 100}, format="json")
    assert list(Upload.objects.values_list("filename", flat=True)) == ["new.mkv"]
    assert not old_part.exists()
