"""`manage.py import_annotations PATH --format yolo|cvat`: merge an export (edited elsewhere) back in."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.datasets.items import DatasetError
from labeling.datasets.transfer import FORMATS, annotations_import


class Command(BaseCommand):
    help = "Import frame annotations from a YOLO folder or a CVAT 1.1 export; frames in it take its boxes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="YOLO folder (with data.yaml) or CVAT folder / annotations.xml")
        parser.add_argument("--format", choices=FORMATS, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = annotations_import(path=options["path"], format=options["format"])
        except DatasetError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{summary.frames} frames: {summary.created} new, {summary.changed} changed, "
                          f"{summary.unchanged} unchanged")
