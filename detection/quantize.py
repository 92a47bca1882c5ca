"""An int8 copy of a YOLO detector for CPU inference: static QDQ quantization with onnxruntime's own tools.

The detector is most of the pipeline's arithmetic beside OCR (its 320-px convolutions); on a CPU with
int8 dot products (AVX-512 VNNI, AVX-VNNI, ARM dot-product) the int8 copy runs in about 0.6 of the time
(15-17 ms an image against 24-26 on this 2-core machine).

What is quantized and what is not:
- the backbone, the neck and the convolutions of the detection head's box and class branches: int8
  weights (per output channel) and uint8 activations, their ranges taken on `images` (min-max);
- the head's decoding (distribution-to-box, anchors, the concatenation of boxes with class scores,
  the sigmoid) stays float: boxes in input pixels (0-320) and scores (0-1) share one output tensor,
  and one uint8 scale for both rounded every score to a step of about 1.2.

The int8 file lies beside its float model as `<stem>.int8.onnx` and keeps its metadata (class
names, input size), so it loads and registers like any model; its `quantized_from` names the float
file's sha256. Fine-tuning starts from the float model (`float_model_for`): int8 weights are not
what training continues from. The calibration images must come from the model's training domain,
never from footage held out to measure it.
"""
from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path

import cv2
import numpy as np
import onnx

from detection.pipeline.detector import INT8_SUFFIX, ModelError, letterbox
from detection.pipeline.hashing import file_sha256
from detection.pipeline.fields import WHOLE_FRAME_SIDE
from detection.pipeline.profile import load_profile
from detection.pipeline.text import RapidTextReader
from labeling.datasets.yolo import IMAGE_SUFFIXES

# Images the activation ranges are taken on: more adds time (~0.2 s each here), not accuracy.
CALIBRATION_IMAGES = 200
# A text detector's calibration crops: spec regions and whole frames of many frames.
CALIBRATION_CROPS = 400
# DequantizeLinear takes a per-channel axis from opset 13 on.
PER_CHANNEL_OPSET = 13
_MODULE = re.compile(r"^/model\.\d+/")


def calibration_images(folder: Path) -> list[Path]:
    """A dataset folder's frames (searched recursively), in name order: the first CALIBRATION_IMAGES are used."""
    return sorted(path for path in folder.rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES)


def quantized_path(float_model: str | Path) -> Path:
    path = Path(float_model)
    return path.with_name(path.name.removesuffix(".onnx") + INT8_SUFFIX)


def float_model_for(model: str | Path) -> Path:
    """The float model an int8 file was made from (beside it, by name); any other model is its own."""
    path = Path(model)
    if path.name.endswith(INT8_SUFFIX):
        source = path.with_name(path.name.removesuffix(INT8_SUFFIX) + ".onnx")
        if not source.is_file():
            raise ModelError(f"{path.name} is an int8 copy and its float model {source.name} is not beside it")
        return source
    return path


def is_quantized(model: str | Path | onnx.ModelProto) -> bool:
    proto = model if isinstance(model, onnx.ModelProto) else onnx.load(str(model), load_external_data=False)
    return any(node.op_type == "QuantizeLinear" for node in proto.graph.node)


def head_decoding_nodes(model: onnx.ModelProto) -> list[str]:
    """The nodes of the module that writes the output (ultralytics' `Detect`), outside its box (`cv2`)
    and class (`cv3`) convolution branches: the decoding that must stay float."""
    producers = {output: node for node in model.graph.node for output in node.output}
    last = producers.get(model.graph.output[0].name)
    found = _MODULE.match(last.name) if last is not None else None
    if found is None:
        raise ModelError("not an ultralytics YOLO export: cannot tell its detection head's decoding from the rest")
    prefix = found.group(0)
    return [node.name for node in model.graph.node
            if node.name.startswith(prefix) and not re.search(r"/(one2one_)?cv[23]", node.name[len(prefix) - 1:])]


def quantize_detector(source: str | Path, images: Sequence[Path], *, target: str | Path | None = None,
                      image_size: int = 320) -> Path:
    """Writes the int8 copy of `source` (`quantized_path` unless `target`), its activation ranges taken
    on `images` letterboxed as the detector letterboxes them; returns its path."""
    source, target = Path(source), Path(target) if target is not None else quantized_path(source)
    readable = list(islice((path for path in images if cv2.imread(str(path)) is not None), CALIBRATION_IMAGES))
    if not readable:
        raise ModelError("no readable calibration image: the int8 ranges must be measured on the model's own domain")
    model = onnx.load(str(source))
    if is_quantized(model):
        raise ModelError(f"{source.name} is quantized already")
    keep_float = head_decoding_nodes(model)

    def letterboxed() -> Iterator[np.ndarray]:
        for path in readable:
            image = cv2.imread(str(path))
            if image is not None:
                yield letterbox(image, image_size)[0][None]

    _quantize_static(source, target, letterboxed(), keep_float=lambda _: keep_float)
    _stamp(target, source, f"int8 static QDQ on {len(readable)} images")
    return target


