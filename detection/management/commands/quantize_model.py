"""`manage.py quantize_model MODEL --images DIR`: the int8 copy of a detector, beside it (detection/quantize.py)."""
from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from detection.pipeline.detector import ModelError
from detection.quantize import CALIBRATION_IMAGES, calibration_images, quantize_detector


class Command(BaseCommand):
    help = ("Write the int8 copy of an ONNX detector (<stem>.int8.onnx beside it), its activation ranges measured "
            "on images of its training domain (e.g. `make_dataset --out D`, then `--images D/images`).")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("model", help="the float .onnx file")
        parser.add_argument("--images", required=True,
                            help=f"a folder of training-domain frames, searched recursively (the first {CALIBRATION_IMAGES} by name)")
        parser.add_argument("--out", default=None, help="where to write it (default: <stem>.int8.onnx beside the model)")
        parser.add_argument("--image-size", type=int, default=320, help="the detector's input side")

    def handle(self, *args: Any, **options: Any) -> None:
        model, folder = Path(options["model"]), Path(options["images"])
        if not model.is_file():
            raise CommandError(f"no model file at {model}")
        if not folder.is_dir():
            raise CommandError(f"{folder}: not a folder of images")
        images = calibration_images(folder)
        try:
            target = quantize_detector(model, images, target=options["out"], image_size=options["image_size"])
        except ModelError as exc:
            raise CommandError(f"{model.name}: {exc}") from exc
        self.stdout.write(f"{target} ({target.stat().st_size / 2**20:.1f} MB) from {model.name}, "
                          f"ranges on {min(len(images), CALIBRATION_IMAGES)} images of {folder}")
