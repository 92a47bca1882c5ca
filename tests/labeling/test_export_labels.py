"""export_labels: labelled windows as JSONL training data, corrections winning, actions only with an input log."""
from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import cv2
import pytest
from django.core.management import CommandError, call_command

from labeling.export_labels import labels_export
from labeling.inputlog_services import input_log_attach
from labeling.vlm_models import WindowLabel
from tests.conftest import render_test_video
from tests.factories import RecordingFactory

pytestmark = pytest.mark.django_db

FRAMES = [[0.0, 0.4, 0.8, 1.2, 1.6], [2.0, 2.4, 2.8, 3.2, 3.6], [4.0, 4.4, 4.8, 5.2, 5.6], [6.0, 6.4, 6.8, 7.2, 7.6]]


def label(tactic: str, health: int, shield: int) -> dict[str, object]:
    return {"health": health, "shield": shield, "tactic": tactic, "intent_matches": "true", "rationale": "r",
            "confidence": 0.9}


@pytest.fixture
def labelled(library):  # type: ignore[no-untyped-def]
    """A recording with four windows: plain, flagged (model far off OCR), corrected, failed."""
    video = render_test_video(library / "v.mkv", seconds=8.0)
    recording = RecordingFactory(source_path=str(video))

    def window(index: int, **fields: object) -> WindowLabel:
        frames = FRAMES[index]
        defaults: dict[str, object] = dict(recording=recording, video_path=str(video), prompt_version="tactical_v1",
                                           spec="5x2/2", window_index=index, start=frames[0], end=frames[0] + 2,
                                           frames=frames, status="labelled", source="vlm", ocr={"health": 80, "shield": 50})
        return WindowLabel.objects.create(**{**defaults, **fields})

    window(0, label=label("kiting", 81, 50))
    window(1, label=label("looting", 30, 50), flagged=True)
    window(2, label=label("fleeing", 10, 10), corrected_label=label("aggressive_push", 77, 44))
    window(3, status="failed", label=None, source="none")
    return recording


def read(out: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_export_without_a_log_writes_frames_and_verified_values_corrections_winning(labelled, tmp_path):
    out = tmp_path / "export" / "labels.jsonl"
    stdout = StringIO()
    call_command("export_labels", "--recording", str(labelled.pk), "--out", str(out), stdout=stdout)
    assert "3 of 4 windows" in stdout.getvalue() and "1 failed and left out" in stdout.getvalue()
    assert "no input log: no actions" in stdout.getvalue() and "15 frames written" in stdout.getvalue()
    lines = read(out)
    assert [line["window_index"] for line in lines] == [0, 1, 2]
    plain, flagged, corrected = lines
    assert (plain["tactical_label"], plain["verified_health"], plain["verified_shield"]) == ("kiting", 81, 50)
    assert plain["verified_source"] == {"health": "vlm", "shield": "vlm"} and not plain["corrected"]
    assert (flagged["tactical_label"], flagged["verified_health"]) == ("looting", 80)  # OCR's value when flagged
    assert flagged["verified_source"]["health"] == "ocr"
    assert (corrected["tactical_label"], corrected["verified_health"], corrected["verified_shield"]) == (
        "aggressive_push", 77, 44)
    assert corrected["corrected"] and corrected["verified_source"] == {"health": "review", "shield": "review"}
    assert all("actions" not in line for line in lines)
    assert plain["start"] == 0.0 and plain["end"] == 2.0 and plain["frame_times"] == FRAMES[0]
    for path in plain["frames"]:
        image = cv2.imread(str(out.parent / path))
        assert not Path(path).is_absolute() and image is not None and image.shape[:2] == (90, 160)
    again = labels_export(recording=labelled, out=out)
    assert again.frames_written == 0 and again.exported == 3, "frames saved by an earlier export are kept"


def test_export_with_a_log_adds_the_three_action_heads_per_frame(labelled, library, tmp_path):
    log = library / "v.jsonl"
    log.write_text("\n".join([
        '{"screen": [1000, 500]}',
        '{"t": 0.0, "event": "move", "x": 500, "y": 250}',
        '{"t": 0.5, "event": "down", "button": "left"}',
        '{"t": 0.55, "event": "up", "button": "left"}',
        '{"t": 1.0, "event": "move", "x": 900, "y": 100}',
        '{"t": 1.3, "event": "key_down", "key": "r"}',
        '{"t": 1.35, "event": "key_up", "key": "r"}',
        '{"t": 1.7, "event": "key_down", "key": "w"}',
        '{"t": 1.7, "event": "down", "button": "right"}',
        '{"t": 2.1, "event": "up", "button": "right"}',
    ]))
    input_log_attach(recording=labelled, path=log, offset_seconds=-0.1)  # the log runs 0.1 s late
    out = tmp_path / "labels.jsonl"
    summary = labels_export(recording=labelled, out=out, frames_dir=tmp_path / "jpegs")
    assert summary.actions and summary.frames_written == 15
    first, second, third = read(out)
    assert first["frames"][0] == "jpegs/000001-000000000.jpg".replace("000001", f"{labelled.pk:06d}")
    # Video seconds: at (0.5, 0.5) from -0.1, click 0.4, move to (0.9, 0.2) at 0.9, R at 1.2, right held 1.6-2.0.
    assert first["actions"] == {
        "mouse": [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [0.9, 0.2], [0.9, 0.2]],
        "click": ["none", "left", "none", "none", "right"],
        "hotkey": ["none", "none", "none", "R", "none"],
    }
    assert second["actions"]["click"] == ["none"] * 5 and second["actions"]["mouse"][0] == [0.9, 0.2]
    assert third["actions"] == {"mouse": [None] * 5, "click": ["none"] * 5, "hotkey": ["none"] * 5}  # past the log


def test_what_cannot_be_exported_is_said(library, tmp_path):
    recording = RecordingFactory(source_path=str(library / "gone.mkv"))
    with pytest.raises(CommandError, match=f"recording {recording.pk} has no window labels; run vlm_label first"):
        call_command("export_labels", "--recording", str(recording.pk), "--out", str(tmp_path / "x.jsonl"))
    WindowLabel.objects.create(recording=recording, video_path="gone.mkv", prompt_version="p", spec="5x2/2",
                               window_index=0, start=0, end=2, frames=[0.0], status="labelled", source="vlm",
                               label=label("kiting", 1, 1))
    with pytest.raises(CommandError, match="its video .*gone.mkv is missing"):
        call_command("export_labels", "--recording", str(recording.pk), "--out", str(tmp_path / "x.jsonl"))
    with pytest.raises(CommandError, match="no recording with id 999999"):
        call_command("export_labels", "--recording", "999999", "--out", str(tmp_path / "x.jsonl"))