def calibration_crops(images: Sequence[Path], reader: RapidTextReader, *, limit: int = CALIBRATION_CROPS,
                      profile_name: str = "demo") -> Iterator[np.ndarray]:
    """The detector's inputs for what the pipeline reads on a frame: every spec region of the game
    profile and the whole frame at the whole-frame side (a verification's last look); every n-th of
    those over all `images`, so that at most `limit` come from every frame alike. Contrast-stretched
    crops are left out: their ranges, wider than any plain crop's, coarsened the int8 steps until a
    title and the button beside it read as one line."""
    profile = load_profile(profile_name)
    boxes = list(profile.regions.values())
    per_image = len(boxes) + 1
    stride = max(1, -(-len(images) * per_image // limit))
    index = 0
    for path in images:
        frame = cv2.imread(str(path))
        if frame is None:
            continue
        height, width = frame.shape[:2]
        views: list[tuple[np.ndarray, int | None]] = [(frame, WHOLE_FRAME_SIDE)]
        for box in boxes:
            x0, y0, x1, y1 = box.pixels(width, height)
            region = frame[y0:y1, x0:x1]
            views += [(region, None)] if region.size else []
        for view, side in views:
            if index % stride == 0:
                yield reader.detector_input(view, max_side=side)
            index += 1


def quantize_text_detector(source: str | Path, tensors: Iterable[np.ndarray], *, target: str | Path) -> Path:
    """Writes the int8 copy of a text detection model (rapidocr's PP-OCR det) to `target`, its
    activation ranges taken on `tensors`: the detector's inputs for crops of the training domain, as
    `RapidTextReader.detector_input` prepares them. The backbone is quantized, the feature pyramid and
    the head stay float (`text_detector_float_nodes`): the probability map, thresholded at 0.3, moved
    across it at 0.12 % of the pixels of 48 held-out crops.
    Per-channel weights need opset 13, so an older model (PP-OCR's are opset 11) is converted first."""
    from onnx import version_converter

    source, target = Path(source), Path(target)
    samples = list(islice(tensors, CALIBRATION_CROPS))
    if not samples:
        raise ModelError("no calibration crop: the int8 ranges must be measured on the model's own inputs")
    model = onnx.load(str(source))
    if is_quantized(model):
        raise ModelError(f"{source.name} is quantized already")
    with tempfile.TemporaryDirectory() as work:
        converted = Path(work) / "converted.onnx"
        opset = next((entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")), 0)
        if opset < PER_CHANNEL_OPSET:
            model = version_converter.convert_version(model, PER_CHANNEL_OPSET)
        onnx.save(model, str(converted))
        _quantize_static(converted, target, iter(samples), keep_float=text_detector_float_nodes)
    _stamp(target, source, f"int8 static QDQ on {len(samples)} crops")
    return target


def _quantize_static(source: Path, target: Path, inputs: Iterator[np.ndarray], *,
                     keep_float: Callable[[onnx.ModelProto], list[str]]) -> None:
    """onnxruntime's static QDQ quantization of `source` into `target`: int8 weights per output channel,
    uint8 activations, ranges (min-max) taken on `inputs`; the nodes `keep_float` names in the graph as
    pre-processed for quantization stay float."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    input_name = onnx.load(str(source), load_external_data=False).graph.input[0].name

    class Inputs(CalibrationDataReader):  # type: ignore[misc]  # onnxruntime ships no type hints
        def get_next(self) -> dict[str, np.ndarray] | None:
            tensor = next(inputs, None)
            return None if tensor is None else {input_name: tensor}

    with tempfile.TemporaryDirectory() as work:
        prepared = Path(work) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(target), Inputs(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=keep_float(onnx.load(str(prepared))))


def text_detector_float_nodes(model: onnx.ModelProto) -> list[str]:
    """The nodes from the first upsampling on: a DB text detector's feature pyramid (upsampled, added and
    concatenated) and its head (a convolution and two transposed convolutions up to the probability map).
    Quantized, they lifted the map over the threshold in the narrow gap between a title and a button
    beside it (the two read as one line); float, they cost no measurable time (the backbone is the work)."""
    nodes = list(model.graph.node)
    first = next((i for i, node in enumerate(nodes) if node.op_type in ("Resize", "Upsample")), len(nodes))
    return [node.name for node in nodes[first:]]


def _stamp(target: Path, source: Path, quantization: str) -> None:
    """Keeps the source's metadata in its int8 copy and names what it was made from and how."""
    quantized = onnx.load(str(target))
    metadata = {entry.key: entry.value for entry in quantized.metadata_props}
    metadata.update(quantized_from=file_sha256(source), quantized_from_file=source.name, quantization=quantization)
    del quantized.metadata_props[:]
    for key, value in metadata.items():
        quantized.metadata_props.add(key=key, value=value)
    onnx.save(quantized, str(target))

