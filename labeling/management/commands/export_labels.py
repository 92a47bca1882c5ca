"""`manage.py export_labels --recording ID --out FILE.jsonl [--frames-dir DIR] [--prompt-version V] [--spec S]`:
labelled windows as training data (format: docs/input-log.md, "Training export")."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from detection.models import Recording
from detection.pipeline.source import VideoSourceError
from labeling.export_labels import LabelExportError, labels_export
from labeling.inputlog import InputLogError


class Command(BaseCommand):
    help = "Export a recording's labelled windows (corrections win) as JSONL, frames as JPEG, actions from its input log."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--recording", type=int, required=True)
        parser.add_argument("--out", required=True, help="the JSONL file to write")
        parser.add_argument("--frames-dir", help="where the JPEG frames go; default: <out stem>_frames beside --out")
        parser.add_argument("--prompt-version", default="", help="default: the latest labelled run's")
        parser.add_argument("--spec", default="", help="window spec, e.g. 5x2/2; default: the latest labelled run's")

    def handle(self, *args: Any, **options: Any) -> None:
        recording = Recording.objects.filter(pk=options["recording"]).first()
        if recording is None:
            raise CommandError(f"no recording with id {options['recording']}")
        out = Path(options["out"]).expanduser()
        if out.is_dir():
            raise CommandError(f"--out {out} is a folder; give a file name, e.g. {out / 'labels.jsonl'}")
        try:
            summary = labels_export(recording=recording, out=out,
                                    frames_dir=Path(options["frames_dir"]).expanduser() if options["frames_dir"] else None,
                                    prompt_version=options["prompt_version"], spec=options["spec"])
        except (LabelExportError, InputLogError, VideoSourceError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{summary.out}: {summary.exported} of {summary.windows} windows (prompt {summary.prompt_version}, "
            f"spec {summary.spec}; {summary.corrected} corrected, {summary.skipped_failed} failed and left out), "
            f"{'actions from the input log' if summary.actions else 'no input log: no actions'}; "
            f"{summary.frames_written} frames written to {summary.frames_dir}")
