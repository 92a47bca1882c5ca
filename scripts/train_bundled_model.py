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


def checkpoint_from_onnx(onnx_path: Path, target: Path) -> Path:
    """A trainable YOLO11n checkpoint holding an exported model's weights, with the same outputs.

    Export fuses each batch norm into its convolution (the ONNX keeps `X.conv.weight` and a
    `X.conv.bias`); here the weight goes back to the convolution and the bias into a batch
    norm that passes everything else through (scale 1, mean 0, variance 1 - eps).
    """
    import ast

    import onnx
    import torch
    from onnx import numpy_helper
    from ultralytics.nn.tasks import DetectionModel

    exported = onnx.load(str(onnx_path))
    weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in exported.graph.initializer}
    names = ast.literal_eval({p.key: p.value for p in exported.metadata_props}["names"])
    model = DetectionModel("yolo11n.yaml", nc=len(names), verbose=False)
    modules = dict(model.named_modules())
    state = model.state_dict()
    for key, tensor in weights.items():
        prefix = key.removesuffix(".conv.bias")
        if key.endswith(".conv.bias") and f"{prefix}.bn.bias" in state:
            eps = modules[prefix].bn.eps
            state.update({f"{prefix}.bn.bias": tensor, f"{prefix}.bn.weight": torch.ones_like(tensor),
                          f"{prefix}.bn.running_mean": torch.zeros_like(tensor),
                          f"{prefix}.bn.running_var": torch.full_like(tensor, 1.0 - eps)})
        elif key in state:
            if state[key].shape != tensor.shape:
                raise ValueError(f"{onnx_path}: {key} is {tuple(tensor.shape)}, YOLO11n wants {tuple(state[key].shape)}")
            state[key] = tensor
    unset = [k for k in state if k.endswith("conv.weight") and k not in weights]
    if unset:
        raise ValueError(f"{onnx_path}: not a YOLO11n export, no weights for {unset[:3]}")
    model.load_state_dict(state)
    model.names = names
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model, "train_args": {"imgsz": 320}, "epoch": -1, "date": None, "version": "8.4.190"}, target)
    return target


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
        "--warmup-epochs", type=float, default=3.0,
        help="epochs of learning-rate warm-up (ultralytics' 3; 1 for a short fine-tune, or it is mostly warm-up)",
    )
    parser.add_argument(
        "--init", help="continue from weights this script produced earlier (a .pt), e.g. on a fresh dataset"
    )
    parser.add_argument(
        "--init-onnx", help="continue from an exported ONNX file (e.g. the bundled model, whose .pt was not kept)"
    )
    args = parser.parse_args()

    offline_environment()
    from ultralytics import YOLO

    out = Path(args.out).resolve()
    if args.init_onnx:
        args.init = str(checkpoint_from_onnx(Path(args.init_onnx), out / "init_from_onnx.pt"))
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
        warmup_epochs=args.warmup_epochs,
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
