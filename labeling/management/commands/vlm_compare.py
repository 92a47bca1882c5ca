"""`manage.py vlm_compare A.jsonl B.jsonl`: per-field agreement of two vlm_label runs over the same windows."""
from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from detection.pipeline.labels import label_schema_load
from labeling.compare import label_agreement, run_lines


class Command(BaseCommand):
    help = ("Compare two vlm_label outputs (two prompt versions or two models over the same video): "
            "agreement per field over the windows both labelled.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("first")
        parser.add_argument("second")
        parser.add_argument("--profile", default="demo")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            a, b = run_lines(Path(options["first"])), run_lines(Path(options["second"]))
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        schema = label_schema_load(options["profile"])
        agreement = label_agreement(a, b, schema)
        self.stdout.write(f"{agreement.both_labelled} windows labelled in both "
                          f"({agreement.windows_a} in the first, {agreement.windows_b} in the second)")
        hud = {f.name for f in schema.hud_fields}
        for name, tally in agreement.fields.items():
            gap = f", mean gap {sum(tally.gaps) / len(tally.gaps):.1f}" if tally.gaps else ""
            within = f" (within {schema.review_tolerance})" if name in hud else ""
            self.stdout.write(f"{name}: {tally.agreed}/{tally.compared} agree{within} = {tally.rate:.0%}{gap}")
