"""Training images are the pixels the detector runs on: written at the training size by its own resize."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from detection.pipeline.detector import letterbox
from labeling.datasets.items import LabelledBox
from labeling.datasets.yolo import YoloWriter, read_yolo, yolo_label

pytestmark = pytest.mark.pure


def _text_frame() -> np.ndarray:
    """960x540 RGB with thin white strokes: what bilinear shrinking aliases and area averaging smooths."""
    image = np.full((540, 960, 3), 30, dtype=np.uint8)
    for row in range(100, 440, 40):
        cv2.putText(image, "RAID STARTS IN 0:14  KILLED BY RAIDER", (20, row), cv2.FONT_HERSHEY_SIMPLEX, 0.9,
                    (240, 240, 240), 1, cv2.LINE_AA)
    return image


def _mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


def test_a_training_image_is_written_at_the_training_size_as_the_detector_resizes_it(tmp_path: Path) -> None:
    frame = _text_frame()
    writer = YoloWriter(tmp_path, classes=["hud"], max_side=192)
    box = LabelledBox("hud", 0.1, 0.2, 0.5, 0.6)
    writer.add(name="big", split="train", image=Image.fromarray(frame), labels=[yolo_label(box, ["hud"])])
    writer.finish()

    _, items = read_yolo(tmp_path)
    (item,) = items
    assert (item.width, item.height) == (192, 108)
    assert item.boxes == (box,)  # normalised: the shrink leaves them as they were
    written = cv2.cvtColor(cv2.imread(str(item.image)), cv2.COLOR_BGR2RGB)
    # What the detector feeds the model from the full frame and from the written one: the same, but for JPEG.
    from_frame, from_file = letterbox(frame, 192)[0], letterbox(written, 192)[0]
    assert _mean_difference(from_frame * 255, from_file * 255) < 1.5
    # Ultralytics' own bilinear shrink (what it would have done to a full-size training image) is further away.
    bilinear = cv2.resize(frame, (192, 108), interpolation=cv2.INTER_LINEAR)
    assert _mean_difference(letterbox(bilinear, 192)[0] * 255, from_frame * 255) > 2 * _mean_difference(
        from_frame * 255, from_file * 255)


def test_an_image_already_small_enough_is_copied_as_it_is(tmp_path: Path) -> None:
    source = tmp_path / "small.png"
    Image.fromarray(_text_frame()[:100, :160]).save(source)
    writer = YoloWriter(tmp_path / "out", classes=["hud"], max_side=192)
    writer.add(name="small", split="val", image=source, labels=[])
    assert (tmp_path / "out" / "images" / "val" / "small.png").read_bytes() == source.read_bytes()
