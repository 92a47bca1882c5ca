"""HTML for what the review page repeats thousands of times: event rows and timeline ticks.

Built here rather than in templates on purpose: 2,000 rows through the template engine
cost 100-250 ms, these f-strings a few ms, and the page must answer in under 300 ms.
This is the one place row markup lives (the full list and a swapped row both use it).
Everything from the database is escaped.
"""
from __future__ import annotations

from collections.abc import Iterable
from html import escape  # the stdlib one: Django's lazy-aware wrapper costs several times more per call
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from detection.models import DetectedEvent
from detection.selectors import time_unknown
from review.selectors import EventRow, TimelineTick
from review.vocabulary import event_spec, event_types

Status = DetectedEvent.ReviewStatus
_BADGE_LOW = '<b class="badge low" title="Below the review threshold">low</b>'
_BADGE_MANUAL = '<b class="badge manual">added</b>'
_BADGE_PARTIAL = '<b class="badge partial" title="Found by a detection run that ended early">partial</b>'
_BADGE_DISPUTED = ('<b class="badge disputed" title="The VLM cross-check does not see what the detector claims">'
                   "disputed</b>")
_BADGE_INFERRED = '<b class="badge inferred" title="{}">inferred</b>'
_NO_THUMB = '<span class="thumb none"></span>'
PALETTE_SIZE = 8  # colour classes c0..c7 in review.css


def format_offset(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}.{int((seconds - whole) * 10)}"


def data_summary(data: dict[str, Any], event_type: str = "") -> str:
    """Fields in the profile's order (PostgreSQL's jsonb does not keep insertion order)."""
    spec = event_spec(event_type)
    known = list(spec.field_names) if spec else []
    parts = []
    for key in [*(k for k in known if k in data), *sorted(k for k in data if k not in known)]:
        value = data[key]
        if value in (None, "", False):
            continue
        parts.append(key.replace("_", " ") if value is True else str(value).replace("_", " "))
    return " · ".join(parts)


def inferred_note(event: EventRow) -> str:
    if event.happened_between:
        start, end = event.happened_between
        if not time_unknown(event.happened_between, event.video_offset_seconds):
            return "Listed after the raid, and placed where a notification showed that could not be read: check it"
        return (f"Not seen when it happened: listed after the raid, it happened between {format_offset(start)} and "
                f"{format_offset(end)}. Find it and move it there")
    return "Not seen: implied by the screens around it"


def type_colours() -> dict[str, str]:
    """A colour class per event type, by its place in the profile (a second game's types get colours too)."""
    return {event_type: f"c{i % PALETTE_SIZE}" for i, event_type in enumerate(event_types())}


def event_row_html(event: EventRow, *, threshold: float, events_url: str, colours: dict[str, str] | None = None) -> str:
    pk = event.pk
    colour = (colours if colours is not None else type_colours()).get(event.event_type, "")
    low = event.confidence < threshold
    status = escape(event.review_status)
    event_type = escape(event.event_type)
    summary = escape(data_summary(event.data, event.event_type)) or "—"
    badges = (_BADGE_LOW if low else "") + (_BADGE_MANUAL if event.source == DetectedEvent.Source.MANUAL else "")
    if event.partial:
        badges += _BADGE_PARTIAL
    if event.disputed:
        badges += _BADGE_DISPUTED
    if event.inferred:
        badges += _BADGE_INFERRED.format(escape(inferred_note(event)))
    if event.review_status != Status.UNREVIEWED:
        badges += f'<b class="badge st">{status}</b>'
    thumb = (
        f'<img class="thumb" loading="lazy" src="{events_url}{pk}/thumbnail/" alt="" width="80" height="45">'
        if event.thumbnail
        else _NO_THUMB
    )
    return (
        f'<li id="ev-{pk}" class="ev s-{status}{" low" if low else ""}" role="option" aria-selected="false"'
        f' tabindex="-1" data-event-id="{pk}" data-offset="{event.video_offset_seconds:.3f}" data-status="{status}">'
        f'{thumb}<span class="main"><span class="line"><span class="when">{format_offset(event.video_offset_seconds)}</span>'
        f'<span class="type t-{event_type} {colour}">{event_type}</span>{badges}</span>'
        f'<span class="data" title="{summary}">{summary}</span></span>'
        f'<span class="conf" title="Confidence">{event.confidence:.2f}</span></li>\n'
    )


def event_rows_html(events: Iterable[EventRow], *, threshold: float, events_url: str) -> SafeString:
    colours = type_colours()
    return mark_safe("".join(event_row_html(e, threshold=threshold, events_url=events_url, colours=colours) for e in events))


def timeline_html(ticks: Iterable[TimelineTick]) -> SafeString:
    return mark_safe(
        "".join(
            f'<i class="tick l{t.lane} t-{escape(t.event_type)} c{t.lane % PALETTE_SIZE}" style="left:{t.left}%;opacity:{t.strength}"'
            f' title="{t.count} × {escape(t.event_type)}"></i>'
            for t in ticks
        )
    )
