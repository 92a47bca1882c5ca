#!/usr/bin/env python
"""The `train` job's worker: ultralytics in the training venv, driven by labeling/training/run.py.

    .venv-train/bin/python scripts/train_worker.py --data DATASET/data.yaml --out RUN --epochs 10 --imgsz 320 \
        [--init WEIGHTS.pt | --init-onnx MODEL.onnx] --stop-file RUN/stop --conf 0.30 --iou 0.5

Protocol: stdout carries only JSON lines, one object each (everything ultralytics prints goes to stderr):
    {"event": "epoch", "epoch": 1, "epochs": 10, "box_loss": .., "cls_loss": .., "dfl_loss": ..,
     "precision": .., "recall": .., "map50": .., "map50_95": ..}     after each epoch's validation
    {"event": "stopped", "epoch": 3}      the stop file appeared; the run ends at that batch, nothing exported
    {"event": "done", "summary": "RUN/summary.json"}     trained, validated, exported, predictions written
The exit status is 0 for "done" and "stopped", anything else is a failure whose reason is on stderr.
summary.json names best.pt, the ONNX export, the validation metrics (overall, per class, confusion
matrix), the plots, and predictions.json: what the trained weights find on each validation image,
boxes normalised to the image, which the job compares with Vodscope's own ONNX detector (parity).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_bundled_model import IMAGE_SUFFIXES, checkpoint_from_onnx, offline_environment  # noqa: E402  # the same offline set-up

PLOTS = ("results.png", "confusion_matrix.png", "confusion_matrix_normalized.png", "BoxPR_curve.png",
         "BoxF1_curve.png", "BoxP_curve.png", "BoxR_curve.png")


class StopRequested(Exception):
    """The stop file appeared: leave the training loop at the current batch."""


def protocol_stream() -> TextIO:
    """A private copy of stdout for the JSON lines; fd 1 itself then points at stderr, so nothing else lands there."""
    stream = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return stream


def emit(stream: TextIO, **fields: Any) -> None:
    stream.write(json.dumps(fields) + "\n")
    stream.flush()


def epoch_fields(trainer: Any) -> dict[str, float]:
    losses = trainer.label_loss_items(trainer.tloss, prefix="train")
    metrics = trainer.metrics or {}
    return {
        "box_loss": float(losses.get("train/box_loss", 0.0)),
        "cls_loss": float(losses.get("train/cls_loss", 0.0)),
        "dfl_loss": float(losses.get("train/dfl_loss", 0.0)),
        "precision": float(metrics.get("metrics/precision(B)", 0.0)),
        "recall": float(metrics.get("metrics/recall(B)", 0.0)),
        "map50": float(metrics.get("metrics/mAP50(B)", 0.0)),
        "map50_95": float(metrics.get("metrics/mAP50-95(B)", 0.0)),
    }


def add_callbacks(model: Any, stream: TextIO, stop_file: Path) -> None:
    # on_fit_epoch_end also fires once more for the final evaluation of best.pt; only a trained epoch counts.
    pending: dict[str, int] = {}

    def on_batch_end(trainer: Any) -> None:
        if stop_file.exists():
            raise StopRequested

    def on_train_epoch_end(trainer: Any) -> None:
        pending["epoch"] = trainer.epoch

    def on_fit_epoch_end(trainer: Any) -> None:
        epoch = pending.pop("epoch", None)
        if epoch is not None:
            emit(stream, event="epoch", epoch=epoch + 1, epochs=trainer.epochs, **epoch_fields(trainer))
        if stop_file.exists():
            raise StopRequested

    model.add_callback("on_train_batch_end", on_batch_end)
    model.add_callback("on_train_epoch_end", on_train_epoch_end)
    model.add_callback("on_fit_epoch_end", on_fit_epoch_end)


def validation_images(data: Path) -> list[Path]:
    folder = data.parent / "images" / "val"
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def predictions(model: Any, images: list[Path], *, imgsz: int, conf: float, iou: float, device: str) -> dict[str, Any]:
    """The trained weights on each validation image, square letterbox like the ONNX detector (rect off)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(images), 16):
        chunk = images[start:start + 16]
        results = model.predict([str(p) for p in chunk], imgsz=imgsz, conf=conf, iou=iou, rect=False, device=device,
                                verbose=False, max_det=300)
        for path, result in zip(chunk, results):
            boxes = result.boxes
            found[str(path)] = [
                {"label": result.names[int(c)], "confidence": float(s), "box": [float(v) for v in xyxy]}
                for xyxy, s, c in zip(boxes.xyxyn.tolist(), boxes.conf.tolist(), boxes.cls.tolist())
            ]
    return {"images": found}


