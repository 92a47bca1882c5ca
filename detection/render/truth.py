"""Ground truth in the shared event-log format: events and segments snapped to real frames.

An event's offset is the presentation time of the first frame that shows it, so a
decoder seeking to `video_offset_seconds` (or `frame_number`) lands on that screen.
"""
from __future__ import annotations

import bisect
from datetime import datetime
from typing import Any

from detection.pipeline.event_log import EventLog, LoggedEvent, real_time

from .timeline import EPS, SCREEN_CLASS, Timeline


def first_frame(times: list[float], at: float) -> int | None:
    i = bisect.bisect_left(times, at - EPS)
    return i if i < len(times) else None


def truth_log(timeline: Timeline, times: list[float], *, started_at: datetime, metadata: dict[str, Any]) -> EventLog:
    events: list[LoggedEvent] = []
    for planned in timeline.events:
        frame = first_frame(times, planned.at)
        if frame is None:
            continue
        offset = times[frame]
        events.append(LoggedEvent(
            event_id=f"truth-{len(events) + 1:04d}", type=planned.type, video_offset_seconds=offset,
            data=dict(planned.data), timestamp=real_time(started_at, offset), frame_number=frame,
        ))
    spans = [(s.start, s.end, SCREEN_CLASS[s.screen]) for s in timeline.segments]
    spans += [(k.start, k.end, "kill_notification") for k in timeline.kills]
    end_of_video = times[-1] + (times[-1] - times[-2] if len(times) > 1 else 0.0)
    segments: list[tuple[float, float, str]] = []
    for start, end, cls in spans:
        first, after = first_frame(times, start), first_frame(times, end)
        if cls is None or first is None or first == after:
            continue
        segments.append((times[first], times[after] if after is not None else end_of_video, cls))
    segments.sort()
    # The HUD's health and shield from each change on (h-vlm: the OCR fallback's truth); shown while in raid.
    hud = [[round(h.start, 3), h.hp, h.shield] for h in timeline.hud]
    return EventLog(metadata={**metadata, "frame_count": len(times), "hud": hud}, events=events, segments=segments)
