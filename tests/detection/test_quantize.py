"""The detector's int8 copy (detection/quantize.py): what is quantized, what stays float, that it sees what the
float model sees, and how an int8 file leads back to the float model fine-tunes start from."""
from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import onnx
import pytest
from django.core.management import CommandError, call_command

from detection.pipeline.detector import DetectorConfig, ModelError, OnnxDetector
from detection.pipeline.hashing import file_sha256
from detection.pipeline.profile import load_profile
from detection.pipeline.run_settings import BUNDLED_MODEL
from detection.quantize import (
    calibration_images,
    float_model_for,
    head_decoding_nodes,
    is_quantized,
    quantize_detector,
    quantized_path,
)
from detection.render.dataset import make_dataset
from tests.detection.pipeline.synthetic import build_model

PROFILE = load_profile("demo")
FLOAT_MODEL = BUNDLED_MODEL.with_name("demo_yolo11n.onnx")


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Training-domain frames (the dataset maker's families), as the bundled copy's ranges were measured on."""
    folder = tmp_path_factory.mktemp("frames")
    make_dataset(folder, images=24, seed=77, max_side=320)
    return folder


@pytest.fixture(scope="module")
def quantized(frames: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = tmp_path_factory.mktemp("models") / "demo.onnx"
    shutil.copyfile(FLOAT_MODEL, model)
    return quantize_detector(model, calibration_images(frames / "images" / "train"))


def test_the_bundled_model_is_the_int8_copy_of_the_bundled_float_model() -> None:
    assert BUNDLED_MODEL.name == "demo_yolo11n.int8.onnx" and is_quantized(BUNDLED_MODEL)
    metadata = {entry.key: entry.value for entry in onnx.load(str(BUNDLED_MODEL)).metadata_props}
    assert metadata["quantized_from"] == file_sha256(FLOAT_MODEL)
    assert float_model_for(BUNDLED_MODEL) == FLOAT_MODEL and not is_quantized(FLOAT_MODEL)


def test_the_copy_quantizes_the_convolutions_and_keeps_the_heads_decoding_float(quantized: Path, frames: Path) -> None:
    model = onnx.load(str(quantized))
    assert quantized.name == "demo.int8.onnx"
    decoding = set(head_decoding_nodes(onnx.load(str(FLOAT_MODEL))))
    convolutions = [node for node in model.graph.node if node.op_type == "Conv"]
    quantized_inputs = {output for node in model.graph.node if node.op_type == "DequantizeLinear" for output in node.output}
    # Every convolution reads dequantized int8 weights, the box and class branches' last ones included; only the
    # distribution-to-box convolution (fixed weights 0..15) stays float.
    assert [node.name for node in convolutions if node.input[1] not in quantized_inputs] == ["/model.23/dfl/conv/Conv"]
    assert "/model.23/dfl/conv/Conv" in decoding
    # Boxes in pixels and class scores leave through one float concatenation: no uint8 step rounds a score.
    producers = {output: node for node in model.graph.node for output in node.output}
    last = producers[model.graph.output[0].name]
    assert last.op_type == "Concat" and not any(name in quantized_inputs for name in last.input)
    assert all(node.name in decoding for node in model.graph.node
                            if node.name.startswith("/model.23/") and node.op_type in ("Sigmoid", "Softmax", "Concat")
                            and "/cv" not in node.name)
    # It keeps the export's metadata, so it loads and registers as the float model does.
    metadata = {entry.key: entry.value for entry in model.metadata_props}
    assert metadata["imgsz"] == "[320, 320]" and "stash_screen" in metadata["names"]
    train = len(calibration_images(frames / "images" / "train"))
    assert metadata["quantization"] == f"int8 static QDQ on {train} images"


def test_the_copy_sees_what_the_float_model_sees(quantized: Path, frames: Path) -> None:
    def detector(path: Path) -> OnnxDetector:
        return OnnxDetector(DetectorConfig(model_path=str(path), classes=PROFILE.classes, threads=1))

    exact, copy = detector(FLOAT_MODEL), detector(quantized)
    compared = 0
    for path in calibration_images(frames):
        image = cv2.imread(str(path))
        assert image is not None
        found, seen = exact.detect([image])[0], copy.detect([image])[0]
        for detection in found:
            if detection.confidence >= 0.5:
                match = [d for d in seen if d.label == detection.label and d.box.iou(detection.box) > 0.8]
                assert match and abs(match[0].confidence - detection.confidence) < 0.15, (detection, seen)
                compared += 1
    assert compared >= 10


def test_an_int8_file_leads_back_to_its_float_model(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    assert quantized_path(model) == tmp_path / "m.int8.onnx"
    assert float_model_for(model) == model
    with pytest.raises(ModelError, match="m.onnx is not beside it"):
        float_model_for(tmp_path / "m.int8.onnx")


def test_a_copy_is_not_quantized_again_and_a_model_without_a_yolo_head_is_refused(
    quantized: Path, frames: Path, tmp_path: Path,
) -> None:
    images = calibration_images(frames)
    synthetic_model = build_model(tmp_path / "synthetic.onnx")  # a detector, but not an ultralytics export
    with pytest.raises(ModelError, match="quantized already"):
        quantize_detector(quantized, images, target=tmp_path / "again.onnx")
    with pytest.raises(ModelError, match="not an ultralytics YOLO export"):
        quantize_detector(synthetic_model, images, target=tmp_path / "s.onnx")
    with pytest.raises(ModelError, match="no readable calibration image"):
        quantize_detector(FLOAT_MODEL, [tmp_path / "missing.jpg"], target=tmp_path / "x.onnx")


def test_the_command_writes_the_copy_beside_the_model_and_refuses_bad_input(frames: Path, tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "demo.onnx"
    shutil.copyfile(FLOAT_MODEL, model)
    call_command("quantize_model", str(model), "--images", str(frames / "images" / "val"))
    assert is_quantized(tmp_path / "demo.int8.onnx") and "demo.int8.onnx" in capsys.readouterr().out
    with pytest.raises(CommandError, match="not a folder of images"):
        call_command("quantize_model", str(model), "--images", str(tmp_path / "nowhere"))
    with pytest.raises(CommandError, match="no model file"):
        call_command("quantize_model", str(tmp_path / "none.onnx"), "--images", str(frames))
