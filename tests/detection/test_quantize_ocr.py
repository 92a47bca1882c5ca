"""The text detector's int8 copy (detection/quantize.py, `manage.py quantize_ocr`): which model reads, that it
reads what rapidocr's float model reads on styles held out of its calibration, and how a copy is made."""
from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from django.core.management import CommandError, call_command
from onnx import TensorProto, helper, numpy_helper

from detection.pipeline import text
from detection.pipeline.detector import ModelError
from detection.pipeline.hashing import file_sha256
from detection.pipeline.int8_kernels import int8_convolutions_exact
from detection.pipeline.fields import FieldReader
from detection.pipeline.profile import load_profile as pipeline_profile
from detection.pipeline.text import BUNDLED_TEXT_DETECTOR, RapidTextReader, installed_text_detector, int8_text_detector
from detection.pipeline.types import Box, Detection, Frame
from detection.quantize import PER_CHANNEL_OPSET, is_quantized, quantize_text_detector
from detection.render.dataset import make_dataset
from detection.render.families import HELD_OUT_FAMILIES, family_named
from detection.render.profile import load_profile
from tests.detection.test_render_fields import screen

GAME = pipeline_profile("demo")


@pytest.fixture
def fresh_choice() -> Iterator[None]:
    """`int8_text_detector` decides once per process; these tests decide again, and leave it to decide afresh."""
    int8_text_detector.cache_clear()
    yield
    int8_text_detector.cache_clear()


@pytest.mark.pure
def test_readers_detect_text_with_the_bundled_int8_copy_of_the_installed_rapidocr_model() -> None:
    metadata = {p.key: p.value for p in onnx.load(str(BUNDLED_TEXT_DETECTOR)).metadata_props}
    assert is_quantized(BUNDLED_TEXT_DETECTOR) and metadata["quantized_from_file"] == installed_text_detector().name
    # A rapidocr upgrade that changes its detection model fails here: `manage.py quantize_ocr` makes a new copy.
    assert metadata["quantized_from"] == file_sha256(installed_text_detector())
    reader, exact = RapidTextReader(), RapidTextReader(int8_detector=False)
    assert exact.text_detector is None and exact.engine().cfg.Det.model_path is None
    if not int8_convolutions_exact():  # test_int8_kernels.py: this CPU reads with the float model
        assert reader.text_detector is None
        return
    assert reader.text_detector == BUNDLED_TEXT_DETECTOR
    assert Path(reader.engine().cfg.Det.model_path) == BUNDLED_TEXT_DETECTOR
    assert exact.engine() is not reader.engine()


@pytest.mark.pure
def test_a_copy_made_from_another_model_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture, fresh_choice: None) -> None:
    other = tmp_path / text.TEXT_DETECTOR
    other.write_bytes(installed_text_detector().read_bytes() + b"\0")  # an upgraded rapidocr's model
    monkeypatch.setattr(text, "installed_text_detector", lambda: other)
    with caplog.at_level(logging.WARNING, logger=text.__name__):
        assert RapidTextReader().text_detector is None
    assert "was not quantized from the installed rapidocr" in caplog.text
    int8_text_detector.cache_clear()
    monkeypatch.setattr(text, "BUNDLED_TEXT_DETECTOR", tmp_path / "missing.int8.onnx")
    monkeypatch.setattr(text, "installed_text_detector", installed_text_detector)
    assert RapidTextReader().text_detector is None


@pytest.mark.pure
@pytest.mark.parametrize("family", [family.name for family in HELD_OUT_FAMILIES])
def test_the_int8_copy_reads_the_fields_the_float_model_reads_on_held_out_styles(family: str) -> None:
    """Its ranges were measured on the training families' crops alone; fonts and palettes it never saw must
    give the same fields, field by field, as rapidocr's own model."""
    exact = FieldReader(GAME, RapidTextReader(max_side=GAME.ocr.max_side, min_score=GAME.ocr.min_score,
                                              cache_size=0, int8_detector=False))
    copy = FieldReader(GAME, RapidTextReader(max_side=GAME.ocr.max_side, min_score=GAME.ocr.min_score, cache_size=0))
    rng, (width, height) = random.Random(family), (1920, 1080)
    read = 0
    for kind in ("map_select", "character_select", "kill_notification", "survived_screen", "death_screen") * 2:
        image, label, box, _, context = screen(kind, (width, height), load_profile(), rng, family=family_named(family))
        frame = Frame(picture=np.ascontiguousarray(np.asarray(image)[..., ::-1]), number=0, video_time=0.0)
        detection = Detection(label, 1.0, Box(box.x0 / width, box.y0 / height, box.x1 / width, box.y1 / height))
        want = exact.read(frame, detection, context=dict(context)).data
        assert copy.read(frame, detection, context=dict(context)).data == want, (label, family)
        read += bool(want)
    assert read >= 8  # the comparison is of fields read, not of two empty readings


