"""Both ONNX layouts ultralytics exports load and give the same detection: the raw (B, 4+C, N) head
and the end-to-end (B, 300, 6) one with NMS inside. The models are built here with onnx.helper:
a constant output tied to the input, so no training and no torch."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from detection.pipeline.detector import DetectorConfig, OnnxDetector, is_end_to_end
from detection.pipeline.types import Box

CLASSES = ("menu", "kill_feed")
SIZE = 64


def constant_model(path: Path, output: np.ndarray, *, metadata: dict[str, str] | None = None) -> Path:
    """A model whose output is `output` for any image: sum(images) * 0 + constant."""
    nodes = [
        helper.make_node("ReduceSum", ["images"], ["total"], keepdims=0),
        helper.make_node("Mul", ["total", "zero"], ["nothing"]),
        helper.make_node("Add", ["constant", "nothing"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes, "constant",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output.shape))],
        initializer=[numpy_helper.from_array(output.astype(np.float32), "constant"),
                     numpy_helper.from_array(np.array(0.0, np.float32), "zero")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    names = {"names": str(dict(enumerate(CLASSES))), "imgsz": f"[{SIZE}, {SIZE}]", **(metadata or {})}
    for key, value in names.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def raw_output() -> np.ndarray:
    """(1, 4+2, 8): one anchor sees kill_feed at (24,24)-(40,40) with 0.9; the rest see nothing."""
    output = np.zeros((1, 4 + len(CLASSES), 8), np.float32)
    output[0, :, 3] = [32, 32, 16, 16, 0.0, 0.9]
    output[0, :, 5] = [33, 33, 16, 16, 0.0, 0.6]  # overlaps the first: NMS removes it
    return output


def end_to_end_output() -> np.ndarray:
    """(1, 300, 6): the same detection as x0, y0, x1, y1, score, class; empty rows are zeros."""
    output = np.zeros((1, 300, 6), np.float32)
    output[0, 0] = [24, 24, 40, 40, 0.9, 1]
    output[0, 1] = [0, 0, 10, 10, 0.1, 0]  # under the confidence threshold
    return output


def detect(path: Path) -> tuple[OnnxDetector, list]:
    detector = OnnxDetector(DetectorConfig(model_path=str(path), classes=CLASSES, confidence=0.35))
    image = np.zeros((SIZE, SIZE, 3), np.uint8)
    (found,) = detector.detect([image])
    return detector, found


@pytest.mark.parametrize("layout", ["raw", "end_to_end", "end_to_end_flagged"])
def test_both_layouts_give_the_same_detection(tmp_path: Path, layout: str) -> None:
    output = raw_output() if layout == "raw" else end_to_end_output()
    metadata = {"end2end": "True"} if layout == "end_to_end_flagged" else None
    detector, found = detect(constant_model(tmp_path / f"{layout}.onnx", output, metadata=metadata))
    assert detector.end_to_end is (layout != "raw")
    assert [(d.label, round(d.confidence, 3)) for d in found] == [("kill_feed", 0.9)]
    assert found[0].box == Box(0.375, 0.375, 0.625, 0.625)


def test_the_layout_is_told_by_the_exports_flag_before_the_shape() -> None:
    assert is_end_to_end([1, 300, 6], {}, 2)
    assert not is_end_to_end([1, 6, 2100], {}, 2)
    # Two classes and six anchors would look alike by shape; the export's flag decides.
    assert not is_end_to_end([1, 6, 6], {"end2end": "False"}, 2)
    assert is_end_to_end([1, 6, 6], {"end2end": "True"}, 2)
