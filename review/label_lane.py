"""The review timeline's label lane: one segment per VLM window label of the recording, coloured by tactic.

Which labels: a recording labelled twice (another prompt version or window spec) has two sets of rows;
the lane shows the set written last, so segments never overlap. A segment shows the effective label
(a reviewer's correction wins). Built with f-strings like the event rows (review/fragments.py): a
three-hour session at a 2 s stride is 5,400 segments, too many for the template engine on every render.
Everything from the database is escaped.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Any

from django.conf import settings
from django.db.models import Count, Max
from django.utils.safestring import SafeString, mark_safe

from detection.models import Recording
from detection.pipeline.labels import LabelSchema, NoLabelSchema, label_schema_load
from labeling.vlm_models import WindowLabel
from review.fragments import format_offset

LANE_PALETTE = 10  # colour classes k0..k9 in review.css; the unknown tactic is grey (k-unknown)
QUICK_KEYS = 9     # number keys 1-9 pick the first nine tactics in the correction form


@lru_cache(maxsize=4)
def _schema(profile: str) -> LabelSchema | None:
    try:
        return label_schema_load(profile)
    except NoLabelSchema:
        return None


def lane_schema() -> LabelSchema | None:
    """The game profile's label schema; None when it declares no labels (the page then has no lane)."""
    return _schema(str(settings.VODSCOPE_GAME_PROFILE))


@dataclass(frozen=True)
class TacticColour:
    tactic: str
    css: str
    key: str  # the number key that picks it in the correction form, "" past the ninth


def tactic_colours(schema: LabelSchema) -> dict[str, TacticColour]:
    """The one mapping from tactic to colour: the profile vocabulary's order (the legend, the lane and the form)."""
    colours = {}
    for i, tactic in enumerate(schema.tactics):
        css = "k-unknown" if tactic == schema.unknown_tactic else f"k{i % LANE_PALETTE}"
        colours[tactic] = TacticColour(tactic, css, str(i + 1) if i < QUICK_KEYS else "")
    return colours


@dataclass(frozen=True)
class LaneWindow:
    """What a segment shows of a WindowLabel (read as plain values: no model instance per window)."""

    pk: int
    start: float
    end: float
    status: str
    label: dict[str, Any] | None
    corrected_label: dict[str, Any] | None
    ocr: dict[str, Any]
    flagged: bool
    source: str
    error: str
    corrected_by: str | None

    @property
    def effective_label(self) -> dict[str, Any] | None:
        return self.corrected_label if self.corrected_label is not None else self.label


_LANE_FIELDS = ("id", "start", "end", "status", "label", "corrected_label", "ocr", "flagged", "source", "error",
                "corrected_by__username")


def lane_windows(*, recording: Recording) -> list[LaneWindow]:
    """The latest-written set of the recording's window labels, in time order (two queries)."""
    latest = (WindowLabel.objects.filter(recording=recording).order_by("-updated_at", "-id")
              .values("prompt_version", "spec", "video_path").first())
    if latest is None:
        return []
    rows = (WindowLabel.objects.filter(recording=recording, **latest).order_by("start", "id")
            .values_list(*_LANE_FIELDS))
    return [LaneWindow(*row) for row in rows]


def lane_stamp(*, recording: Recording) -> str:
    """Changes whenever a window label of the recording is written: the page fetches the lane when it differs."""
    seen = WindowLabel.objects.filter(recording=recording).aggregate(n=Count("id"), last=Max("updated_at"))
    return f"{seen['n']}:{seen['last'].isoformat() if seen['last'] else ''}"


def lane_duration(recording: Recording, windows: list[LaneWindow]) -> float:
    return max(recording.duration_seconds or 0.0, max((w.end for w in windows), default=0.0), 1.0)


def label_text(label: dict[str, object], schema: LabelSchema) -> str:
    """tactic · health 73 · shield 40 · intent true · confidence 0.80"""
    parts = [str(label.get("tactic", "?"))]
    parts += [f"{f.name} {_value(label.get(f.name))}" for f in schema.hud_fields]
    parts.append(f"intent {label.get('intent_matches', '?')}")
    confidence = label.get("confidence")
    parts.append(f"confidence {float(confidence):.2f}" if isinstance(confidence, (int, float)) else "confidence ?")
    return " · ".join(parts)


def window_tooltip(window: LaneWindow, schema: LabelSchema) -> str:
    when = f"{format_offset(window.start)}–{format_offset(window.end)}"
    label = window.effective_label
    if window.status == WindowLabel.Status.FAILED or label is None:
        return f"{when} · failed: {window.error or 'no label'}"
    parts = [when, label_text(label, schema)]
    if window.source == WindowLabel.Source.OCR:
        parts.append("OCR fallback (no model answered)")
    if window.flagged:
        off = [f"{f.name} VLM {_value((window.label or {}).get(f.name))} vs OCR {_value(window.ocr.get(f.name))}"
               for f in schema.hud_fields]
        parts.append("flagged: " + ", ".join(off))
    if window.corrected_label is not None:
        parts.append(f"corrected by {window.corrected_by or 'a reviewer'}")
    return " · ".join(parts)


def _value(value: object) -> str:
    return "–" if value is None else str(value)


def lane_segments_html(windows: list[LaneWindow], *, schema: LabelSchema, duration: float) -> SafeString:
    colours = tactic_colours(schema)
    out = []
    for w in windows:
        label = w.effective_label
        failed = w.status == WindowLabel.Status.FAILED or label is None
        tactic = "" if failed or label is None else str(label.get("tactic", ""))
        classes = ["seg", "failed" if failed else colours[tactic].css if tactic in colours else "k-unknown"]
        if w.flagged:
            classes.append("flagged")
        if w.corrected_label is not None:
            classes.append("corrected")
        left = 100 * w.start / duration
        width = 100 * max(w.end - w.start, 0.0) / duration
        out.append(
            f'<span class="{" ".join(classes)}" style="left:{left:.3f}%;width:{width:.3f}%" data-id="{w.pk}" '
            f'data-start="{w.start:g}" data-end="{w.end:g}" title="{escape(window_tooltip(w, schema))}"></span>'
        )
    return mark_safe("".join(out))
