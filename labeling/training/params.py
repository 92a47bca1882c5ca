"""What a training run may be asked for, checked once for the job, the staff page, the admin and the command."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

FROM_CHOICES = ("active", "scratch")
HELDOUT_SEED = 990_001  # the held-out frames' seed (heldout.py): never drawn for a training set
LIMITS = {"epochs": (1, 1000), "imgsz": (64, 1280), "batch": (1, 256), "base_images": (0, 20000), "seed": (0, 2**31 - 1)}
FLOAT_LIMITS = {"lr0": (1e-6, 1.0), "mosaic": (0.0, 1.0)}


class TrainError(ValueError):
    """A training run that cannot start or whose result is refused; the message says why, for the job or a page."""


@dataclass(frozen=True)
class TrainParams:
    epochs: int = 10
    imgsz: int = 320
    batch: int = 16
    start_from: str = "active"  # the active model's weights, or the architecture alone
    recordings: tuple[int, ...] = ()
    base_images: int = 0  # randomised rendered frames added to the reviewed ones
    seed: int = 0
    lr0: float = 0.01  # ultralytics' initial learning rate; a gentle fine-tune wants less
    mosaic: float = 1.0  # mosaic augmentation probability; 0 keeps screens laid out as the game draws them

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["from"] = data.pop("start_from")
        data["recordings"] = list(self.recordings)
        return data


def train_params_clean(raw: object) -> TrainParams:
    """Job parameters (JSON) → TrainParams; TrainError names the first bad key. Unknown keys are refused."""
    if not isinstance(raw, dict):
        raise TrainError("training parameters: an object")
    known = {"epochs", "imgsz", "batch", "from", "recordings", "base_images", "seed", "lr0", "mosaic"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise TrainError(f"unknown training parameters {unknown}; known: {sorted(known)}")
    values: dict[str, Any] = {}
    for key, (low, high) in LIMITS.items():
        if key not in raw:
            continue
        value = raw[key]
        if type(value) is not int or not low <= value <= high:
            raise TrainError(f"{key}: a whole number from {low} to {high}")
        values[key] = value
    for key, (low_f, high_f) in FLOAT_LIMITS.items():
        if key not in raw:
            continue
        number = raw[key]
        if type(number) not in (int, float) or not low_f <= number <= high_f:
            raise TrainError(f"{key}: a number from {low_f:g} to {high_f:g}")
        values[key] = float(number)
    if values.get("seed") == HELDOUT_SEED:
        raise TrainError(f"seed: {HELDOUT_SEED} draws the held-out frames every version is measured on")
    if "imgsz" in values and values["imgsz"] % 32:
        raise TrainError("imgsz: a multiple of 32 (the model's largest stride)")
    start_from = raw.get("from", "active")
    if start_from not in FROM_CHOICES:
        raise TrainError(f"from: one of {', '.join(FROM_CHOICES)}")
    recordings = raw.get("recordings", [])
    if not isinstance(recordings, list) or not all(type(r) is int and r > 0 for r in recordings):
        raise TrainError("recordings: a list of recording ids")
    params = TrainParams(start_from=start_from, recordings=tuple(sorted(set(recordings))), **values)
    if not params.recordings and not params.base_images:
        raise TrainError("nothing to train on: choose recordings with reviewed frames, or base rendered images")
    return params