def validation_summary(metrics: Any, names: dict[int, str]) -> dict[str, Any]:
    box = metrics.box
    per_class: dict[str, dict[str, float]] = {}
    for i, index in enumerate(box.ap_class_index):
        per_class[names[int(index)]] = {
            "precision": float(box.p[i]), "recall": float(box.r[i]),
            "map50": float(box.ap50[i]), "map50_95": float(box.ap[i]),
            "instances": int(metrics.nt_per_class[int(index)]),
        }
    matrix = getattr(metrics, "confusion_matrix", None)
    return {
        "precision": float(box.mp), "recall": float(box.mr),
        "map50": float(box.map50), "map50_95": float(box.map),
        "per_class": per_class,
        # Ultralytics' orientation: rows are what was predicted, columns the truth; the last of each is background.
        "confusion_matrix": {
            "labels": [names[i] for i in sorted(names)] + ["background"],
            "matrix": matrix.matrix.astype(int).tolist() if matrix is not None else [],
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=Path, help="YOLO data.yaml")
    parser.add_argument("--out", required=True, type=Path, help="folder for the run (created)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr0", type=float, default=0.01, help="initial learning rate")
    parser.add_argument("--mosaic", type=float, default=1.0, help="mosaic probability (0 for a gentle fine-tune)")
    parser.add_argument("--init", type=Path, help="weights to start from (.pt)")
    parser.add_argument("--init-onnx", type=Path, help="an exported YOLO11n to start from (its .pt was not kept)")
    parser.add_argument("--stop-file", required=True, type=Path, help="when this file appears, stop at the next batch")
    parser.add_argument("--conf", type=float, default=0.3, help="confidence floor of the parity predictions")
    parser.add_argument("--iou", type=float, default=0.5, help="NMS IoU of the parity predictions (the detector's)")
    args = parser.parse_args()

    stream = protocol_stream()
    offline_environment()
    from ultralytics import YOLO

    out = args.out.resolve()
    data = args.data.resolve()
    init = args.init
    if args.init_onnx:
        init = checkpoint_from_onnx(args.init_onnx, out / "init_from_onnx.pt", data, args.imgsz)
    # Architecture only unless told where to start: never downloaded weights.
    model = YOLO(str(init) if init else "yolo11n.yaml")
    add_callbacks(model, stream, args.stop_file)
    try:
        model.train(
            data=str(data), imgsz=args.imgsz, epochs=args.epochs, batch=args.batch, device=args.device,
            seed=args.seed, deterministic=True, pretrained=bool(init), amp=False, plots=True, workers=0,
            lr0=args.lr0, mosaic=args.mosaic,
            project=str(out), name="train", exist_ok=True, fliplr=0.0, close_mosaic=max(1, args.epochs // 4),
            val=True, verbose=False,
        )
    except StopRequested:
        emit(stream, event="stopped", epoch=int(getattr(model.trainer, "epoch", 0)) + 1)
        return 0
    run = out / "train"
    best = run / "weights" / "best.pt"
    if not best.exists():
        best = run / "weights" / "last.pt"
    trained = YOLO(str(best))
    metrics = trained.val(data=str(data), imgsz=args.imgsz, batch=args.batch, device=args.device, plots=True,
                          project=str(out), name="val", exist_ok=True, workers=0, verbose=False)
    onnx_path = Path(trained.export(format="onnx", imgsz=args.imgsz, dynamic=True, simplify=True, opset=17,
                                    device=args.device))
    predicted = predictions(trained, validation_images(data), imgsz=args.imgsz, conf=args.conf, iou=args.iou,
                            device=args.device)
    (out / "predictions.json").write_text(json.dumps(predicted))
    plots = {name: str(folder / name) for folder in (run, out / "val") for name in PLOTS if (folder / name).exists()}
    summary = {
        "best_pt": str(best), "onnx": str(onnx_path), "imgsz": args.imgsz, "epochs": args.epochs,
        "predictions": str(out / "predictions.json"), "plots": plots,
        "validation": validation_summary(metrics, dict(trained.names)),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    emit(stream, event="done", summary=str(out / "summary.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
