"""The stats page and the review page's import button in Chromium."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from detection.models import DetectedEvent, Job
from importer import selectors, services
from importer.plan import atomic_body, build_session_plan
from importer.sample_log import synthetic_log
from project.jobs.dispatch import run_job
from tests.e2e.conftest import screenshot
from tests.importer.conftest import T0
from tests.review.factories import RecordingFactory, make_test_video

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hosted(owner):  # type: ignore[no-untyped-def]
    for day in range(3):
        log = synthetic_log(started_at=T0 + timedelta(days=day), events=150, seed=day, source=f"2026-01-{15 + day}_stream.mkv")
        services.session_import(owner=owner, body=atomic_body(build_session_plan(log, source="x")))
    return selectors.stats(owner=owner)


def test_stats_page_shows_kd_survival_and_maps(page_factory, live_server, owner, hosted) -> None:  # type: ignore[no-untyped-def]
    for width, height in ((1280, 800), (390, 844)):
        page = page_factory(owner, width, height)
        page.goto(f"{live_server.url}/importer/stats/")
        assert page.inner_text('[data-kpi="kd"] .value') == f"{hosted['kd_ratio']:.2f}"
        assert page.inner_text('[data-kpi="survival"] .value') == f"{round(100 * hosted['survival_rate'])}%"
        assert page.inner_text('[data-kpi="raids"] .value') == str(hosted["raids"])
        assert page.locator(".imp-maps tbody tr").count() == len(hosted["by_map"])
        assert "Streets Of Tarkov" in page.inner_text(".imp-maps") or "Customs" in page.inner_text(".imp-maps")
        screenshot(page, f"importer-stats-{width}x{height}")


def test_empty_stats_and_target_settings(page_factory, live_server, outsider) -> None:  # type: ignore[no-untyped-def]
    page = page_factory(outsider)
    page.goto(f"{live_server.url}/importer/stats/")
    assert "No raids yet" in page.inner_text(".imp-empty")
    screenshot(page, "importer-stats-empty")
    page.click(".imp-head a.button")
    page.fill("#id_api_url", "http://127.0.0.1:8080")
    page.click(".imp-form button[type=submit]")
    assert "needs its API token" in page.inner_text(".imp-form")
    page.fill("#id_token", "secret-token")
    page.click(".imp-form button[type=submit]")
    page.wait_for_selector(".messages >> text=Import target saved")
    screenshot(page, "importer-target")


def test_import_button_on_the_review_page(page_factory, live_server, owner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    video = make_test_video(tmp_path / "stream.mp4", seconds=4)
    recording = RecordingFactory(owner=owner, title="Saturday stream", source_path=str(video), duration_seconds=4.0, started_at=T0)
    for event in synthetic_log(started_at=T0, events=30, seed=4).events:
        DetectedEvent.objects.create(recording=recording, event_id=event.event_id, event_type=event.type,
                                     data=event.data, video_offset_seconds=event.video_offset_seconds)  # fmt: skip
    page = page_factory(owner)
    page.goto(f"{live_server.url}/recordings/{recording.pk}/review/")
    page.click(".imp-import-button")
    page.wait_for_selector(".imp-last")
    run_job(Job.objects.get(kind=Job.Kind.IMPORT).pk)  # inline already when embedded; the worker's turn otherwise
    page.wait_for_selector(".imp-last.s-succeeded", timeout=20_000)
    assert "stats check: ok" in page.inner_text(".imp-last")
    screenshot(page, "importer-review-panel")
    page.click(".imp-import-form >> text=stats")
    assert page.inner_text('[data-kpi="raids"] .value') == str(selectors.stats(owner=owner)["raids"])
