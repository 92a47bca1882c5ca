"""The YOLO detector as ONNX on onnxruntime: letterbox, batched inference, NMS in numpy. No torch.

Model contract (ultralytics export): input `images` float32 [N,3,H,W] RGB 0..1 (S x S for a model exported at one
size; any multiple of its stride for one exported with dynamic axes, as the bundled models are), and one of two outputs:
- raw: [N, 4+C, anchors] with cx, cy, w, h in input pixels then per-class scores (sigmoid applied);
- end-to-end (`end2end`/`nms=True` exports): [N, D, 6] rows of x0, y0, x1, y1 in input pixels, score,
  class id, NMS already done (D detections, 300 by default; empty rows have score 0).
"""
from __future__ import annotations

import ast
import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from detection.pipeline.hashing import file_sha256
from detection.pipeline.int8_kernels import int8_convolutions_exact
from detection.pipeline.resize import fitted_size, area_resize
from detection.pipeline.types import Box, Detection

logger = logging.getLogger(__name__)
# An int8 copy lies beside the float model it was made from, named `<stem>.int8.onnx` (detection/quantize.py).
INT8_SUFFIX = ".int8.onnx"

# Preference order when the config names none: fastest installed first.
DEFAULT_PROVIDERS = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "ROCMExecutionProvider",
    "DmlExecutionProvider",
    "CoreMLExecutionProvider",
    "CPUExecutionProvider",
)


class ModelError(ValueError):
    """The model cannot be used with this profile; the message shows why."""


class ClassMismatchError(ModelError):
    def __init__(self, model_classes: Sequence[str], profile_classes: Sequence[str]) -> None:
        super().__init__(
            f"the model's classes do not match the profile's.\n  model:   {list(model_classes)}\n"
            f"  profile: {list(profile_classes)}"
        )
        self.model_classes = list(model_classes)
        self.profile_classes = list(profile_classes)


@dataclass(frozen=True)
class DetectorConfig:
    model_path: str
    classes: tuple[str, ...]
    image_size: int | None = None  # None: read from the model
    confidence: float = 0.35
    iou: float = 0.5
    providers: tuple[str, ...] = ()
    threads: int = 0  # 0: onnxruntime decides
    # Where the model takes any input size, letterbox a frame into a rectangle: image_size on its long side, a band
    # of one stride at each edge of its short side (`input_canvas`). False: always the square (ultralytics' rect=False).
    rect: bool = True


class Detector(ABC):
    classes: tuple[str, ...]

    @abstractmethod
    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Detections per BGR image, in the order given."""


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the model's input: scale, then padding."""

    scale: float
    pad_x: float
    pad_y: float
    width: int
    height: int


def input_canvas(width: int, height: int, size: int, stride: int) -> tuple[int, int]:
    """(width, height) of the input a width x height frame is letterboxed into: `size` on its long side; the short
    side keeps a grey band of at least one stride at each edge, rounded up to a multiple of `stride`, where the
    square would pad it to `size`. A 16:9 frame fills 320 x 256 instead of 320 x 320: 80 % of the convolutions'
    work. The bands stay because the model was trained on letterboxed frames and scores a whole screen by where
    it ends: on held-out `muted` keyframes its gameplay_hud score averaged 0.57 in the square, 0.55 at 320 x 256,
    0.46 at 320 x 224, so fewer keyframes were sure enough for the two-pass proposal (bench/README.md)."""
    new_w, new_h, _ = fitted_size(width, height, size)

    def side(fitted: int) -> int:
        return min(size, math.ceil((fitted + 2 * stride) / stride) * stride)

    return side(new_w), side(new_h)


def letterbox(image: np.ndarray, size: int, canvas: tuple[int, int] | None = None) -> tuple[np.ndarray, Letterbox]:
    """Resize keeping the aspect ratio to fit size x size, centre on grey (114) of `canvas` (width, height; at
    least the fitted image; default size x size), RGB float 0..1 CHW."""
    height, width = image.shape[:2]
    new_w, new_h, scale = fitted_size(width, height, size)
    canvas_w, canvas_h = canvas or (size, size)
    resized = area_resize(image, new_w, new_h)
    pad_x, pad_y = (canvas_w - new_w) / 2, (canvas_h - new_h) / 2
    left, top = int(round(pad_x - 0.1)), int(round(pad_y - 0.1))
    padded = np.full((canvas_h, canvas_w, 3), 114, dtype=np.uint8)
    padded[top : top + new_h, left : left + new_w] = resized
    tensor = padded[:, :, ::-1].transpose(2, 0, 1).astype(np.float32) / 255.0
    return tensor, Letterbox(scale=scale, pad_x=left, pad_y=top, width=width, height=height)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    """Greedy non-maximum suppression on x0,y0,x1,y1 boxes; ties broken by index (deterministic)."""
    order = np.lexsort((np.arange(len(scores)), -scores))
    keep: list[int] = []
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    while order.size:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        ix = np.clip(np.minimum(boxes[best, 2], boxes[rest, 2]) - np.maximum(boxes[best, 0], boxes[rest, 0]), 0, None)
        iy = np.clip(np.minimum(boxes[best, 3], boxes[rest, 3]) - np.maximum(boxes[best, 1], boxes[rest, 1]), 0, None)
        inter = ix * iy
        union = areas[best] + areas[rest] - inter
        iou = np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)
        order = rest[iou <= iou_threshold]
    return keep


