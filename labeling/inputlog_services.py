"""Input logs attached to recordings: attach (validated in full), correct the offset, load the aligned track.

A log lies inside an allowed root, as recordings do (the same check). Attaching parses the whole file
and refuses it, with the bad lines named, before anything is stored; attaching again replaces the
recording's log. The track is parsed again from the file whenever it is used, so an edited file or
a corrected offset counts at once.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.db import transaction

from detection.models import Recording
from detection.services.ingest import IngestError, resolve_allowed_path
from labeling.inputlog import InputLogError, InputTrack, ParsedLog, format_of, input_log_read
from labeling.inputlog_actions import window_summary
from labeling.inputlog_models import InputLog


def _screen(log: InputLog) -> tuple[int, int] | None:
    return (log.screen_width, log.screen_height) if log.screen_width and log.screen_height else None


def _span(parsed: ParsedLog, offset_seconds: float) -> tuple[float, float]:
    return parsed.events[0].seconds + offset_seconds, parsed.events[-1].seconds + offset_seconds


def input_log_check(*, recording: Recording, path: str | Path,
                    screen: tuple[int, int] | None = None) -> tuple[Path, ParsedLog]:
    """The file's real path and its parse; an InputLogError naming what is wrong (place, format, bad lines)."""
    try:
        resolved = resolve_allowed_path(path)
    except IngestError as exc:
        raise InputLogError(str(exc)) from None
    if not resolved.is_file():
        raise InputLogError(f"{path}: not a file")
    return resolved, input_log_read(resolved, started_at=recording.started_at, screen=screen, format=format_of(resolved))


@transaction.atomic
def input_log_attach(*, recording: Recording, path: str | Path, offset_seconds: float = 0.0,
                     screen: tuple[int, int] | None = None) -> InputLog:
    """Validate the whole file and store it as the recording's log (replacing any before it)."""
    resolved, parsed = input_log_check(recording=recording, path=path, screen=screen)
    first, last = _span(parsed, offset_seconds)
    log, _ = InputLog.objects.update_or_create(recording=recording, defaults={
        "path": str(resolved), "format": parsed.format, "offset_seconds": offset_seconds, "rows": len(parsed.events),
        "screen_width": screen[0] if screen else None, "screen_height": screen[1] if screen else None,
        "first_seconds": first, "last_seconds": last,
    })
    return log


def input_log_offset_set(*, log: InputLog, offset_seconds: float) -> InputLog:
    """A corrected offset: the first and last event move with it, nothing is parsed again."""
    shift = offset_seconds - log.offset_seconds
    log.offset_seconds = offset_seconds
    if log.first_seconds is not None and log.last_seconds is not None:
        log.first_seconds, log.last_seconds = log.first_seconds + shift, log.last_seconds + shift
    log.save(update_fields=["offset_seconds", "first_seconds", "last_seconds", "updated_at"])
    return log


def input_track_load(log: InputLog) -> InputTrack:
    """The log on the video's clock; an InputLogError when the file went missing or no longer parses."""
    parsed = input_log_read(Path(log.path), started_at=log.recording.started_at, screen=_screen(log), format=log.format)
    return InputTrack.aligned(parsed, offset_seconds=log.offset_seconds)


def input_track_for(recording: Recording | None) -> InputTrack | None:
    """The recording's aligned track, or None when it has no input log."""
    if recording is None:
        return None
    log = InputLog.objects.filter(recording=recording).select_related("recording").first()
    return None if log is None else input_track_load(log)


def window_inputs_for(recording: Recording | None) -> Callable[[float, float], str] | None:
    """For `windows_prepared(inputs_for=...)`: each window's input summary; None when there is no log,
    so a recording without one gets exactly the prompt it got before input logs existed."""
    track = input_track_for(recording)
    if track is None:
        return None
    return lambda start, end: window_summary(track, start, end)