def _opset11_convolution(path: Path) -> Path:
    """A two-convolution network as old PP-OCR exports are: opset 11, a probability map out."""
    rng = np.random.default_rng(3)
    weights = [numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "w1"),
               numpy_helper.from_array(rng.normal(0, 0.3, (1, 8, 3, 3)).astype(np.float32), "w2")]
    nodes = [helper.make_node("Conv", ["x", "w1"], ["h"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Conv", ["r", "w2"], ["z"], pads=[1, 1, 1, 1]),
             helper.make_node("Sigmoid", ["z"], ["y"])]
    graph = helper.make_graph(nodes, "det", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, None, None])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, None, None])], weights)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)], ir_version=7), str(path))
    return path


@pytest.mark.pure
def test_an_old_opset_model_is_converted_quantized_per_channel_and_stamped_with_its_source(tmp_path: Path) -> None:
    source = _opset11_convolution(tmp_path / "det.onnx")
    rng = np.random.default_rng(5)
    crops = [rng.uniform(-1, 1, (1, 3, 32, 64)).astype(np.float32) for _ in range(12)]
    target = quantize_text_detector(source, iter(crops), target=tmp_path / "det.int8.onnx")
    model = onnx.load(str(target))
    assert is_quantized(model) and model.opset_import[0].version >= PER_CHANNEL_OPSET
    assert any(a.name == "axis" for node in model.graph.node if node.op_type == "DequantizeLinear" for a in node.attribute)
    metadata = {p.key: p.value for p in model.metadata_props}
    assert metadata.items() >= {"quantized_from": file_sha256(source), "quantized_from_file": "det.onnx",
                                "quantization": "int8 static QDQ on 12 crops"}.items()
    # Unfused, the copy's DequantizeLinear feeds a float Conv: this compares the quantizer's scales and
    # zero points, not the CPU's int8 kernels (AVX2 without VNNI saturates u8 x s8 pair sums, as
    # onnxruntime documents; the read-the-same-fields test above runs the fused kernels on real screens).
    unfused = ort.SessionOptions()
    unfused.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    exact = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"])
    copy = ort.InferenceSession(str(target), unfused, providers=["CPUExecutionProvider"])
    probe = rng.uniform(-1, 1, (1, 3, 48, 96)).astype(np.float32)  # another size than calibrated: shapes stay free
    assert np.abs(exact.run(None, {"x": probe})[0] - copy.run(None, {"x": probe})[0]).max() < 0.05
    with pytest.raises(ModelError, match="quantized already"):
        quantize_text_detector(target, iter(crops), target=tmp_path / "again.onnx")
    with pytest.raises(ModelError, match="no calibration crop"):
        quantize_text_detector(source, iter([]), target=tmp_path / "none.onnx")


@pytest.mark.pure
def test_the_command_measures_the_ranges_on_training_frames_and_refuses_a_missing_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_dataset(tmp_path / "frames", images=2, seed=5, max_side=1280)
    out = tmp_path / "det.int8.onnx"
    call_command("quantize_ocr", "--images", str(tmp_path / "frames" / "images"), "--out", str(out))
    metadata = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    crops = 2 * (len(GAME.regions) + 1)  # each spec region and the whole frame, of two frames
    assert metadata["quantization"] == f"int8 static QDQ on {crops} crops" and str(out) in capsys.readouterr().out
    with pytest.raises(CommandError, match="not a folder of images"):
        call_command("quantize_ocr", "--images", str(tmp_path / "nowhere"), "--out", str(out))
