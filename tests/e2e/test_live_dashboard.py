"""The dashboard and the overlay in Chromium, served by a real daphne process (WebSockets), receiving
an event and a live label that another process (here: the test) saved as the live process does."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from detection.pipeline.types import Event
from detection.services.live import live_events_save, live_session_start, live_status_save
from labeling.vlm_models import WindowLabel
from review.services_live import overlay_token_create
from tests.e2e.conftest import login
from tests.project.worker import worker_environment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def asgi_server(transactional_db, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "daphne.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                                "project.asgi:application"], cwd=settings.BASE_DIR, env=worker_environment(),
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "daphne.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a loaded machine: its graceful shutdown is not what is tested
            process.kill()
            process.wait()
        log.close()


def test_the_dashboard_and_the_overlay_show_a_live_event_as_it_is_saved(browser, asgi_server, owner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    session = live_session_start(owner=owner, title="Live", video_path="/tmp/none.mkv", session_type="stream",
                                 source="test", params={})
    token = overlay_token_create(user=owner)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    overlay_context = browser.new_context()  # no login: the token in the URL
    try:
        dashboard = context.new_page()
        dashboard.set_default_timeout(20_000)
        login(dashboard, asgi_server, owner.username)
        dashboard.goto(f"{asgi_server}/live/")
        dashboard.wait_for_selector("[data-live-feed][data-connected=true]")
        overlay = overlay_context.new_page()
        overlay.set_default_timeout(20_000)
        overlay.goto(f"{asgi_server}/live/overlay/{token.key}/")
        overlay.wait_for_selector("[data-live-feed][data-connected=true]")

        live_events_save(session=session, events=[Event("kill-7", "kill", 42.0, 1260, 0.9, {"enemy": "raider"})])
        live_status_save(session=session, state={"state": "raid_active", "raid": {"map": "dam", "kills": 1}},
                         stats={"frames": 200, "dropped": 3, "detection_fps": 5.0, "latency_ms": 150, "video_time": 42.0})

        item = dashboard.wait_for_selector('[data-live="feed"] li[data-event-id="kill-7"]')
        assert "raider" in item.inner_text() and "0:42" in item.inner_text()
        dashboard.wait_for_function("document.querySelector('[data-live=state]').textContent === 'raid_active'")
        assert dashboard.inner_text('[data-live="stats.dropped"]') == "3"
        overlay.wait_for_selector('[data-live="feed"] li[data-event-id="kill-7"]')
        overlay.wait_for_function("document.querySelector('[data-live=\"raid.kills\"]').textContent === '1'")
        assert overlay.evaluate("getComputedStyle(document.body).backgroundColor") == "rgba(0, 0, 0, 0)"

        # A kill known only from its raid's kill list arrives after the raid: the dashboard says when it happened,
        # the viewers' overlay leaves it out (the kill after it shows there, so it was not merely late).
        listed = Event("kill-1900-listed0", "kill", 63.3, 1900, 0.43, {"enemy": "boss", "weapon": "VSS"},
                       evidence={"inferred": True, "happened_between": [5.5, 49.9]})
        live_events_save(session=session, events=[listed])
        live_events_save(session=session, events=[Event("kill-2100", "kill", 70.0, 2100, 0.9, {"enemy": "pmc"})])
        item = dashboard.wait_for_selector('[data-live="feed"] li[data-event-id="kill-1900-listed0"]')
        assert "listed after the raid: happened between 0:05 and 0:49" in item.inner_text()
        dashboard.wait_for_selector('[data-live="feed"] li[data-event-id="kill-2100"]')
        overlay.wait_for_selector('[data-live="feed"] li[data-event-id="kill-2100"]')
        assert overlay.query_selector('[data-live="feed"] li[data-event-id="kill-1900-listed0"]') is None

        WindowLabel.objects.create(
            recording=session.recording, job=session.job, video_path="/tmp/none.mkv", prompt_version="tactical_v1",
            spec=f"live{session.job.pk}:5x2/2", window_index=20, start=40.0, end=42.0, frames=[40.0, 41.6],
            status=WindowLabel.Status.LABELLED, source=WindowLabel.Source.VLM, backend="ollama:test-model",
            label={"tactic": "kiting", "health": 73, "shield": 40})
        dashboard.wait_for_function("document.querySelector('[data-live=\"label.tactic\"]').textContent === 'kiting'")
        assert dashboard.inner_text('[data-live="label.health"]') == "73"
        assert dashboard.inner_text('[data-live="label.window"]') == "0:40–0:42"
        dashboard.screenshot(path=str(tmp_path / "live-dashboard.png"), full_page=True)
    finally:
        context.close()
        overlay_context.close()
