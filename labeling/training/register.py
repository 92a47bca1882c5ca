"""A trained model that passed its parity check becomes a ModelVersion: files in the models folder, plots in media.

The ONNX file, its int8 copy (the version: what detection runs) and its weights (`<name>.pt`, so the next run
can start from them) go to `VODSCOPE_MODELS_DIR/trained/`; ultralytics' plots (training curves, confusion matrix, PR/F1 curves) go to
`MEDIA_ROOT/models/<version>/`, served to staff by the Models page. The version's `metrics` hold the
validation figures (overall, per class, confusion matrix), the epochs, the dataset and how it was trained.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.conf import settings

from detection.models import ModelVersion
from detection.pipeline.detector import INT8_SUFFIX
from detection.pipeline.profile import GameProfile
from detection.quantize import quantized_path
from detection.services.model_versions import model_version_register, models_dir

TRAINED_FOLDER = "trained"
PLOTS_FOLDER = "models"


def trained_weights_for(onnx_file: str | Path) -> Path | None:
    """The .pt kept beside a version's ONNX file (the float one's name for an int8 copy), if its training left one."""
    path = Path(onnx_file)
    weights = path.with_name(path.name.removesuffix(INT8_SUFFIX).removesuffix(".onnx") + ".pt")
    return weights if weights.is_file() else None


def plot_path(version: ModelVersion, key: str) -> Path | None:
    """A plot of a version by its key in metrics["plots"], never a path from outside."""
    relative = (version.metrics or {}).get("plots", {}).get(key)
    if not isinstance(relative, str):
        return None
    path = (Path(settings.MEDIA_ROOT) / relative).resolve()
    return path if path.is_relative_to(Path(settings.MEDIA_ROOT).resolve()) and path.is_file() else None


def trained_model_register(
    *, job_id: int, profile: GameProfile, onnx: Path, quantized: Path, weights: Path, plots: dict[str, str],
    metrics: dict[str, Any], notes: str,
) -> ModelVersion:
    """The version registered is the int8 copy (what detection runs); the float model and the weights stay
    beside it for the next fine-tune."""
    folder = models_dir() / TRAINED_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"train-job{job_id}"
    shutil.copyfile(onnx, folder / f"{stem}.onnx")
    shutil.copyfile(quantized, quantized_path(folder / f"{stem}.onnx"))
    shutil.copyfile(weights, folder / f"{stem}.pt")
    version = model_version_register(path=quantized_path(folder / f"{stem}.onnx"), profile=profile)
    stored: dict[str, str] = {}
    plot_dir = Path(settings.MEDIA_ROOT) / PLOTS_FOLDER / version.name
    plot_dir.mkdir(parents=True, exist_ok=True)
    for name, source in sorted(plots.items()):
        key = Path(name).stem
        shutil.copyfile(source, plot_dir / name)
        stored[key] = str(Path(PLOTS_FOLDER) / version.name / name)
    version.metrics = {**metrics, "plots": stored}
    version.notes = notes[:2000]
    version.save(update_fields=["metrics", "notes"])
    return version
