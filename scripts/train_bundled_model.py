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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

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


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def training_images(data_yaml: Path, count: int) -> list[Path]:
    """Up to `count` images of the train split a YOLO data.yaml names, spread over the whole split."""
    import yaml

    meta = yaml.safe_load(data_yaml.read_text())
    root = Path(meta.get("path") or data_yaml.parent)
    images = sorted(p for p in (root / meta["train"]).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    step = max(1, len(images) // count)
    return images[::step][:count]


def letterboxed(path: Path, size: int) -> torch.Tensor:
    """An image as the detector is fed: RGB 0..1, scaled to fit `size`, centred on grey 114."""
    import numpy as np
    import torch
    from PIL import Image

    with Image.open(path) as opened:
        rgb = opened.convert("RGB")
    scale = size / max(rgb.size)
    scaled = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))))
    canvas = Image.new("RGB", (size, size), (114, 114, 114))
    canvas.paste(scaled, ((size - scaled.width) // 2, (size - scaled.height) // 2))
    return torch.from_numpy(np.asarray(canvas, dtype=np.float32) / 255.0).permute(2, 0, 1)


def calibrate_batch_norms(model: torch.nn.Module, images: list[Path], size: int) -> None:
    """Gives each pass-through batch norm the statistics its input really has, outputs unchanged.

    A norm that passes everything through (scale 1, mean 0, variance 1 - eps) reproduces the export
    in eval mode only: training normalises by the batch's own statistics, so the first steps of a
    fine-tune would see activations nothing like the trained model's and undo what it knew. With
    the input's mean m and variance v per channel, scale sqrt(v + eps) and bias (m + b) keep
    eval mode's output (z - m) / sqrt(v + eps) * sqrt(v + eps) + m + b = z + b exactly, and
    training mode now normalises to nearly the same thing.
    """
    import torch

    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    sums: dict[int, list[torch.Tensor]] = {}

    def record(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], _: torch.Tensor) -> None:
        z = inputs[0].double()
        # Summed per image, not per batch: a short last batch counts for the images it holds.
        moments = [z.mean(dim=(2, 3)).sum(dim=0), (z * z).mean(dim=(2, 3)).sum(dim=0)]
        totals = sums.setdefault(id(module), [torch.zeros_like(moments[0]), torch.zeros_like(moments[1])])
        totals[0] += moments[0]
        totals[1] += moments[1]

    hooks = [norm.register_forward_hook(record) for norm in norms]
    model.eval()
    batches = [images[i:i + 16] for i in range(0, len(images), 16)]
    with torch.no_grad():
        for batch in batches:
            model(torch.stack([letterboxed(path, size) for path in batch]))
    for hook in hooks:
        hook.remove()
    for norm in norms:
        first, second = (t / len(images) for t in sums[id(norm)])
        variance = (second - first * first).clamp_min(1e-6)
        with torch.no_grad():
            norm.bias.copy_((first + norm.bias.double()).float())
            norm.weight.copy_((variance + norm.eps).sqrt().float())
            norm.running_mean.copy_(first.float())
            norm.running_var.copy_(variance.float())


def checkpoint_from_onnx(onnx_path: Path, target: Path, data_yaml: Path | None = None, imgsz: int = 320) -> Path:
    """A trainable YOLO11n checkpoint holding an exported model's weights, with the same outputs.

    Export fuses each batch norm into its convolution (the ONNX keeps `X.conv.weight` and a
    `X.conv.bias`); here the weight goes back to the convolution and the bias into a batch
    norm that passes everything else through (scale 1, mean 0, variance 1 - eps). Given the
    dataset it will be trained on, each norm then takes the statistics its input has on the
    train images (`calibrate_batch_norms`), so training starts from what the model knew.
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
    if data_yaml is not None:
        images = training_images(data_yaml, 128)
        if images:
            calibrate_batch_norms(model, images, imgsz)
    model.names = names
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model, "train_args": {"imgsz": imgsz}, "epoch": -1, "date": None, "version": "8.4.190"}, target)
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
        help="epochs of learning-rate warm-up (ultralytics' 3; 0 for a fine-tune, whose start is already trained)",
    )
    parser.add_argument(
        "--lr0", type=float,
        help="AdamW at this learning rate (default: ultralytics' automatic choice, 0.000625 for 12 classes)",
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
        args.init = str(checkpoint_from_onnx(Path(args.init_onnx), out / "init_from_onnx.pt", Path(args.data), args.imgsz))
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
        **({"optimizer": "AdamW", "lr0": args.lr0} if args.lr0 else {}),
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