def decode_output(
    output: np.ndarray, fit: Letterbox, classes: Sequence[str], *, confidence: float, iou: float
) -> list[Detection]:
    """One image's raw output [4+C, anchors] → detections in normalised frame coordinates (class-aware NMS)."""
    predictions = output.T
    scores_all = predictions[:, 4:]
    class_ids = scores_all.argmax(axis=1)
    scores = scores_all[np.arange(len(class_ids)), class_ids]
    mask = scores >= confidence
    if not mask.any():
        return []
    xywh, class_ids, scores = predictions[mask, :4], class_ids[mask], scores[mask]
    boxes = np.empty_like(xywh)
    boxes[:, 0] = (xywh[:, 0] - xywh[:, 2] / 2 - fit.pad_x) / fit.scale
    boxes[:, 1] = (xywh[:, 1] - xywh[:, 3] / 2 - fit.pad_y) / fit.scale
    boxes[:, 2] = (xywh[:, 0] + xywh[:, 2] / 2 - fit.pad_x) / fit.scale
    boxes[:, 3] = (xywh[:, 1] + xywh[:, 3] / 2 - fit.pad_y) / fit.scale
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, fit.width) / fit.width
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, fit.height) / fit.height
    # Offsetting by class keeps NMS within a class in one call.
    shifted = boxes + class_ids[:, None].astype(boxes.dtype) * 2.0
    keep = nms(shifted, scores, iou)
    detections = [
        Detection(label=classes[int(class_ids[i])], confidence=float(scores[i]), box=Box(*(float(v) for v in boxes[i])))
        for i in keep
    ]
    return sorted(detections, key=lambda d: (-d.confidence, d.label))


def decode_end_to_end(
    output: np.ndarray, fit: Letterbox, classes: Sequence[str], *, confidence: float
) -> list[Detection]:
    """One image's end-to-end output [D, 6] → detections in normalised frame coordinates (no NMS: the model did it)."""
    rows = output[(output[:, 4] >= confidence) & (output[:, 5] >= 0) & (output[:, 5] < len(classes))]
    if not len(rows):
        return []
    boxes = np.empty((len(rows), 4), dtype=np.float64)
    boxes[:, [0, 2]] = np.clip((rows[:, [0, 2]] - fit.pad_x) / fit.scale, 0, fit.width) / fit.width
    boxes[:, [1, 3]] = np.clip((rows[:, [1, 3]] - fit.pad_y) / fit.scale, 0, fit.height) / fit.height
    detections = [
        Detection(label=classes[int(row[5])], confidence=float(row[4]), box=Box(*(float(v) for v in box)))
        for row, box in zip(rows, boxes)
    ]
    return sorted(detections, key=lambda d: (-d.confidence, d.label))


def is_end_to_end(shape: Sequence[object], metadata: dict[str, str], class_count: int) -> bool:
    """Which layout an output has: the export's own `end2end` flag when it wrote one, else the shape
    ([N, D, 6] and not a raw [N, 4+C, anchors] that happens to end in 6)."""
    flag = metadata.get("end2end")
    if flag is not None:
        return flag.strip().lower() == "true"
    return len(shape) == 3 and shape[2] == 6 and shape[1] != 4 + class_count


def choose_providers(wanted: Sequence[str], available: Sequence[str]) -> list[str]:
    """The configured providers that are installed, in order; CPU always last as the fallback."""
    order = [p for p in (wanted or DEFAULT_PROVIDERS) if p in available]
    if "CPUExecutionProvider" not in order:
        order.append("CPUExecutionProvider")
    return order


def model_classes(session: ort.InferenceSession) -> list[str] | None:
    """Class names an ultralytics export stores in its metadata (`names`: "{0: 'a', 1: 'b'}")."""
    raw = session.get_modelmeta().custom_metadata_map.get("names")
    if not raw:
        return None
    names = ast.literal_eval(raw)
    if isinstance(names, dict):
        return [str(names[k]) for k in sorted(names)]
    return [str(n) for n in names]


