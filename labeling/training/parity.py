"""The parity check: the exported ONNX model, run by Vodscope's own detector, finds what the trained weights found.

The training worker runs the weights in ultralytics on the validation frames and writes what it found
(`predictions.json`: image path → boxes normalised to the image, label, confidence). Here the same frames
go through `OnnxDetector` and every box either side is sure of (confidence `sure` or above, at least
SURE_CONFIDENCE) must have a twin on the other side: same class, IoU at least `min_iou`, kept down to the
detection threshold less a margin. The validation frames are written at the training size by the detector's
own resize (detection/pipeline/resize.py), so neither side resizes them and both see the same pixels; only
sure boxes are compared because float differences between torch and onnxruntime still swap an undertrained
model's weak, near-tied classes (0.23 for one class, 0.20 for the next), while an export fault (class order,
layout, scale, colour order) moves the strong boxes too. No Django here: the handler and the tests call it
with plain paths.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2

from detection.pipeline.detector import Detector
from detection.pipeline.types import Box, Detection

MIN_IOU = 0.9
MARGIN = 0.05
SURE_CONFIDENCE = 0.5
SHOWN_MISMATCHES = 5


class ParityError(ValueError):
    """The predictions file cannot be read; the message names it."""


@dataclass(frozen=True)
class ParityReport:
    images: int
    compared: int  # sure boxes looked for on the other side, both ways
    mismatches: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def summary(self) -> str:
        head = f"{len(self.mismatches)} of {self.compared} boxes on {self.images} validation frames differ"
        return "; ".join([head, *self.mismatches[:SHOWN_MISMATCHES]])

    def to_json(self) -> dict[str, object]:
        return {"images": self.images, "compared": self.compared, "mismatches": len(self.mismatches),
                "examples": list(self.mismatches[:SHOWN_MISMATCHES])}


def parity_floor(threshold: float, margin: float = MARGIN) -> float:
    """The confidence both sides keep boxes down to."""
    return max(0.001, threshold - margin)


def parity_sure(threshold: float) -> float:
    """From which confidence a box must be found by both sides."""
    return max(threshold, SURE_CONFIDENCE)


def read_predictions(path: Path) -> dict[Path, list[Detection]]:
    """`predictions.json` as the worker writes it: {"images": {path: [{"label", "confidence", "box"}]}}."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))["images"]
        return {
            Path(image): [Detection(label=str(d["label"]), confidence=float(d["confidence"]), box=Box(*map(float, d["box"])))
                          for d in found]
            for image, found in raw.items()
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ParityError(f"{path}: not the worker's predictions ({exc})") from None


def box_iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0))
    iy = max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))
    inter = ix * iy
    union = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter
    return inter / union if union > 0 else 0.0


def parity_check(
    predictions: Mapping[Path, Sequence[Detection]], detector: Detector, *, sure: float, min_iou: float = MIN_IOU
) -> ParityReport:
    """`detector` must keep boxes down to `parity_floor(threshold)`, as the worker's predictions do."""
    compared = 0
    mismatches: list[str] = []
    for image_path, expected in sorted(predictions.items()):
        image = cv2.imread(str(image_path))
        if image is None:
            raise ParityError(f"{image_path}: a validation frame that cannot be read")
        (found,) = detector.detect([image])
        for side, mine, other in (("the trained weights", expected, found), ("the ONNX model", found, expected)):
            for detection in mine:
                if detection.confidence < sure:
                    continue
                compared += 1
                if not any(o.label == detection.label and box_iou(o.box, detection.box) >= min_iou for o in other):
                    box = ", ".join(f"{v:.3f}" for v in (detection.box.x0, detection.box.y0, detection.box.x1,
                                                          detection.box.y1))
                    mismatches.append(f"{image_path.name}: {side} found {detection.label} {detection.confidence:.2f} "
                                      f"at ({box}), the other side nothing of that class with IoU >= {min_iou}")
    return ParityReport(images=len(predictions), compared=compared, mismatches=tuple(mismatches))
