"""`manage.py quantize_ocr --images DIR`: the int8 copy of rapidocr's text detection model (detection/quantize.py)."""
from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from django.core.management.base import BaseCommand, CommandError

from detection.pipeline.detector import ModelError
from detection.pipeline.fields import WHOLE_FRAME_SIDE
from detection.pipeline.profile import load_profile
from detection.pipeline.text import BUNDLED_TEXT_DETECTOR, RapidTextReader, installed_text_detector
from detection.quantize import CALIBRATION_CROPS, calibration_images, quantize_text_detector


def calibration_crops(images: Sequence[Path], reader: RapidTextReader, *, limit: int = CALIBRATION_CROPS,
                      profile_name: str = "demo") -> Iterator[np.ndarray]:
    """The detector's inputs for what the pipeline reads on a frame: every spec region of the game
    profile and the whole frame at the whole-frame side (a verification's last look); every n-th of
    those over all `images`, so that at most `limit` come from every frame alike. Contrast-stretched
    crops are left out: their ranges, wider than any plain crop's, coarsened the int8 steps until a
    title and the button beside it read as one line."""
    profile = load_profile(profile_name)
    boxes = list(profile.regions.values())
    per_image = len(boxes) + 1
    stride = max(1, -(-len(images) * per_image // limit))
    index = 0
    for path in images:
        frame = cv2.imread(str(path))
        if frame is None:
            continue
        height, width = frame.shape[:2]
        views: list[tuple[np.ndarray, int | None]] = [(frame, WHOLE_FRAME_SIDE)]
        for box in boxes:
            x0, y0, x1, y1 = box.pixels(width, height)
            region = frame[y0:y1, x0:x1]
            views += [(region, None)] if region.size else []
        for view, side in views:
            if index % stride == 0:
                yield reader.detector_input(view, max_side=side)
            index += 1


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
