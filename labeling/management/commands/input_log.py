"""`manage.py input_log attach --recording ID PATH [--offset S] [--screen WxH]`, `input_log offset --recording ID S`,
`input_log show --recording ID`: a recording's mouse/keyboard log (format: docs/input-log.md)."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from detection.models import Recording
from labeling.inputlog import InputLogError, screen_size
from labeling.inputlog_models import InputLog
from labeling.inputlog_services import input_log_attach, input_log_offset_set


def _screen(raw: str) -> tuple[int, int]:
    try:
        return screen_size(raw)
    except ValueError as exc:
        raise CommandError(f"--screen: {exc}") from exc


class Command(BaseCommand):
    help = "Attach a mouse/keyboard input log to a recording, correct its offset, or show it."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        attach = actions.add_parser("attach", help="validate a CSV/JSONL log and attach it (replaces any before)")
        attach.add_argument("--recording", type=int, required=True)
        attach.add_argument("path")
        attach.add_argument("--offset", type=float, default=0.0,
                            help="seconds added to the log's times to give video seconds (negative: the log is late)")
        attach.add_argument("--screen", help="WIDTHxHEIGHT of the screen when the log is in pixels and names none")
        offset = actions.add_parser("offset", help="correct the offset of the recording's log")
        offset.add_argument("--recording", type=int, required=True)
        offset.add_argument("seconds", type=float)
        show = actions.add_parser("show", help="the recording's log: file, events, offset, time span")
        show.add_argument("--recording", type=int, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        recording = Recording.objects.filter(pk=options["recording"]).first()
        if recording is None:
            raise CommandError(f"no recording with id {options['recording']}")
        if options["action"] == "attach":
            screen = _screen(options["screen"]) if options["screen"] else None
            try:
                log = input_log_attach(recording=recording, path=options["path"], offset_seconds=options["offset"],
                                       screen=screen)
            except InputLogError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"attached to recording {recording.pk}: {self._describe(log)}")
            return
        attached = InputLog.objects.filter(recording=recording).first()
        if attached is None:
            raise CommandError(f"recording {recording.pk} has no input log; attach one with "
                               f"`input_log attach --recording {recording.pk} PATH`")
        if options["action"] == "offset":
            attached = input_log_offset_set(log=attached, offset_seconds=options["seconds"])
        self.stdout.write(self._describe(attached))

    @staticmethod
    def _describe(log: InputLog) -> str:
        span = (f", video {log.first_seconds:.2f}-{log.last_seconds:.2f} s"
                if log.first_seconds is not None and log.last_seconds is not None else "")
        return f"{log.path} ({log.format}, {log.rows} events, offset {log.offset_seconds:+g} s{span})"