def weights_to_run(path: Path, metadata: dict[str, str], *, on_cpu: bool) -> Path:
    """The file whose weights a detector runs for the model at `path`: the model itself, or, for an int8 copy
    (detection/quantize.py stamps its float model's sha256, `quantized_from`) run on a CPU whose int8 sums
    saturate (int8_kernels.py), the float model it was made from, beside it. There the copy computes other scores
    than the ones it was measured and calibrated with (up to 0.19 apart, a top class changed, on 24 training
    frames under qemu's Haswell); its float source is the model the copy approximates."""
    made_from = metadata.get("quantized_from")
    if not made_from or not on_cpu or int8_convolutions_exact():
        return path
    source_name = metadata.get("quantized_from_file") or path.name.removesuffix(INT8_SUFFIX) + ".onnx"
    source = path.with_name(source_name)
    if source != path and source.is_file() and file_sha256(source) == made_from:
        logger.warning("this CPU's int8 convolutions saturate (no VNNI): detecting with %s, the float model "
                       "%s was made from", source.name, path.name)
        return source
    logger.warning("this CPU's int8 convolutions saturate (no VNNI) and %s, the float model %s was made from, "
                   "is not beside it: its scores differ from the ones it was measured with", source_name, path.name)
    return path


class OnnxDetector(Detector):
    """`config.model_path` is the model a run names; `weights_path` the file whose weights run (`weights_to_run`)."""

    def __init__(self, config: DetectorConfig) -> None:
        path = Path(config.model_path)
        if not path.is_file():
            raise ModelError(f"no model file at {path}")
        self.session = self._session(path, config)
        self.weights_path = weights_to_run(path, self.session.get_modelmeta().custom_metadata_map,
                                           on_cpu=self.session.get_providers()[0] == "CPUExecutionProvider")
        if self.weights_path != path:
            self.session = self._session(self.weights_path, config)
        found = model_classes(self.session)
        metadata = self.session.get_modelmeta().custom_metadata_map
        self.end_to_end = is_end_to_end(self.session.get_outputs()[0].shape, metadata, len(config.classes))
        output_classes = None if self.end_to_end else self._output_class_count()
        if found is not None and list(found) != list(config.classes):
            raise ClassMismatchError(found, config.classes)
        if found is None and output_classes is not None and output_classes != len(config.classes):
            raise ClassMismatchError([f"<{output_classes} unnamed classes>"], config.classes)
        self.classes = tuple(config.classes)
        self.config = config
        self.input_name = self.session.get_inputs()[0].name
        self.image_size = config.image_size or self._model_image_size()
        self.stride = self._rect_stride(metadata) if config.rect else None
        self.providers = self.session.get_providers()

    @staticmethod
    def _session(path: Path, config: DetectorConfig) -> ort.InferenceSession:
        options = ort.SessionOptions()
        # onnxruntime's threads spin for work after each run by default; between batches the
        # decoder needs those cores (2 on the build machine), so they sleep instead.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if config.threads:
            options.intra_op_num_threads = config.threads
            options.inter_op_num_threads = 1
        providers = choose_providers(config.providers, ort.get_available_providers())
        try:
            return ort.InferenceSession(str(path), sess_options=options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            raise ModelError(f"{path}: not a loadable ONNX model ({exc})") from exc

    def _output_class_count(self) -> int | None:
        shape = self.session.get_outputs()[0].shape
        return shape[1] - 4 if len(shape) == 3 and isinstance(shape[1], int) else None

    def _model_image_size(self) -> int:
        meta = self.session.get_modelmeta().custom_metadata_map
        if "imgsz" in meta:
            size = ast.literal_eval(meta["imgsz"])
            return int(size[0] if isinstance(size, (list, tuple)) else size)
        shape = self.session.get_inputs()[0].shape
        return int(shape[2]) if isinstance(shape[2], int) else 320

    def _rect_stride(self, metadata: dict[str, str]) -> int | None:
        """The stride a rectangular input's sides must be multiples of, None where the input is fixed."""
        height, width = self.session.get_inputs()[0].shape[2:4]
        if isinstance(height, int) and isinstance(width, int):
            return None
        try:
            return max(1, int(metadata.get("stride", "32")))
        except ValueError:
            return 32

    def canvas(self, images: Sequence[np.ndarray]) -> tuple[int, int]:
        """The input (width, height) a batch is letterboxed into: one shape for the whole batch."""
        if self.stride is None:
            return self.image_size, self.image_size
        sizes = [input_canvas(image.shape[1], image.shape[0], self.image_size, self.stride) for image in images]
        return max(w for w, _ in sizes), max(h for _, h in sizes)

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        if not images:
            return []
        canvas = self.canvas(images)
        fitted = [letterbox(image, self.image_size, canvas) for image in images]
        batch = np.stack([tensor for tensor, _ in fitted])
        (output,) = self.session.run(None, {self.input_name: batch})[:1]
        if self.end_to_end:
            return [
                decode_end_to_end(output[i], fit, self.classes, confidence=self.config.confidence)
                for i, (_, fit) in enumerate(fitted)
            ]
        return [
            decode_output(output[i], fit, self.classes, confidence=self.config.confidence, iou=self.config.iou)
            for i, (_, fit) in enumerate(fitted)
        ]
