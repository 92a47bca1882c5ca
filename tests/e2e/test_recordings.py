"""The recordings page in Chromium: register by path, upload (with a cut-off chunk), watch a job live, cancel it."""
from __future__ import annotations

import pytest

from detection.models import Job, Recording
from tests.conftest import render_test_video
from tests.e2e.conftest import screenshot
from tests.factories import DetectedEventFactory, JobFactory, RecordingFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_register_by_path_shows_result_and_row(page_factory, live_server, owner, video, library):
    page = page_factory(owner)
    page.goto(live_server.url + "/")
    page.fill("#register-path", str(library / "missing.mkv"))
    page.click("#register-form button[type=submit]")
    page.wait_for_selector(".register-error")
    assert "no such file or folder" in page.inner_text("#register-result")

    page.fill("#register-path", str(video))
    page.click("#register-form button[type=submit]")
    page.wait_for_selector(".register-results .r-created")
    # The table refreshes itself (HX-Trigger), no reload.
    page.wait_for_selector(f"#recordings-table >> text={video.name}")
    recording = Recording.objects.get()
    assert page.get_attribute(f"#recording-{recording.pk} td.title a", "href") == f"/recordings/{recording.pk}/review/"
    assert "2026-03-01 18:30:00" in page.inner_text(f"#recording-{recording.pk} td.started")
    screenshot(page, "recordings-registered")


def test_job_progress_updates_live_and_cancels(page_factory, live_server, owner):
    recording = RecordingFactory(owner=owner, title="long-session.mkv")
    DetectedEventFactory.create_batch(3, recording=recording, event_type="kill")
    DetectedEventFactory(recording=recording, event_type="raid_start", review_status="approved")
    job = JobFactory(recording=recording, created_by=owner, status=Job.Status.RUNNING,
                     progress_done=100, progress_total=1000, progress_rate=50.0, message="decoding")
    page = page_factory(owner)
    page.goto(live_server.url + "/")
    row = f"#recording-{recording.pk}"
    page.wait_for_selector(f"{row} .job-count >> text=100/1000")

    Job.objects.filter(pk=job.pk).update(progress_done=600, progress_rate=60.0, message="frame 600")
    page.wait_for_selector(f"{row} .job-count >> text=600/1000")
    page.wait_for_selector("#jobs-panel .job-count >> text=600/1000")
    assert "ETA 0:07" in page.inner_text(f"{row} .job-meta")
    screenshot(page, "recordings-job-running")

    page.click("#jobs-panel .job-cancel")
    page.wait_for_selector("#jobs-panel >> text=(cancelling)")
    assert Job.objects.get(pk=job.pk).cancel_requested
    Job.objects.filter(pk=job.pk).update(status=Job.Status.CANCELLED, message="Cancelled")
    page.wait_for_selector(f"{row} .job[data-status=cancelled]")
    page.wait_for_selector("#jobs-panel >> text=Nothing running.")


def test_upload_resumes_after_a_cut_off_chunk(page_factory, live_server, owner, library, tmp_path):
    source = render_test_video(tmp_path / "browser-upload.mkv", seconds=3, creation_time="2026-02-02T20:00:00Z")
    page = page_factory(owner)
    page.goto(live_server.url + "/")
    page.eval_on_selector("#upload-form", "form => { form.dataset.chunk = '16384'; }")
    cut = {"done": False}

    def cut_second_chunk(route):  # type: ignore[no-untyped-def]
        if route.request.method == "PATCH" and route.request.headers.get("upload-offset") == "16384" and not cut["done"]:
            cut["done"] = True
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/uploads/**", cut_second_chunk)
    page.set_input_files("#upload-file", str(source))
    page.click("#upload-start")
    page.wait_for_selector("#upload-status >> text=registered as recording", timeout=60_000)
    assert cut["done"]
    recording = Recording.objects.get()
    assert recording.video_path.read_bytes() == source.read_bytes()
    page.wait_for_selector(f"#recording-{recording.pk}")
    screenshot(page, "recordings-uploaded")


def test_outsider_sees_nothing(page_factory, live_server, owner, outsider):
    RecordingFactory(owner=owner, title="private.mkv")
    page = page_factory(outsider)
    page.goto(live_server.url + "/")
    assert "private.mkv" not in page.content()
    assert "No recordings yet" in page.inner_text("#recordings-table")


def test_swagger_ui_works_offline(page_factory, live_server, owner):
    page = page_factory(owner)
    outside = []

    def only_local(route):  # type: ignore[no-untyped-def]
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(live_server.url + "/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .info >> text=Vodscope API")
    page.wait_for_selector("text=/api/v1/uploads/{id}/")
    assert outside == []
    screenshot(page, "api-docs")
