"""The bundled model on a rectangular input (`input_canvas`): the held-out families' frames are found as well as in
the square ultralytics predicts with, for 80 % of the convolutions on 16:9 footage."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detection.pipeline.detector import DetectorConfig, OnnxDetector
from detection.pipeline.profile import load_profile
from detection.pipeline.run_settings import BUNDLED_MODEL
from detection.render.dataset import make_dataset
from detection.render.families import HELD_OUT_FAMILIES
from labeling.datasets.yolo import read_yolo
from labeling.training.evaluation import detector_metrics

pytestmark = [pytest.mark.pure, pytest.mark.slow]
PROFILE = load_profile("demo")
FLOAT_MODEL = BUNDLED_MODEL.with_name("demo_yolo11n.onnx")


def detector(*, rect: bool) -> OnnxDetector:
    return OnnxDetector(DetectorConfig(model_path=str(FLOAT_MODEL), classes=PROFILE.classes, confidence=0.001,
                                       iou=PROFILE.thresholds.iou, threads=1, rect=rect))


def test_the_bundled_model_takes_16_9_frames_on_a_320_by_256_input() -> None:
    frame = np.zeros((1080, 1920, 3), np.uint8)
    assert detector(rect=True).canvas([frame]) == (320, 256)
    assert detector(rect=False).canvas([frame]) == (320, 320)


def test_held_out_frames_are_found_as_well_as_in_the_square(tmp_path: Path) -> None:
    make_dataset(tmp_path, images=160, seed=4242, val_fraction=1.0, max_side=1920, families=HELD_OUT_FAMILIES)
    _, items = read_yolo(tmp_path)
    threshold = PROFILE.thresholds.confidence
    square = detector_metrics(detector(rect=False), items, threshold=threshold)
    rect = detector_metrics(detector(rect=True), items, threshold=threshold)
    assert float(rect["map50"]) >= float(square["map50"]) - 0.03, (square, rect)
    assert float(rect["recall"]) >= float(square["recall"]) - 0.03, (square, rect)
    assert float(rect["precision"]) >= float(square["precision"]) - 0.03, (square, rect)
    hud = "gameplay_hud"
    assert rect["per_class"][hud]["recall"] >= square["per_class"][hud]["recall"] - 0.05, (square, rect)
