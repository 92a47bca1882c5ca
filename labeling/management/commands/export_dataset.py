"""`manage.py export_dataset --recording ID [--recording ID ...] --format yolo|cvat --out DIR`."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.datasets.items import DatasetError
from labeling.datasets.transfer import FORMATS, dataset_export


class Command(BaseCommand):
    help = "Export the labelled frames of recordings as a YOLO or CVAT 1.1 dataset, split by recording."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--recording", type=int, action="append", required=True, help="recording id (repeat)")
        parser.add_argument("--format", choices=FORMATS, default="yolo")
        parser.add_argument("--out", required=True, help="folder to write (created)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = dataset_export(recording_ids=options["recording"], format=options["format"], out=options["out"])
        except DatasetError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{summary.format}: {summary.images} images ({summary.negatives} negatives), {summary.boxes} boxes "
            f"in {summary.out}; train recordings {list(summary.train_recordings)}, val {list(summary.val_recordings)}"
        )
