"""The label lane in a real browser: coloured segments, click seeks, and the correction key stores a label."""
from __future__ import annotations

from pathlib import Path

import pytest

from detection.models import Job
from labeling.vlm_models import WindowLabel
from tests.e2e.conftest import screenshot
from tests.factories import JobFactory
from tests.labeling.fake_vlm import GOOD_LABEL
from tests.review.factories import RecordingFactory, make_test_video

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TACTICS = ["kiting", "kiting", "fleeing", "looting", "kiting", "healing"]


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_video(tmp_path_factory.mktemp("e2e-labels") / "session.mp4", seconds=12, fps=25, size="640x360")


@pytest.fixture
def recording(owner, reviewer, video):  # type: ignore[no-untyped-def]
    rec = RecordingFactory(owner=owner, title="Labelled stream", source_path=str(video), duration_seconds=12.0)
    rec.reviewers.add(reviewer)
    for i, tactic in enumerate(TACTICS):
        failed = i == 3
        WindowLabel.objects.create(
            recording=rec, video_path=str(video), prompt_version="tactical_v1", spec="5x2/2", window_index=i,
            start=2.0 * i, end=2.0 * i + 2.0, frames=[], ocr={"health": 70, "shield": 40},
            status=WindowLabel.Status.FAILED if failed else WindowLabel.Status.LABELLED,
            label=None if failed else {**GOOD_LABEL, "tactic": tactic}, flagged=i == 2,
            source=WindowLabel.Source.NONE if failed else WindowLabel.Source.VLM, backend="ollama:minicpm-v",
        )
    return rec


def open_review(page_factory, live_server, user, recording):  # type: ignore[no-untyped-def]
    page = page_factory(user)
    page.goto(f"{live_server.url}/recordings/{recording.pk}/review/")
    page.wait_for_function("document.querySelector('video').readyState >= 1")
    return page


def test_segments_are_coloured_by_tactic_and_a_click_seeks_to_the_window_start(page_factory, live_server, owner,
                                                                               recording):
    page = open_review(page_factory, live_server, owner, recording)
    segments = page.locator("#label-lane .seg")
    assert segments.count() == len(TACTICS)
    colours = [segments.nth(i).evaluate("el => getComputedStyle(el).backgroundColor") for i in range(len(TACTICS))]
    assert colours[0] == colours[1] == colours[4], "one tactic, one colour"
    assert len({colours[0], colours[2], colours[5]}) == 3, "three tactics, three colours"
    assert "repeating-linear-gradient" in segments.nth(3).evaluate("el => getComputedStyle(el).backgroundImage")
    assert "flagged" in (segments.nth(2).get_attribute("class") or "")
    box = page.locator("#label-lane .label-lane").bounding_box()
    assert box is not None and box["width"] > 400
    assert abs(segments.nth(2).bounding_box()["x"] - (box["x"] + box["width"] * 4 / 12)) < 3  # type: ignore[index]
    segments.nth(4).click()
    page.wait_for_function("Math.abs(document.getElementById('player').currentTime - 8) < 0.05")
    assert "current" in (segments.nth(4).get_attribute("class") or "")
    screenshot(page, "review-label-lane")


def test_the_correction_key_picks_a_tactic_with_a_number_and_saves_with_enter(page_factory, live_server, reviewer,
                                                                              recording):
    page = open_review(page_factory, live_server, reviewer, recording)
    page.evaluate("document.getElementById('player').currentTime = 5.0")  # inside the third window (4-6 s)
    page.wait_for_function("Math.abs(document.getElementById('player').currentTime - 5) < 0.05")
    page.locator("#event-list").focus()
    page.keyboard.press("t")
    form = page.locator("#label-popup .label-form")
    form.wait_for()
    assert form.locator("select[name=tactic]").input_value() == "fleeing"
    page.keyboard.press("7")  # healing, the seventh tactic of the demo profile
    assert form.locator("select[name=tactic]").input_value() == "healing"
    screenshot(page, "review-label-correct")
    page.keyboard.press("Enter")
    page.wait_for_selector("#label-lane .seg.corrected")
    row = WindowLabel.objects.get(recording=recording, window_index=2)
    assert row.corrected_label is not None and row.corrected_label["tactic"] == "healing"
    assert row.corrected_by == reviewer and row.label is not None and row.label["tactic"] == "fleeing"
    segment = page.locator("#label-lane .seg").nth(2)
    assert "k6" in (segment.get_attribute("class") or "")
    assert "corrected by reviewer" in (segment.get_attribute("title") or "")
    assert page.locator("#label-popup .label-form").count() == 0, "the popup closes on save"

    # A value outside the schema is refused in the popup, which stays open; Escape closes it, nothing stored.
    page.keyboard.press("t")
    form.wait_for()
    form.locator("input[name=health]").fill("150")
    form.locator("input[name=health]").press("Enter")
    page.wait_for_selector("#label-popup .error")
    assert "health: 150 is outside 0-100" in page.locator("#label-popup .error").inner_text()
    page.keyboard.press("Escape")
    page.wait_for_selector("#label-popup .label-form", state="detached")  # closed, not only hidden
    row.refresh_from_db()
    assert row.corrected_label["health"] == GOOD_LABEL["health"]


def test_the_lane_follows_what_a_running_vlm_job_writes(page_factory, live_server, owner, recording):
    JobFactory(kind=Job.Kind.VLM, recording=recording, status=Job.Status.RUNNING)
    page = open_review(page_factory, live_server, owner, recording)
    assert page.locator("#label-lane .seg").count() == len(TACTICS)
    WindowLabel.objects.filter(recording=recording, window_index=len(TACTICS) - 1).delete()
    page.wait_for_function(f"document.querySelectorAll('#label-lane .seg').length === {len(TACTICS) - 1}")
