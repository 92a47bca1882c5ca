"""`manage.py make_dataset --out DIR --images N --seed S`: randomised YOLO training frames."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from detection.render.dataset import make_dataset


class Command(BaseCommand):
    help = "Write a YOLO dataset (images/, labels/, data.yaml) of randomised demo-game frames with exact boxes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True)
        parser.add_argument("--images", type=int, required=True)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--val-fraction", type=float, default=0.15)
        parser.add_argument("--max-side", type=int, default=640, help="longest image side written (labels are normalised); give the training size (--imgsz) so the model is trained on the pixels the detector feeds it")

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(done: int, total: int) -> None:
            if done % 100 == 0 or done == total:
                self.stderr.write(f"{done}/{total} images")

        summary = make_dataset(options["out"], images=options["images"], seed=options["seed"],
                               val_fraction=options["val_fraction"], max_side=options["max_side"], progress=progress)
        counts = ", ".join(f"{name} {n}" for name, n in sorted(summary.instances.items()))
        self.stdout.write(f"{summary.images} images ({summary.train} train, {summary.val} val, "
                          f"{summary.negatives} negatives, {summary.hard} hard) in {options['out']}: {counts}")
