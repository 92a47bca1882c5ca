"""The fixed held-out frames every version is measured on, so the Models page compares like with like.

Rendered once per installation by the dataset maker in the style families no training set is drawn in
(fonts, palettes and layouts the models never saw: footage they have not seen, not new seeds of their own
look), with a seed no training run uses (`HELDOUT_SEED`; training refuses it), kept under
MEDIA_ROOT/heldout/, and read back through the YOLO reader. A version's
figures (`metrics["heldout"]`) come from Vodscope's own detector (evaluation.py), the bundled model's too.
"""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from detection.models import ModelVersion
from detection.pipeline.detector import DetectorConfig, OnnxDetector
from detection.pipeline.profile import GameProfile
from detection.render.dataset import make_dataset
from detection.render.families import HELD_OUT_FAMILIES
from labeling.datasets.items import DatasetItem
from labeling.datasets.yolo import read_yolo

from .evaluation import detector_metrics
from .params import HELDOUT_SEED

HELDOUT_MAX_SIDE = 640
HELDOUT_FAMILY_NAMES = [family.name for family in HELD_OUT_FAMILIES]
# How frames are fitted into the model's input (detector.input_canvas), as the pipeline runs it.
HELDOUT_INPUT = "rect"
RANKING_FLOOR = 0.001  # AP needs the detector's whole ranking, not only what passes the threshold


def heldout_count() -> int:
    return int(settings.VODSCOPE_HELDOUT_FRAMES)


def heldout_folder(name: str, *, done: str, make: Callable[[Path], object]) -> Path:
    """MEDIA_ROOT/heldout/<name>, made by `make` into a scratch folder the first time (`done`, a file inside it,
    is missing) and renamed into place whole: two jobs making it at once keep the first."""
    folder = Path(settings.MEDIA_ROOT) / "heldout" / name
    if not (folder / done).is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".rendering-"))
        make(scratch)
        try:
            scratch.rename(folder)
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)
    return folder


def heldout_items() -> list[DatasetItem]:
    count = heldout_count()
    folder = heldout_folder(
        f"heldout-families-seed{HELDOUT_SEED}-n{count}", done="data.yaml",
        make=lambda scratch: make_dataset(scratch, images=count, seed=HELDOUT_SEED, val_fraction=1.0,
                                          max_side=HELDOUT_MAX_SIDE, families=HELD_OUT_FAMILIES))
    _, items = read_yolo(folder)
    return items


def heldout_evaluate(*, version: ModelVersion, profile: GameProfile) -> dict[str, object]:
    """Measure `version` on the held-out frames and keep the figures on it (once per set of frames and input:
    figures from the square input of earlier releases are measured again, so versions compare like with like)."""
    existing = (version.metrics or {}).get("heldout")
    if (isinstance(existing, dict) and existing.get("seed") == HELDOUT_SEED and existing.get("frames") == heldout_count()
            and existing.get("families") == HELDOUT_FAMILY_NAMES and existing.get("input") == HELDOUT_INPUT):
        return existing
    detector = OnnxDetector(DetectorConfig(model_path=version.onnx_file, classes=profile.classes,
                                           image_size=version.image_size, confidence=RANKING_FLOOR,
                                           iou=profile.thresholds.iou, threads=1))
    figures = {**detector_metrics(detector, heldout_items(), threshold=profile.thresholds.confidence),
               "seed": HELDOUT_SEED, "families": HELDOUT_FAMILY_NAMES, "input": HELDOUT_INPUT}
    version.metrics = {**(version.metrics or {}), "heldout": figures}
    version.save(update_fields=["metrics"])
    return figures
