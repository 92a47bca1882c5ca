"""An MKV the browser may not play: the page offers a proxy job, and the player then gets the MP4."""
from __future__ import annotations

from pathlib import Path

import pytest

from detection.models import Job
from project.celery import app as celery_app
from tests.e2e.conftest import screenshot
from tests.review.factories import EventFactory, RecordingFactory, make_test_video

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mkv_recording(owner, tmp_path: Path, settings, monkeypatch):  # type: ignore[no-untyped-def]
    # The job runs inline in the server thread, in both test passes: this test is about the page, not the worker.
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)
    settings.MEDIA_ROOT = tmp_path / "media"
    source = make_test_video(tmp_path / "obs" / "2026-11-20 20-00-00.mkv", seconds=4, fps=25)
    recording = RecordingFactory(owner=owner, title="OBS capture", source_path=str(source), container="matroska,webm")
    EventFactory(recording=recording, video_offset_seconds=2.0)
    return recording


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_make_a_browser_proxy_from_the_page(page_factory, live_server, owner, mkv_recording, size):
    original = Path(mkv_recording.source_path).read_bytes()
    page = page_factory(owner, *size)
    page.goto(f"{live_server.url}/recordings/{mkv_recording.pk}/review/")
    assert page.locator(".notice").count() == 1
    screenshot(page, f"review-mkv-{size[0]}x{size[1]}")
    page.click("text=Make browser proxy")
    page.wait_for_selector("#jobs .job.j-succeeded")
    job = Job.objects.get(recording=mkv_recording, kind=Job.Kind.PROXY)
    assert job.status == Job.Status.SUCCEEDED and job.result["remuxed"] is True
    assert page.locator("text=Make browser proxy").count() == 0
    page.wait_for_function("document.querySelector('video').src.endsWith('?v=proxy')")
    page.wait_for_selector(".notice", state="detached")
    screenshot(page, f"review-mkv-proxied-{size[0]}x{size[1]}")

    page.reload()
    page.wait_for_function("document.querySelector('video').readyState >= 1")
    assert abs(page.evaluate("document.querySelector('video').duration") - 4.0) < 0.2
    assert page.locator(".notice").count() == 0
    response = page.request.get(f"{live_server.url}/recordings/{mkv_recording.pk}/review/video/", headers={"Range": "bytes=0-7"})
    assert response.status == 206 and response.headers["content-type"] == "video/mp4"
    assert response.body()[4:8] == b"ftyp"
    assert Path(mkv_recording.source_path).read_bytes() == original
