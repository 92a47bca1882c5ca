"""The `train` job: dataset → ultralytics in the training venv → parity check → ModelVersion.

Epochs stream in as the worker finishes them: each one moves the job's progress and lands in its
checkpoint (`checkpoint["epochs"]`, what the job card's chart reads while it runs; the result keeps them
at the end). A cancel is seen within about a second: the worker is asked to stop at its next batch
(a stop file), and killed if it has not after `STOP_GRACE_SECONDS`. A run taken over by another
worker, or ended any other way, never leaves its subprocess behind. A resumed job starts over: a
half-trained run is not worth the bookkeeping of ultralytics' own resume.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings

from detection.models import Job, ModelVersion
from detection.pipeline.detector import DetectorConfig, ModelError, OnnxDetector
from detection.pipeline.profile import GameProfile, load_profile
from detection.quantize import calibration_images, float_model_for, quantize_detector
from detection.services.model_versions import model_version_choose
from project.jobs.runner import JobCancelled, JobProgress
from project.jobs.services import job_create

from .dataset import TrainingSet, training_set_write
from .heldout import heldout_evaluate
from .heldout_events import heldout_events_evaluate
from .params import TrainError, TrainParams, train_params_clean
from .parity import ParityError, parity_check, parity_floor, parity_sure, read_predictions
from .register import trained_model_register, trained_weights_for
from .worker import WorkerRun, train_python_check

logger = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 60.0
TRAINING_FOLDER = "training"


def train_job_start(*, params: dict[str, Any], user: Any = None) -> Job:
    """Checked here, so a bad request is refused before anything is queued (TrainError, JobRefused)."""
    clean = train_params_clean(params)
    train_python_check()
    return job_create(kind=Job.Kind.TRAIN, created_by=user, params=clean.to_json())


def run_folder(job: Job) -> Path:
    return Path(settings.MEDIA_ROOT) / TRAINING_FOLDER / f"job-{job.pk}"


def train_job_handle(job: Job, progress: JobProgress) -> dict[str, Any]:
    params = train_params_clean(job.params)
    profile = load_profile(settings.VODSCOPE_GAME_PROFILE)
    # The version a run starts from is the one active now; choosing it also registers the bundled model on a
    # fresh installation, so the model trained here never becomes active by being the first one registered.
    active = model_version_choose(version_id=None, profile=profile)
    folder = run_folder(job)
    shutil.rmtree(folder, ignore_errors=True)  # a resumed job starts over
    folder.mkdir(parents=True)
    progress.update(0, params.epochs, "writing the dataset", force=True)
    dataset = training_set_write(root=folder / "dataset", recording_ids=params.recordings,
                                 base_images=params.base_images, seed=params.seed, max_side=params.imgsz)
    init_args, init_text = _start_weights(params, active)
    progress.update(0, params.epochs, f"training on {dataset.train_images} frames, {dataset.val_images} to validate",
                    force=True)
    epochs, summary = _train(job, progress, params, profile, dataset, folder, init_args)
    progress.update(params.epochs, params.epochs, "checking the ONNX export against the trained weights", force=True)
    parity = _parity(summary, profile)
    progress.update(params.epochs, params.epochs, "making its int8 copy (what detection runs)", force=True)
    quantized = _quantized(Path(summary["onnx"]), dataset, int(summary["imgsz"]))
    validation = summary["validation"]
    metrics = {
        **validation,
        "epochs": epochs,
        "dataset": dataset.to_json(),
        "training": {"job": job.pk, **params.to_json(), "from": init_text},
        "parity": parity,
    }
    notes = (f"Trained by job #{job.pk}: {len(epochs)} epoch(s) at {params.imgsz} px from {init_text}, "
             f"{dataset.train_images} training and {dataset.val_images} validation frames.")
    version = trained_model_register(job_id=job.pk, profile=profile, onnx=Path(summary["onnx"]), quantized=quantized,
                                     weights=Path(summary["best_pt"]), plots=summary["plots"], metrics=metrics,
                                     notes=notes)
    progress.update(params.epochs, params.epochs, f"registered {version.name}; measuring it on the held-out frames",
                    force=True)
    # The same frames and detector for the new version and the one it would replace: the Models page compares them.
    heldout = heldout_evaluate(version=version, profile=profile)
    heldout_evaluate(version=active, profile=profile)
    progress.update(params.epochs, params.epochs, f"registered {version.name}; detecting the held-out render with it",
                    force=True)
    for measured in (version, active):
        heldout_events_evaluate(version=measured, profile=profile)
    progress.update(params.epochs, params.epochs,
                    f"registered {version.name}: mAP50 {validation['map50']:.3f} on its validation frames, "
                    f"{heldout['map50']:.3f} on the held-out ones", force=True)
    return {"version": version.pk, "name": version.name, "map50": validation["map50"],
            "map50_95": validation["map50_95"], "heldout_map50": heldout["map50"], "epochs": epochs,
            "dataset": dataset.to_json(), "parity": parity}


def _start_weights(params: TrainParams, active: ModelVersion) -> tuple[list[str], str]:
    if params.start_from == "scratch":
        return [], "scratch"
    weights = trained_weights_for(active.onnx_file)
    if weights is not None:
        return ["--init", str(weights)], f"{active.name} (its weights)"
    # The bundled model kept no .pt: the worker rebuilds a checkpoint from the float ONNX (YOLO11n exports only).
    try:
        source = float_model_for(active.onnx_file)
    except ModelError as exc:
        raise TrainError(f"cannot start from {active.name}: {exc}; start from scratch instead") from exc
    return ["--init-onnx", str(source)], f"{active.name} (weights read back from {source.name})"


def _quantized(onnx: Path, dataset: TrainingSet, image_size: int) -> Path:
    """The int8 copy, its ranges measured on the run's own training frames (never its validation ones)."""
    try:
        return quantize_detector(onnx, calibration_images(dataset.data_yaml.parent / "images" / "train"),
                                 image_size=image_size)
    except ModelError as exc:
        raise TrainError(f"the int8 copy could not be made, the model is not registered: {exc}") from exc


