"""`manage.py render_demo --out DIR --minutes M ...`: an OBS-like demo recording and its truth file."""
from __future__ import annotations

import argparse
from datetime import datetime, timezone
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from detection.pipeline.event_log import EventLogError, parse_timestamp
from detection.render.families import DEFAULT_FAMILY, FAMILIES
from detection.render.inputs import write_session_input_log
from detection.render.session import render_session
from detection.render.timeline import DEMO_PACING, QUICK_PACING

HELD_OUT = [name for name, family in FAMILIES.items() if family.held_out]


def resolution(raw: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in raw.lower().split("x"))
    except ValueError as exc:
        raise CommandError(f"--resolution {raw!r}: expected WIDTHxHEIGHT, e.g. 1920x1080") from exc
    return width, height


class Command(BaseCommand):
    help = "Render demo-game footage (MKV, H.264, creation_time) with <name>.truth.json beside it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True)
        parser.add_argument("--minutes", type=float, required=True)
        parser.add_argument("--fps", type=int, choices=[30, 60], default=30)
        parser.add_argument("--resolution", default="1920x1080")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--start", help="ISO 8601 wall-clock start (creation_time); default: now")
        parser.add_argument("--vfr", action="store_true", help="variable frame rate, as OBS writes under load")
        parser.add_argument("--name", help="file name without extension; default: OBS style from the start time")
        parser.add_argument("--quick", action="store_true", help="compressed pacing: a whole session in ~30 s (tests)")
        parser.add_argument("--preset", default="ultrafast", help="x264 preset")
        parser.add_argument("--keyint", type=int, help="frames between keyframes at most (default: two seconds' worth; "
                                                       "OBS with its interval on auto: 250)")
        parser.add_argument("--style-family", choices=list(FAMILIES), default=DEFAULT_FAMILY,
                            help=f"the UI's look; held-out families ({', '.join(HELD_OUT)}) were never trained on")
        parser.add_argument("--blank-screens", type=int, default=0,
                            help="hide this many screens (one at least a stash or end screen) behind black, frozen or noise "
                                 "frames; the truth is unchanged and its metadata lists what was hidden")
        parser.add_argument("--blank-stretch", type=int, default=0, help="hide this many screens in a row after a raid")
        parser.add_argument("--hide-kills", type=int, default=0,
                            help="draw this many kill notifications not at all (as a webcam over the kill feed would "
                                 "hide them); only their raid's summary lists them")
        parser.add_argument("--input-log", action=argparse.BooleanOptionalAction, default=True,
                            help="write <name>.inputs.csv beside the video: a synthetic mouse/keyboard log matching its "
                                 "truth (docs/input-log.md)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            start = parse_timestamp(options["start"], where="--start") if options["start"] else None
        except EventLogError as exc:
            raise CommandError(str(exc)) from exc
        seconds = options["minutes"] * 60
        if seconds <= 0:
            raise CommandError("--minutes must be positive")

        def progress(done: int, total: int) -> None:
            self.stderr.write(f"{done}/{total} frames")

        try:
            result = render_session(
                out_dir=options["out"], seconds=seconds, fps=options["fps"], size=resolution(options["resolution"]),
                seed=options["seed"], started_at=start or datetime.now(timezone.utc).replace(microsecond=0),
                vfr=options["vfr"], name=options["name"], pacing=QUICK_PACING if options["quick"] else DEMO_PACING,
                preset=options["preset"], progress=progress, style_family=options["style_family"],
                blank_screens=options["blank_screens"], blank_stretch=options["blank_stretch"], keyint=options["keyint"],
                hide_kills=options["hide_kills"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{result.video} ({result.frames} frames, {result.speed:.1f}x real time)\n{result.truth}")
        if options["input_log"]:
            self.stdout.write(str(write_session_input_log(result.video, result.truth, seed=options["seed"])))
