from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detection.pipeline.detector import (
    ClassMismatchError,
    DetectorConfig,
    Letterbox,
    ModelError,
    OnnxDetector,
    choose_providers,
    decode_output,
    input_canvas,
    letterbox,
    nms,
)
from tests.detection.pipeline.synthetic import PROFILE, Shot, build_model, draw

pytestmark = pytest.mark.pure


def test_letterbox_keeps_aspect_and_pads_grey() -> None:
    image = np.zeros((180, 320, 3), np.uint8)
    tensor, fit = letterbox(image, 64)
    assert tensor.shape == (3, 64, 64) and tensor.dtype == np.float32
    assert fit.scale == pytest.approx(0.2)
    assert fit.pad_x == 0 and fit.pad_y == 14
    assert tensor[:, 0, 0] == pytest.approx([114 / 255] * 3)  # padding
    assert tensor[:, 32, 32] == pytest.approx([0, 0, 0])  # image


@pytest.mark.parametrize(("width", "height", "canvas"), [
    (1920, 1080, (320, 256)),  # 16:9 at any resolution: 320 x 180 with bands of 38 rows
    (1280, 720, (320, 256)),
    (1080, 1920, (256, 320)),  # portrait
    (2560, 1080, (320, 224)),  # 21:9: 135 rows
    (1440, 1080, (320, 320)),  # 4:3: 240 rows leave no stride to save
    (800, 800, (320, 320)),
])
def test_a_rectangular_input_keeps_a_band_of_a_stride_on_the_short_side(
        width: int, height: int, canvas: tuple[int, int]) -> None:
    assert input_canvas(width, height, 320, 32) == canvas


def test_letterbox_centres_the_frame_on_a_rectangular_canvas() -> None:
    tensor, fit = letterbox(np.zeros((1080, 1920, 3), np.uint8), 320, (320, 256))
    assert tensor.shape == (3, 256, 320)
    assert (fit.scale, fit.pad_x, fit.pad_y) == (pytest.approx(1 / 6), 0, 38)
    assert tensor[:, :38].min() == pytest.approx(114 / 255) and tensor[:, 218:].min() == pytest.approx(114 / 255)
    assert tensor[:, 38:218].max() == 0


def test_letterbox_converts_bgr_to_rgb() -> None:
    image = np.zeros((64, 64, 3), np.uint8)
    image[:, :, 0] = 255  # blue in BGR
    tensor, _ = letterbox(image, 64)
    assert tensor[2].mean() == pytest.approx(1.0) and tensor[0].mean() == pytest.approx(0.0)


def test_nms_keeps_the_best_of_overlapping_boxes_deterministically() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30], [0, 0, 10, 10]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.9], np.float32)
    assert nms(boxes, scores, 0.5) == [0, 2]


def test_decode_output_maps_back_to_normalised_frame_boxes() -> None:
    fit = Letterbox(scale=0.2, pad_x=0, pad_y=14, width=320, height=180)
    classes = ("a", "b")
    output = np.zeros((6, 3), np.float32)
    # anchor 0: class b at the centre of the image, 32x18 input pixels = the whole frame
    output[:, 0] = [32, 32, 64, 36, 0.1, 0.95]
    output[:, 1] = [32, 32, 60, 30, 0.2, 0.90]  # same object, lower score: suppressed
    output[:, 2] = [10, 20, 4, 4, 0.3, 0.1]  # below the threshold
    detections = decode_output(output, fit, classes, confidence=0.35, iou=0.5)
    assert [d.label for d in detections] == ["b"]
    box = detections[0].box
    assert (box.x0, box.y0, box.x1, box.y1) == pytest.approx((0.0, 0.0, 1.0, 1.0))


def test_providers_follow_config_and_fall_back_to_cpu() -> None:
    available = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers(["TensorrtExecutionProvider", "CUDAExecutionProvider"], available) == [
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]
    assert choose_providers([], ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert choose_providers(["DmlExecutionProvider"], ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]


def test_onnx_detector_runs_a_batch(synthetic_model: Path) -> None:
    detector = OnnxDetector(DetectorConfig(str(synthetic_model), PROFILE.classes))
    assert detector.image_size == 64
    images = [
        draw(Shot("map_select", 1)),
        draw(Shot("gameplay_hud", 1, kill=("RAIDER", "AK-74M", True)), 1280, 720),
    ]
    first, second = detector.detect(images)
    assert [d.label for d in first] == ["map_select"]
    assert sorted(d.label for d in second) == ["gameplay_hud", "kill_notification"]
    kill = next(d for d in second if d.label == "kill_notification")
    assert kill.box.x0 == pytest.approx(0.55, abs=0.01) and kill.box.y1 == pytest.approx(0.30, abs=0.01)


def test_a_model_with_other_classes_is_refused_with_both_lists(tmp_path: Path) -> None:
    other = list(PROFILE.classes[:-1]) + ["loot_screen"]
    path = build_model(tmp_path / "other.onnx", classes=other)
    with pytest.raises(ClassMismatchError) as caught:
        OnnxDetector(DetectorConfig(str(path), PROFILE.classes))
    message = str(caught.value)
    assert "loot_screen" in message and "post_raid_screen" in message
    assert "model:" in message and "profile:" in message


def test_missing_or_broken_model_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no model file"):
        OnnxDetector(DetectorConfig(str(tmp_path / "nope.onnx"), PROFILE.classes))
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        OnnxDetector(DetectorConfig(str(broken), PROFILE.classes))
