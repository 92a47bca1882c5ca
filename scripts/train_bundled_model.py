#!/usr/bin/env python
"""Trains the bundled demo detector (YOLO11n from scratch, offline) and exports it to ONNX.

Runs in the training venv (requirements-train.txt), never in the inference path:
    .venv-train/bin/python scripts/train_bundled_model.py --data DATASET/data.yaml --out OUT \
        --imgsz 320 --epochs 40 --batch 16
Ultralytics reaches for the network for fonts, pretrained weights and pip installs; the
environment below turns all of that off so a run works on a machine with no internet.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

FONT = Path(__file__).resolve().parent.parent / "detection" / "fonts" / "NotoSans-Regular.ttf"


def offline_environment() -> None:
    config_dir = Path(tempfile.gettempdir()) / "vodscope-ultralytics"
    (config_dir / "Ultralytics").mkdir(parents=True, exist_ok=True)
    font_source = FONT if FONT.exists() else Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        target = config_dir / "Ultralytics" / name
        if not target.exists():
            shutil.copy(font_source, target)
    os.environ.update(
        {"YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "False", "YOLO_CONFIG_DIR": str(config_dir), "YOLO_VERBOSE": "True"}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="YOLO data.yaml from `manage.py make_dataset`")
    parser.add_argument("--out", required=True, help="folder for the run, best.pt and the ONNX file")
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mosaic", type=float, default=1.0, help="mosaic probability (0 for a fine-tune pass)")
    parser.add_argument(
        "--init", help="continue from weights this script produced earlier (a .pt), e.g. on a fresh dataset"
    )
    args = parser.parse_args()

    offline_environment()
    from ultralytics import YOLO

    out = Path(args.out).resolve()
    # Architecture only unless --init: trained from scratch, never from downloaded weights.
    model = YOLO(args.init or "yolo11n.yaml")
    model.train(
        data=str(Path(args.data).resolve()),
        imgsz=args.imgsz,
        epochs=args.epochs,
        batch=args.batch,
        workers=args.workers,
        device=args.device,
        seed=args.seed,
        deterministic=True,
        pretrained=bool(args.init),
        amp=False,
        plots=False,
        project=str(out),
        name="train",
        exist_ok=True,
        # Screens are laid out in fixed places: no flips, no mosaic-induced fake layouts late in training.
        fliplr=0.0,
        mosaic=args.mosaic,
        cache="ram",
        close_mosaic=max(1, args.epochs // 4),
        patience=max(10, args.epochs // 3),
    )
    best = out / "train" / "weights" / "best.pt"
    trained = YOLO(str(best))
    metrics = trained.val(data=str(Path(args.data).resolve()), imgsz=args.imgsz, batch=args.batch, plots=False)
    onnx_path = Path(trained.export(format="onnx", imgsz=args.imgsz, dynamic=True, simplify=True, opset=17))
    summary = {
        "onnx": str(onnx_path),
        "imgsz": args.imgsz,
        "epochs": args.epochs,
        "map50": float(metrics.box.map50),
        "map50_95": float(metrics.box.map),
        "per_class_map50_95": {trained.names[i]: float(v) for i, v in enumerate(metrics.box.maps)},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
