"""`manage.py quantize_ocr --images DIR`: the int8 copy of rapidocr's text detection model (detection/quantize.py)."""
from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from detection.pipeline.detector import ModelError
from detection.pipeline.text import BUNDLED_TEXT_DETECTOR, RapidTextReader, installed_text_detector
from detection.quantize import CALIBRATION_CROPS, calibration_crops, calibration_images, quantize_text_detector


class Command(BaseCommand):
    help = ("Write the int8 copy of the installed rapidocr's text detection model, its activation ranges measured on "
            "crops of training-domain frames (e.g. `make_dataset --out D`, then `--images D/images`).")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--images", required=True,
                            help="a folder of training-domain frames at full resolution, searched recursively")
        parser.add_argument("--out", default=str(BUNDLED_TEXT_DETECTOR),
                            help="where to write it (default: the bundled copy the reader loads)")

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["images"])
        if not folder.is_dir():
            raise CommandError(f"{folder}: not a folder of images")
        source = installed_text_detector()
        if not source.is_file():
            raise CommandError(f"rapidocr's text detection model is not at {source}: is rapidocr installed whole?")
        reader = RapidTextReader(int8_detector=False)  # the float model's own inputs
        images = calibration_images(folder)
        try:
            target = quantize_text_detector(source, calibration_crops(images, reader), target=options["out"])
        except ModelError as exc:
            raise CommandError(f"{source.name}: {exc}") from exc
        self.stdout.write(f"{target} ({target.stat().st_size / 2**20:.1f} MB) from {source.name}, ranges on "
                          f"{CALIBRATION_CROPS} crops at most of {len(images)} images in {folder}")