def _train(job: Job, progress: JobProgress, params: TrainParams, profile: GameProfile, dataset: TrainingSet,
           folder: Path, init_args: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    args = ["--data", str(dataset.data_yaml), "--out", str(folder / "run"), "--epochs", str(params.epochs),
            "--imgsz", str(params.imgsz), "--batch", str(params.batch), "--seed", str(params.seed),
            "--lr0", str(params.lr0), "--mosaic", str(params.mosaic),
            "--device", str(settings.VODSCOPE_TRAIN_DEVICE), "--stop-file", str(folder / "stop"),
            "--conf", f"{parity_floor(profile.thresholds.confidence):.4f}", "--iou", str(profile.thresholds.iou),
            *init_args]
    worker = WorkerRun(args, log_path=folder / "worker.log", stop_file=folder / "stop")
    epochs: list[dict[str, Any]] = []
    summary_path = ""
    try:
        for message in worker.lines():
            if message is not None and message.get("event") == "epoch":
                epochs.append({k: v for k, v in message.items() if k != "event"})
                logger.info("train job %s: epoch %s/%s %s", job.pk, message.get("epoch"), params.epochs,
                            {k: v for k, v in epochs[-1].items() if k not in ("epoch", "epochs")})
                progress.save_checkpoint({"epochs": epochs})
                progress.update(len(epochs), params.epochs, _epoch_text(epochs[-1]), force=True)
            elif message is not None and message.get("event") == "done":
                summary_path = str(message.get("summary", ""))
            progress.raise_if_cancelled()
        code = worker.wait(timeout=STOP_GRACE_SECONDS)
    except JobCancelled:
        # Asked to stop at its next batch, so it leaves its run folder whole; killed if it does not in time.
        worker.request_stop()
        worker.wait(timeout=STOP_GRACE_SECONDS)
        raise
    finally:
        worker.close()
    if code != 0 or not summary_path:
        raise TrainError(f"the training worker failed (exit {code}): {worker.log_tail() or 'no output'}")
    summary: dict[str, Any] = json.loads(Path(summary_path).read_text(encoding="utf-8"))
    return epochs, summary


def _epoch_text(epoch: dict[str, Any]) -> str:
    return (f"epoch {epoch.get('epoch')}/{epoch.get('epochs')}: box loss {epoch.get('box_loss', 0):.3f}, "
            f"mAP50 {epoch.get('map50', 0):.3f}, mAP50-95 {epoch.get('map50_95', 0):.3f}")


def _parity(summary: dict[str, Any], profile: GameProfile) -> dict[str, object]:
    """The ONNX model on the validation frames in Vodscope's detector against ultralytics' own predictions, both
    letterboxed into the square (the worker predicts with rect=False): the check is of the export, not of padding."""
    threshold = profile.thresholds.confidence
    try:
        detector = OnnxDetector(DetectorConfig(model_path=summary["onnx"], classes=profile.classes,
                                               image_size=int(summary["imgsz"]), confidence=parity_floor(threshold),
                                               iou=profile.thresholds.iou, threads=1, rect=False))
        report = parity_check(read_predictions(Path(summary["predictions"])), detector,
                              sure=parity_sure(threshold))
    except (ModelError, ParityError) as exc:
        raise TrainError(f"parity check: {exc}; the model is not registered") from exc
    if not report.ok:
        raise TrainError(f"parity check failed, the ONNX model is not registered: {report.summary()}")
    return report.to_json()
