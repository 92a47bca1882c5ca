"""One settings object for a detection run, whoever starts it: `manage.py detect`, the detect job, live mode.

`DetectSettings.from_params` is the only way from raw choices (JSON job params, command-line
options, a live configuration) to a run: one set of key names, every value checked for its
type and range with a message that names the key. Which model file runs is decided outside
the pure pipeline (a registered ModelVersion) and handed in as a `ModelRef`; the event log
names it by name and sha256, never by server path.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from detection.pipeline.event_log import format_timestamp

# The int8 copy of `demo_yolo11n.onnx` (detection/quantize.py); fine-tunes start from the float model.
BUNDLED_MODEL = Path(__file__).resolve().parent.parent / "bundled" / "demo_yolo11n.int8.onnx"
MAX_DETECTION_FPS = 60.0

# The choices a person makes for a run, and what each means (also the error message's help).
PARAMETERS: dict[str, str] = {
    "model_version": "id of a registered model version (default: the active one)",
    "detection_fps": f"frames per video-second the detector looks at, a number in (0, {MAX_DETECTION_FPS:g}]",
    "confidence_threshold": "the detector's score threshold, a number in (0, 1) (default: the game profile's)",
    "gate": "skip frames that did not change, true or false",
    "two_pass": "propose spans from keyframes first, then decode only those, true or false",
    "skip_nonref": "skip B-frames nothing refers to when sampling, true or false",
}


class SettingsError(ValueError):
    """A run parameter that is unknown, of the wrong type or out of range; the message names it."""


@dataclass(frozen=True)
class ModelRef:
    """The ONNX file a run loads and the name and digest its event log records."""

    path: str
    name: str
    sha256: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "sha256": self.sha256}


@dataclass(frozen=True)
class DetectSettings:
    model_path: str = str(BUNDLED_MODEL)
    model_name: str = ""
    model_sha256: str = ""
    detection_fps: float = 10.0
    confidence_threshold: float | None = None  # None: the profile's threshold
    gate: bool = True
    two_pass: bool = False
    skip_nonref: bool = True
    providers: tuple[str, ...] = ()
    threads: int = 0  # onnxruntime threads per session; 0: one fewer than the cores (one decodes)
    batch_size: int = 8

    @classmethod
    def from_params(
        cls,
        raw: object,
        *,
        model: ModelRef,
        detection_fps: float = 10.0,
        providers: tuple[str, ...] = (),
    ) -> DetectSettings:
        """A run from raw choices (`PARAMETERS`); `detection_fps` and `providers` are the installation's defaults.

        `model_version` is checked here for its type only: the caller resolved it to `model`."""
        params = parse_params(raw)
        return cls(
            model_path=model.path,
            model_name=model.name,
            model_sha256=model.sha256,
            detection_fps=params.get("detection_fps", detection_fps),
            confidence_threshold=params.get("confidence_threshold"),
            gate=params.get("gate", True),
            two_pass=params.get("two_pass", False),
            skip_nonref=params.get("skip_nonref", True),
            providers=providers,
        )

    @property
    def model(self) -> ModelRef:
        return ModelRef(path=self.model_path, name=self.model_name, sha256=self.model_sha256)

    def to_json(self) -> dict[str, Any]:
        """The choices that shape the events, under the same keys `from_params` reads."""
        return {
            "detection_fps": self.detection_fps,
            "confidence_threshold": self.confidence_threshold,
            "gate": self.gate,
            "two_pass": self.two_pass,
            "skip_nonref": self.skip_nonref,
            "providers": list(self.providers),
            "batch_size": self.batch_size,
        }


def run_metadata(settings: DetectSettings, *, profile: str, started_at: datetime | None,
                 weights: str) -> dict[str, Any]:
    """What every event log and job result says about the run: the same keys for the CLI and the job.
    `weights`: the file name of the weights that ran (`factory.weights_name`), which for an int8 model
    on a CPU whose int8 sums saturate is its float source's, not the model's own."""
    return {
        "model": settings.model.to_json(),
        "weights": weights,
        "profile": profile,
        "settings": settings.to_json(),
        "started_at": format_timestamp(started_at),
    }


def parse_params(raw: object) -> dict[str, Any]:
    """The given keys of `PARAMETERS` with checked values; leave a key out for its default."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SettingsError(f"detection parameters must be an object of {sorted(PARAMETERS)}, got {_kind(raw)}")
    unknown = sorted(str(key) for key in raw if key not in PARAMETERS)
    if unknown:
        raise SettingsError(f"unknown detection parameters {unknown}; known: {sorted(PARAMETERS)}")
    clean: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None:
            raise SettingsError(f"{key}: null is not a value; leave the key out for the default ({PARAMETERS[key]})")
        if key == "model_version":
            clean[key] = _positive_int(key, value)
        elif key == "detection_fps":
            clean[key] = _number(key, value, low=0.0, high=MAX_DETECTION_FPS, high_inclusive=True)
        elif key == "confidence_threshold":
            clean[key] = _number(key, value, low=0.0, high=1.0, high_inclusive=False)
        else:
            clean[key] = _flag(key, value)
    return clean


def _kind(value: object) -> str:
    return f"{type(value).__name__} {value!r}"[:80]


def _positive_int(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise SettingsError(f"{key} must be a positive whole number ({PARAMETERS[key]}), got {_kind(value)}")
    return value


def _number(key: str, value: object, *, low: float, high: float, high_inclusive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(f"{key} must be a number ({PARAMETERS[key]}), got {_kind(value)}")
    number = float(value) if isinstance(value, float) or abs(value) < 2**53 else math.inf
    inside = low < number <= high if high_inclusive else low < number < high
    if not math.isfinite(number) or not inside:
        raise SettingsError(f"{key}={value!r} is out of range: {PARAMETERS[key]}")
    return number


def _flag(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise SettingsError(f"{key} must be true or false, got {_kind(value)}")
    return value
