"""The box editor in a real browser: draw a box, set its class by key, delete and undo, save: stored as drawn."""
from __future__ import annotations

import pytest

from labeling.datasets.annotations import annotation_candidates_collect
from labeling.datasets.transfer import dataset_classes
from labeling.models import AnnotationChange, FrameAnnotation
from tests.conftest import render_test_video
from tests.e2e.conftest import screenshot
from tests.factories import DetectedEventFactory, RecordingFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def frame(settings, tmp_path, owner):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    video = render_test_video(tmp_path / "clip.mkv", seconds=1.0, fps=10, size="320x180")
    recording = RecordingFactory(owner=owner, title="Editor night", source_path=str(video), avg_fps=10.0)
    DetectedEventFactory(recording=recording, frame_number=4, confidence=0.6, evidence={
        "class": "kill_notification", "box": [0.1, 0.1, 0.4, 0.3], "confidence": 0.6, "confirmed_at_frame": 4})
    annotation_candidates_collect(recording=recording)
    return FrameAnnotation.objects.get(recording=recording)


def test_draw_a_box_set_its_class_and_save(page_factory, live_server, owner, frame) -> None:  # type: ignore[no-untyped-def]
    page = page_factory(owner, 1400, 900)
    page.goto(f"{live_server.url}/recordings/queue/frames/{frame.pk}/edit/")
    page.wait_for_function("window.vodscopeEditor && window.vodscopeEditor.ready()")
    canvas = page.locator("#editor-canvas").bounding_box()
    x, y, w, h = canvas["x"], canvas["y"], canvas["width"], canvas["height"]
    page.mouse.move(x + 0.55 * w, y + 0.5 * h)
    page.mouse.down()
    page.mouse.move(x + 0.7 * w, y + 0.7 * h, steps=4)
    page.mouse.move(x + 0.85 * w, y + 0.9 * h, steps=4)
    page.mouse.up()
    page.keyboard.press("2")  # the new box (selected) takes the second class
    page.keyboard.press("Tab")  # to the detector's box: delete it, then think better of it
    page.keyboard.press("Delete")
    assert len(page.evaluate("window.vodscopeEditor.boxes()")) == 1
    page.keyboard.press("Control+z")
    screenshot(page, "box-editor-1400x900")
    fitted = page.evaluate("document.getElementById('editor-canvas').width")
    page.keyboard.press("+")
    assert page.evaluate("document.getElementById('editor-canvas').width") > fitted
    assert page.evaluate("window.vodscopeEditor.boxes().length") == 2
    page.keyboard.press("s")
    page.wait_for_selector("#editor-status.saved")

    frame.refresh_from_db()
    stored = {b.label: [b.x0, b.y0, b.x1, b.y1] for b in frame.boxes.all()}
    assert frame.status == "labelled" and len(stored) == 2
    assert stored.pop("kill_notification") == [0.1, 0.1, 0.4, 0.3]
    assert stored == {dataset_classes()[1]: pytest.approx([0.55, 0.5, 0.85, 0.9], abs=0.01)}
    assert AnnotationChange.objects.get(frame=frame).action == "editor:save"
