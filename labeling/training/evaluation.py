"""Detector metrics on labelled frames, computed with Vodscope's own detector: what the registry compares.

Every version (the bundled one, one registered by hand, one trained here) is measured the same way, on
the same frames, through the same detector that runs in detection jobs: AP at IoU 0.5 per class (all-point
interpolation, the VOC/ultralytics way), their mean (mAP50), and precision and recall at the profile's
detection threshold. No Django here.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2

from detection.pipeline.detector import Detector
from detection.pipeline.types import Box
from labeling.datasets.items import DatasetItem

from .parity import box_iou

MATCH_IOU = 0.5


@dataclass(frozen=True)
class Scored:
    """One detection of a class, ranked by confidence: did it find a box of the truth?"""

    confidence: float
    hit: bool


def average_precision(scored: Sequence[Scored], truths: int) -> float:
    """Area under the precision envelope over recall, detections taken best first."""
    if truths == 0:
        return 0.0
    hits = 0
    points: list[tuple[float, float]] = []  # (recall, precision) after each detection
    for rank, item in enumerate(sorted(scored, key=lambda s: -s.confidence), start=1):
        hits += item.hit
        points.append((hits / truths, hits / rank))
    area, previous_recall = 0.0, 0.0
    for i, (recall, _) in enumerate(points):
        if recall > previous_recall:
            envelope = max(precision for _, precision in points[i:])
            area += (recall - previous_recall) * envelope
            previous_recall = recall
    return area


def detector_metrics(detector: Detector, items: Sequence[DatasetItem], *, threshold: float) -> dict[str, object]:
    """`detector` must keep boxes well below `threshold` (AP needs the whole ranking)."""
    scored: dict[str, list[Scored]] = {name: [] for name in detector.classes}
    truths = dict.fromkeys(detector.classes, 0)
    for item in items:
        if item.image is None:
            continue
        image = cv2.imread(str(item.image))
        if image is None:
            continue
        (found,) = detector.detect([image])
        for box in item.boxes:
            truths[box.label] = truths.get(box.label, 0) + 1
        taken: set[int] = set()
        for detection in sorted(found, key=lambda d: -d.confidence):
            best, best_iou = -1, MATCH_IOU
            for index, truth in enumerate(item.boxes):
                if index in taken or truth.label != detection.label:
                    continue
                iou = box_iou(detection.box, Box(truth.x0, truth.y0, truth.x1, truth.y1))
                if iou >= best_iou:
                    best, best_iou = index, iou
            if best >= 0:
                taken.add(best)
            scored.setdefault(detection.label, []).append(Scored(detection.confidence, best >= 0))
    per_class: dict[str, dict[str, float | int]] = {}
    for name in detector.classes:
        sure = [s for s in scored[name] if s.confidence >= threshold]
        hits = sum(s.hit for s in sure)
        per_class[name] = {"map50": average_precision(scored[name], truths[name]),
                           "precision": hits / len(sure) if sure else 0.0,
                           "recall": hits / truths[name] if truths[name] else 0.0, "instances": truths[name]}
    present = [name for name in detector.classes if truths[name]]
    sure_all = [s for name in detector.classes for s in scored[name] if s.confidence >= threshold]
    hits_all = sum(s.hit for s in sure_all)
    total = sum(truths.values())
    return {
        "frames": len(items),
        "map50": sum(float(per_class[n]["map50"]) for n in present) / len(present) if present else 0.0,
        "precision": hits_all / len(sure_all) if sure_all else 0.0,
        "recall": hits_all / total if total else 0.0,
        "per_class": {n: per_class[n] for n in present},
    }
