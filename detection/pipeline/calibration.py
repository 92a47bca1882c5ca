"""Confidence calibration: an event's confidence becomes the chance that it is right.

The pipeline's raw confidence (the screen's score times how well its fields were read, halved
for an inferred event) orders events but is no probability: on footage of a look the model was
not trained on, right events scored 0.2-0.5. A calibration maps it, per event type and
separately for inferred events, through a monotone curve fitted on held-out footage, where
"right" means matched to the truth with every field right (bench/bench_calibration.py fits and
measures it on renders not used to fit it).

The curves are data, in a JSON file beside the model (`<model>.calibration.json`), tied to the
model by its sha256: fitted scores mean nothing for other weights. A missing, mismatched or
malformed file gives the identity (raw scores) and says so in the log; it never stops a run.

    {"format": 1, "model_sha256": "...", "method": "isotonic",
     "curves": {"kill": {"observed": {"x": [0.2, 0.9], "y": [0.4, 0.97], "n": 120},
                         "inferred": {...}}, ...}}

A curve is piecewise linear between its knots (x ascending, y never falling), flat beyond the
first and last knot. An event type or flag with no curve keeps its raw score.
"""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from detection.pipeline.detector import Detector, OnnxDetector
from detection.pipeline.hashing import file_sha256

FORMAT = 1
SUFFIX = ".calibration.json"
OBSERVED, INFERRED = "observed", "inferred"
# Fewer events than this get a regularised logistic curve (Platt scaling), not an isotonic one: a
# few events make isotonic steps that flatten whole ranges, and a flat stretch loses the order review needs.
MIN_ISOTONIC_POINTS = 30
# Knots a logistic curve is stored at (the file format is knots, whatever the fit).
LOGISTIC_KNOTS = tuple(i / 10 for i in range(11))

log = logging.getLogger(__name__)


class CalibrationError(ValueError):
    """A calibration file that cannot be used; the message says where."""


