"""The labelling queue in a real browser: best first, j/k move, a accepts, d marks no object, e opens the editor."""
from __future__ import annotations

import pytest

from labeling.datasets.annotations import annotation_candidates_collect
from labeling.models import FrameAnnotation
from tests.conftest import render_test_video
from tests.e2e.conftest import screenshot
from tests.factories import DetectedEventFactory, RecordingFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def frames(settings, tmp_path, owner):  # type: ignore[no-untyped-def]
    """Three candidate frames, the unsure one (0.6) detected last, the sure one (0.99) first."""
    settings.MEDIA_ROOT = tmp_path / "media"
    video = render_test_video(tmp_path / "clip.mkv", seconds=2.0, fps=10, size="320x180")
    recording = RecordingFactory(owner=owner, title="Queue night", source_path=str(video), avg_fps=10.0,
                                 duration_seconds=2.0)
    for frame, confidence, box in ((2, 0.99, [0.05, 0.05, 0.4, 0.3]), (9, 0.8, [0.5, 0.1, 0.9, 0.4]),
                                   (15, 0.6, [0.3, 0.5, 0.7, 0.95])):
        DetectedEventFactory(recording=recording, frame_number=frame, confidence=confidence, evidence={
            "class": "kill_notification", "box": box, "confidence": confidence, "confirmed_at_frame": frame})
    annotation_candidates_collect(recording=recording)
    return {f.frame_number: f for f in FrameAnnotation.objects.filter(recording=recording)}


def selected(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator('li.qcard[aria-selected="true"]').get_attribute("data-frame-id")


def test_the_queue_orders_and_its_keys_label(page_factory, live_server, owner, frames) -> None:  # type: ignore[no-untyped-def]
    page = page_factory(owner, 1400, 900)
    page.goto(f"{live_server.url}/recordings/queue/")
    page.wait_for_function("[...document.querySelectorAll('li.qcard img')].every(i => i.complete && i.naturalWidth)")
    order = page.locator("li.qcard").evaluate_all("cards => cards.map(c => c.dataset.frameId)")
    assert order == [str(frames[n].pk) for n in (15, 9, 2)]  # 0.6, then 0.8, then 0.99
    assert "uncertain: confidence 0.60" in page.locator("li.qcard").first.inner_text()
    screenshot(page, "queue-1400x900")

    assert selected(page) == str(frames[15].pk)
    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("a")  # accept the 0.6 frame's box; the selection moves on
    page.wait_for_function(f"document.getElementById('frame-{frames[15].pk}').classList.contains('status-labelled')")
    assert selected(page) == str(frames[9].pk)
    page.keyboard.press("d")
    page.wait_for_function(f"document.getElementById('frame-{frames[9].pk}').classList.contains('status-labelled')")
    accepted, negative = (FrameAnnotation.objects.get(pk=frames[n].pk) for n in (15, 9))
    assert accepted.status == "labelled" and accepted.boxes.count() == 1
    assert negative.status == "labelled" and negative.boxes.count() == 0
    assert selected(page) == str(frames[2].pk)

    page.keyboard.press("e")
    page.wait_for_url(f"**/recordings/queue/frames/{frames[2].pk}/edit/?next=%2Frecordings%2Fqueue%2F")
    page.wait_for_selector("#editor-canvas")


def test_j_past_the_last_card_turns_the_page(page_factory, live_server, owner, frames, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("review.views_queue.PER_PAGE", 2)  # the live server runs in this process
    page = page_factory(owner)
    page.goto(f"{live_server.url}/recordings/queue/")
    page.wait_for_selector('li.qcard[aria-selected="true"]')
    page.keyboard.press("j")
    page.keyboard.press("j")  # past the last card of page 1
    page.wait_for_url("**/recordings/queue/?start=2")
    page.wait_for_function(f"document.querySelector('li.qcard[aria-selected=\"true\"]')?.dataset.frameId === '{frames[2].pk}'")
    page.keyboard.press("k")  # before the first card of page 2: back to page 1, on its last card
    page.wait_for_function(f"document.querySelector('li.qcard[aria-selected=\"true\"]')?.dataset.frameId === '{frames[9].pk}'")
    page.keyboard.press("a")  # labelled: it leaves the queue, so the next page starts one rank earlier
    page.wait_for_function(f"document.getElementById('frame-{frames[9].pk}').classList.contains('status-labelled')")
    page.keyboard.press("j")
    page.wait_for_url("**/recordings/queue/?start=1")
    page.wait_for_function(f"document.querySelector('li.qcard[aria-selected=\"true\"]')?.dataset.frameId === '{frames[2].pk}'")
