"""The recordings page (`/`) and its fragments, through Django's test client."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from detection.models import Job, Recording
from tests.conftest import PASSWORD
from tests.factories import DetectedEventFactory, JobFactory, RecordingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_owner(client, owner):  # type: ignore[no-untyped-def]
    client.force_login(owner)
    return client


def test_pages_need_a_login(client):
    for url in ["/", "/jobs/", "/jobs/1/progress/", "/admin/"]:
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"], url


def test_admin_needs_staff(client, owner, staff):
    client.force_login(owner)
    assert client.get("/admin/detection/recording/").status_code == 302
    client.force_login(staff)
    RecordingFactory(owner=owner)
    assert client.get("/admin/detection/recording/?q=mkv").status_code == 200
    assert client.get("/admin/detection/job/").status_code == 200
    assert client.get("/admin/detection/detectedevent/").status_code == 200


def test_list_shows_counts_in_constant_queries(as_owner, owner, outsider, django_assert_max_num_queries):
    for _ in range(3):
        recording = RecordingFactory(owner=owner)
        DetectedEventFactory.create_batch(2, recording=recording, event_type="kill")
        DetectedEventFactory(recording=recording, event_type="raid_start", review_status="approved")
    JobFactory(recording=recording, status="running", progress_done=30, progress_total=120, progress_rate=5.0)
    hidden = RecordingFactory(owner=outsider, title="someone-else.mkv")
    with django_assert_max_num_queries(12):
        response = as_owner.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert hidden.title not in html
    assert html.count("kill <b>2</b>") == 3
    assert "2 open" in html and "1 ok" in html
    assert f'href="/recordings/{recording.pk}/review/"' in html
    assert "30/120" in html and "ETA 0:18" in html
    # Ten more recordings cost no extra queries.
    for _ in range(10):
        DetectedEventFactory(recording=RecordingFactory(owner=owner))
    with django_assert_max_num_queries(12):
        as_owner.get("/")


def test_register_by_path_htmx_and_plain(as_owner, video, library):
    answer = as_owner.post("/recordings/register/", {"path": str(video), "session_type": "stream"}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    assert "created" in answer.content.decode()
    assert "recordings-changed" in answer["HX-Trigger"]
    again = as_owner.post("/recordings/register/", {"path": str(video), "session_type": "stream"}, HTTP_HX_REQUEST="true")
    assert "already registered as recording" in again.content.decode()
    plain = as_owner.post("/recordings/register/", {"path": "/etc/passwd", "session_type": "stream"}, follow=True)
    assert "outside the allowed folders" in plain.content.decode()
    missing = as_owner.post("/recordings/register/", {"path": "", "session_type": "stream"}, HTTP_HX_REQUEST="true")
    assert "path:" in missing.content.decode()
    assert Recording.objects.count() == 1


def test_register_with_started_at_override(as_owner, video):
    as_owner.post("/recordings/register/", {"path": str(video), "session_type": "practice",
                                            "started_at": "2026-01-02T03:04:05"})
    recording = Recording.objects.get()
    assert recording.started_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert (recording.started_at_source, recording.session_type) == ("user", "practice")


def test_forms_need_csrf(owner, video):
    client = Client(enforce_csrf_checks=True)
    client.login(username=owner.username, password=PASSWORD)
    assert client.post("/recordings/register/", {"path": str(video)}).status_code == 403
    recording = RecordingFactory(owner=owner)
    assert client.post(f"/recordings/{recording.pk}/detect/").status_code == 403


def test_change_started_at(as_owner, owner, reviewer, client):
    recording = RecordingFactory(owner=owner)
    recording.reviewers.add(reviewer)
    as_owner.post(f"/recordings/{recording.pk}/started-at/", {"started_at": "2026-02-03T04:05:06"})
    recording.refresh_from_db()
    assert recording.started_at == datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
    client.force_login(reviewer)
    assert client.post(f"/recordings/{recording.pk}/started-at/", {"started_at": "2020-01-01T00:00"}).status_code == 404


def test_detect_button_queues_one_job(as_owner, owner, outsider, client):
    recording = RecordingFactory(owner=owner)
    as_owner.post(f"/recordings/{recording.pk}/detect/")
    as_owner.post(f"/recordings/{recording.pk}/detect/")
    job = Job.objects.get()
    assert (job.kind, job.recording, job.created_by) == ("detect", recording, owner)
    client.force_login(outsider)
    assert client.post(f"/recordings/{recording.pk}/detect/").status_code == 404


def test_job_fragment_polls_while_active_and_cancel(as_owner, owner, outsider, client):
    job = JobFactory(recording=RecordingFactory(owner=owner), created_by=owner, status="running",
                     progress_done=250, progress_total=1000, progress_rate=25.0, message="frame 250")
    html = as_owner.get(f"/jobs/{job.pk}/progress/").content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert "250/1000" in html and "25%" in html and "25.0/s" in html and "ETA 0:30" in html
    panel = as_owner.post(f"/jobs/{job.pk}/cancel/", HTTP_HX_REQUEST="true")
    assert panel.status_code == 200 and "cancelling" in panel.content.decode()
    Job.objects.filter(pk=job.pk).update(status="cancelled")
    assert 'hx-trigger="every 1s"' not in as_owner.get(f"/jobs/{job.pk}/progress/").content.decode()
    client.force_login(outsider)
    assert client.get(f"/jobs/{job.pk}/progress/").status_code == 404
    assert client.post(f"/jobs/{job.pk}/cancel/").status_code == 404


def test_jobs_panel_lists_active_and_recent(as_owner, owner):
    recording = RecordingFactory(owner=owner)
    JobFactory(recording=recording, status="queued")
    JobFactory(recording=recording, status="failed", error="ValueError: boom", finished_at=datetime.now(tz=UTC))
    html = as_owner.get("/jobs/").content.decode()
    assert "Queued" in html and "ValueError: boom" in html and 'hx-trigger="every 1s"' in html


def test_cancel_button_only_for_who_may_cancel(as_owner, owner, reviewer, client):
    """Every place a job is drawn (table row, jobs panel, progress poll) asks the one rule; a reviewer gets none."""
    recording = RecordingFactory(owner=owner)
    recording.reviewers.add(reviewer)
    job = JobFactory(recording=recording, created_by=owner, status="running")
    pages = ["/", "/jobs/", f"/jobs/{job.pk}/progress/", f"/jobs/{job.pk}/progress/?compact=1"]
    assert all("job-cancel" in as_owner.get(url).content.decode() for url in pages)
    client.force_login(reviewer)
    assert all(client.get(url).status_code == 200 for url in pages)
    assert not any("job-cancel" in client.get(url).content.decode() for url in pages)