@dataclass(frozen=True)
class Curve:
    """A monotone map from raw confidence to the chance of being right."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    n: int = 0  # events it was fitted on

    def __post_init__(self) -> None:
        if not self.x or len(self.x) != len(self.y):
            raise CalibrationError(f"a curve needs as many y as x knots (at least one), got {len(self.x)} and {len(self.y)}")
        if any(b < a for a, b in zip(self.x, self.x[1:])):
            raise CalibrationError(f"curve knots x must ascend: {list(self.x)}")
        if any(b < a for a, b in zip(self.y, self.y[1:])):
            raise CalibrationError(f"curve values y must never fall (a calibration keeps the order): {list(self.y)}")
        if any(not 0.0 <= v <= 1.0 for v in (*self.x, *self.y)):
            raise CalibrationError("curve knots and values must lie in 0..1")

    def __call__(self, raw: float) -> float:
        return float(np.interp(raw, self.x, self.y))

    def to_json(self) -> dict[str, Any]:
        return {"x": [round(v, 4) for v in self.x], "y": [round(v, 4) for v in self.y], "n": self.n}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], *, where: str) -> Curve:
        try:
            return cls(tuple(float(v) for v in raw["x"]), tuple(float(v) for v in raw["y"]), int(raw.get("n", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(f"{where}: {exc}") from exc


@dataclass(frozen=True)
class Calibration:
    """Curves per (event type, inferred); the empty calibration is the identity."""

    curves: dict[tuple[str, bool], Curve] = field(default_factory=dict)
    model_sha256: str = ""

    def confidence(self, event_type: str, raw: float, *, inferred: bool = False) -> float:
        curve = self.curves.get((event_type, inferred))
        return raw if curve is None else curve(raw)

    @property
    def is_identity(self) -> bool:
        return not self.curves

    def to_json(self, **about: Any) -> dict[str, Any]:
        curves: dict[str, dict[str, Any]] = {}
        for (event_type, inferred), curve in sorted(self.curves.items()):
            curves.setdefault(event_type, {})[INFERRED if inferred else OBSERVED] = curve.to_json()
        return {"format": FORMAT, "model_sha256": self.model_sha256, **about, "curves": curves}

    @classmethod
    def from_json(cls, document: Mapping[str, Any], *, where: str) -> Calibration:
        if document.get("format") != FORMAT:
            raise CalibrationError(f"{where}: format {document.get('format')!r}, this version reads {FORMAT}")
        curves: dict[tuple[str, bool], Curve] = {}
        raw_curves = document.get("curves")
        if not isinstance(raw_curves, dict):
            raise CalibrationError(f"{where}: 'curves' must be an object of event types")
        for event_type, flags in raw_curves.items():
            if not isinstance(flags, dict) or set(flags) - {OBSERVED, INFERRED}:
                raise CalibrationError(f"{where}: curves.{event_type} holds only '{OBSERVED}' and '{INFERRED}'")
            for flag, raw in flags.items():
                curves[(event_type, flag == INFERRED)] = Curve.from_json(raw, where=f"{where}: curves.{event_type}.{flag}")
        return cls(curves, str(document.get("model_sha256", "")))


IDENTITY = Calibration()


def calibration_path(model_path: str | Path) -> Path:
    return Path(model_path).with_suffix(SUFFIX)


def load_calibration(path: str | Path, *, model_sha256: str) -> Calibration:
    """The calibration in `path` when it was fitted for this model; else the identity, logged."""
    path = Path(path)
    if not path.exists():
        log.info("no confidence calibration at %s: events keep their raw confidence", path)
        return IDENTITY
    try:
        calibration = Calibration.from_json(json.loads(path.read_text()), where=str(path))
    except (OSError, ValueError) as exc:  # JSONDecodeError and CalibrationError are ValueErrors
        log.warning("confidence calibration %s not used, events keep their raw confidence: %s", path, exc)
        return IDENTITY
    if calibration.model_sha256 != model_sha256:
        log.warning(
            "confidence calibration %s was fitted for model sha256 %s, not this one (%s): events keep their raw "
            "confidence", path, calibration.model_sha256[:12] or "(none)", model_sha256[:12],
        )
        return IDENTITY
    return calibration


_CACHE: dict[tuple[str, int, int], Calibration] = {}
_LOCK = threading.Lock()


def calibration_for_model(model_path: str | Path) -> Calibration:
    """The calibration beside an ONNX file, read once per file version in a process."""
    model = Path(model_path).resolve()
    stat = model.stat()
    key = (str(model), stat.st_size, stat.st_mtime_ns)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = load_calibration(calibration_path(model), model_sha256=file_sha256(model))
        return _CACHE[key]


def calibration_for_detector(detector: Detector) -> Calibration:
    """The calibration of the file whose weights the detector runs (`OnnxDetector.weights_path`: an int8 copy's
    float source where int8 sums saturate); a detector without one keeps raw scores."""
    return calibration_for_model(detector.weights_path) if isinstance(detector, OnnxDetector) else IDENTITY


def fit_curve(points: Sequence[tuple[float, bool]]) -> Curve:
    """Isotonic regression (pool adjacent violators) of right (1) / wrong (0) on the raw score.

    Each pooled block's rate is shrunk towards one half by one right and one wrong pseudo-event, so
    a block of three right events says 0.8, not certainty; a knot sits at each block's mean score.
    Under MIN_ISOTONIC_POINTS events: `fit_logistic`.
    """
    if not points:
        raise CalibrationError("a curve needs at least one event")
    ordered = sorted(points)
    if len(ordered) < MIN_ISOTONIC_POINTS:
        return fit_logistic(ordered)
    # Blocks of [sum of scores, right events, events], merged while a block is not above the one before.
    blocks: list[list[float]] = []
    for score, right in ordered:
        blocks.append([score, float(right), 1.0])
        # Also merged: blocks at one mean score (ties), so the knots ascend strictly.
        while len(blocks) > 1 and (blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]
                                   or blocks[-2][0] / blocks[-2][2] >= blocks[-1][0] / blocks[-1][2]):
            last = blocks.pop()
            blocks[-1] = [a + b for a, b in zip(blocks[-1], last)]
    xs = [s / n for s, _, n in blocks]
    ys = list(np.maximum.accumulate([(r + 1) / (n + 2) for _, r, n in blocks]))
    return Curve(tuple(xs), tuple(float(v) for v in ys), len(ordered))


def fit_calibration(
    samples: Sequence[tuple[str, bool, float, bool]], *, model_sha256: str
) -> Calibration:
    """Curves from (event type, inferred, raw confidence, right) samples, one per type and flag seen."""
    groups: dict[tuple[str, bool], list[tuple[float, bool]]] = {}
    for event_type, inferred, raw, right in samples:
        groups.setdefault((event_type, inferred), []).append((raw, right))
    return Calibration({key: fit_curve(points) for key, points in sorted(groups.items())}, model_sha256)


def fit_logistic(points: Sequence[tuple[float, bool]], *, prior: tuple[float, float] = (0.1, 0.5)) -> Curve:
    """Platt scaling: p = 1 / (1 + exp(-(a * raw + b))), slope a and intercept b pulled towards 0
    (p = 0.5) by Gaussian priors of precision `prior`, so a handful of events moves the curve only
    so far and all-right events never say certainty. The slope never falls below 0 (monotone)."""
    raw = np.array([score for score, _ in points], dtype=float)
    right = np.array([float(r) for _, r in points])
    features = np.stack([raw, np.ones_like(raw)], axis=1)
    weights, precision = np.zeros(2), np.array(prior)
    for _ in range(50):  # Newton steps on the penalised log-likelihood (convex: converges in a few)
        p = 1.0 / (1.0 + np.exp(-features @ weights))
        gradient = features.T @ (p - right) + precision * weights
        hessian = (features.T * (p * (1 - p))) @ features + np.diag(precision)
        weights -= np.linalg.solve(hessian, gradient)
        weights[0] = max(0.0, weights[0])
    slope, intercept = weights
    ys = tuple(float(1.0 / (1.0 + np.exp(-(slope * x + intercept)))) for x in LOGISTIC_KNOTS)
    return Curve(LOGISTIC_KNOTS, ys, len(points))
