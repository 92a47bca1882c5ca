"""Reads for the review page: a bounded number of queries whatever the number of events."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.db.models import BooleanField, Case, Count, Max, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404

from detection.models import DetectedEvent, Job, Recording
from detection.selectors import recordings_visible_to, time_window
from review.models import EventChange
from review.vocabulary import event_specs, event_types

Status = DetectedEvent.ReviewStatus
ROW_FIELDS = ("id", "event_type", "video_offset_seconds", "confidence", "data", "thumbnail", "source", "review_status", "partial")
TIMELINE_BUCKETS = 240
STATE_FILTERS = {
    "": ("Not deleted", ~Q(review_status=Status.DELETED)),
    "unreviewed": ("Unreviewed", Q(review_status=Status.UNREVIEWED)),
    "reviewed": ("Reviewed", Q(review_status__in=[Status.APPROVED, Status.EDITED])),
    "deleted": ("Deleted", Q(review_status=Status.DELETED)),
    "all": ("All", Q()),
}
BAND_FILTERS = ("", "low", "high")
# "" in video order; "attention": the events the VLM cross-check disputes first (labeling/crosscheck.py), then
# the rest, each in video order, so a reviewer meets the detector's likely mistakes first.
ORDERS = {"": "Video order", "attention": "Disputed first"}
DISPUTED = Q(evidence__vlm_check__agrees=False)


@dataclass(frozen=True)
class ReviewFilters:
    types: tuple[str, ...] = ()
    band: str = ""  # "" all, "low" below the threshold, "high" at or above it
    state: str = ""
    order: str = ""

    @classmethod
    def from_query(cls, query: Any) -> ReviewFilters:
        known = event_types()
        types = tuple(t for t in query.getlist("type") if t in known)
        band = query.get("band", "")
        state = query.get("state", "")
        order = query.get("order", "")
        return cls(
            types=types,
            band=band if band in BAND_FILTERS else "",
            state=state if state in STATE_FILTERS else "",
            order=order if order in ORDERS else "",
        )

    @property
    def active(self) -> bool:
        """Filters narrow the list; the order only rearranges it."""
        return bool(self.types or self.band or self.state)


@dataclass(frozen=True)
class EventRow:
    """What a list row shows; plain values, because building 2,000 model instances costs more than the rest."""

    pk: int
    event_type: str
    video_offset_seconds: float
    confidence: float
    data: dict[str, Any]
    thumbnail: str
    source: str
    review_status: str
    partial: bool = False
    disputed: bool = False  # the VLM cross-check says what the detector claims is not on screen
    inferred: bool = False  # implied by the screens around it, not seen (detection/pipeline/state.py)
    # For an event seen only after it happened (a kill on the raid summary's kill list): when it could have happened.
    happened_between: list[float] | None = None

    @classmethod
    def from_event(cls, event: DetectedEvent) -> EventRow:
        return cls(
            pk=event.pk,
            event_type=event.event_type,
            video_offset_seconds=event.video_offset_seconds,
            confidence=event.confidence,
            data=event.data,
            thumbnail=event.thumbnail.name or "",
            source=event.source,
            review_status=event.review_status,
            partial=event.partial,
            disputed=(event.evidence or {}).get("vlm_check", {}).get("agrees") is False,
            inferred=(event.evidence or {}).get("inferred") is True,
            happened_between=time_window((event.evidence or {}).get("happened_between")),
        )


@dataclass(frozen=True)
class ReviewCounts:
    total: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    by_state: dict[str, int] = field(default_factory=dict)
    low_unreviewed: int = 0
    newest: int = 0  # the highest event id

    @property
    def type_counts(self) -> list[tuple[str, str, int]]:
        """(type, label, count) in the profile's order, then rows of a type the profile no longer declares."""
        specs = event_specs()
        others = sorted(t for t in self.by_type if t not in specs)
        labels = {**{t: spec.label for t, spec in specs.items()}, **{t: t for t in others}}
        return [(t, label, self.by_type.get(t, 0)) for t, label in labels.items()]

    @property
    def stamp(self) -> str:
        """Changes whenever rows are added or removed (a running detection); compared with `events_stamp`."""
        return f"{sum(self.by_state.values())}.{self.newest}"

    @property
    def reviewed(self) -> int:
        return self.total - self.by_state.get(Status.UNREVIEWED, 0)


def review_threshold() -> float:
    return float(settings.VODSCOPE_REVIEW_THRESHOLD)


def recording_for_review(*, user: Any, pk: int) -> Recording:
    """404 for anything the user may not see, so ids leak nothing."""
    return get_object_or_404(recordings_visible_to(user), pk=pk)


def event_for_review(*, recording: Recording, pk: int) -> DetectedEvent:
    event = get_object_or_404(DetectedEvent.objects.filter(recording=recording), pk=pk)
    event.recording = recording  # services read it; saves a query
    return event


def review_events(*, recording: Recording, filters: ReviewFilters) -> list[EventRow]:
    """One query, only the columns a row shows (and whether the cross-check disputes the event)."""
    queryset: QuerySet[DetectedEvent] = DetectedEvent.objects.filter(recording=recording).filter(
        STATE_FILTERS[filters.state][1]
    )
    disputed = Case(When(DISPUTED, then=Value(True)), default=Value(False), output_field=BooleanField())
    ordering = ("video_offset_seconds", "id")
    if filters.order == "attention":
        queryset = queryset.order_by(disputed.desc(), *ordering)
    else:
        queryset = queryset.order_by(*ordering)
    if filters.types:
        queryset = queryset.filter(event_type__in=filters.types)
    threshold = review_threshold()
    if filters.band == "low":
        queryset = queryset.filter(confidence__lt=threshold)
    elif filters.band == "high":
        queryset = queryset.filter(confidence__gte=threshold)
    inferred = Case(When(evidence__inferred=True, then=Value(True)), default=Value(False), output_field=BooleanField())
    rows = queryset.annotate(disputed=disputed, inferred=inferred).values_list(
        *ROW_FIELDS, "disputed", "inferred", "evidence__happened_between")
    made = (EventRow(*values) for values in rows)
    return [replace(row, happened_between=time_window(row.happened_between)) for row in made]


def review_counts(*, recording: Recording) -> ReviewCounts:
    """One grouped query for every count the page shows."""
    rows = (
        DetectedEvent.objects.filter(recording=recording)
        .order_by()
        .values("event_type", "review_status")
        .annotate(n=Count("id"), low=Count("id", filter=Q(confidence__lt=review_threshold())), newest=Max("id"))
    )
    by_type: dict[str, int] = defaultdict(int)
    by_state: dict[str, int] = defaultdict(int)
    total = low_unreviewed = newest = 0
    for row in rows:
        newest = max(newest, row["newest"])
        by_state[row["review_status"]] += row["n"]
        if row["review_status"] == Status.DELETED:
            continue
        by_type[row["event_type"]] += row["n"]
        total += row["n"]
        if row["review_status"] == Status.UNREVIEWED:
            low_unreviewed += row["low"]
    return ReviewCounts(total=total, by_type=dict(by_type), by_state=dict(by_state), low_unreviewed=low_unreviewed, newest=newest)


def events_stamp(*, recording: Recording) -> str:
    """`ReviewCounts.stamp` in one small query, for the poll of a page whose detection is running."""
    found = DetectedEvent.objects.filter(recording=recording).aggregate(n=Count("id"), newest=Max("id"))
    return f"{found['n']}.{found['newest'] or 0}"


@dataclass(frozen=True)
class TimelineTick:
    left: float  # percent of the bar
    lane: int
    event_type: str
    count: int
    strength: float  # 0..1, for opacity: dense buckets read darker
    offset: float  # seconds, where a click on the tick seeks


def timeline_ticks(*, recording: Recording) -> tuple[list[TimelineTick], float]:
    """One element per (bucket, type), not per event: 2,000 events cost at most buckets x types ticks."""
    offsets = (
        DetectedEvent.objects.filter(recording=recording)
        .exclude(review_status=Status.DELETED)
        .order_by()
        .values_list("video_offset_seconds", "event_type")
    )
    points = list(offsets)
    duration = recording.duration_seconds or max((o for o, _ in points), default=0.0) + 1.0
    duration = max(duration, 1.0)
    counts: dict[tuple[int, str], int] = defaultdict(int)
    for offset, event_type in points:
        bucket = min(TIMELINE_BUCKETS - 1, max(0, int(offset / duration * TIMELINE_BUCKETS)))
        counts[(bucket, event_type)] += 1
    peak = max(counts.values(), default=1)
    lanes = {t: i for i, t in enumerate(event_types())}
    ticks = [
        TimelineTick(
            left=round(bucket * 100 / TIMELINE_BUCKETS, 3),
            lane=lanes.get(event_type, len(lanes)),
            event_type=event_type,
            count=count,
            strength=round(0.45 + 0.55 * count / peak, 2),
            offset=round(bucket * duration / TIMELINE_BUCKETS, 2),
        )
        for (bucket, event_type), count in sorted(counts.items())
    ]
    return ticks, duration


def recording_jobs(*, recording: Recording, limit: int = 8) -> list[Job]:
    return list(Job.objects.filter(recording=recording).order_by("-created_at", "-id")[:limit])


def recording_needs_proxy(recording: Recording) -> bool:
    """Chromium plays MP4/WebM; an MKV (OBS's default) or an exotic codec needs a proxy."""
    if recording.proxy_path:
        return False
    name = (recording.source_path or recording.uploaded_file.name or "").lower()
    container = (recording.container or "").lower()
    if name.endswith(".mkv") or ("matroska" in container and not name.endswith(".webm")):
        return True
    return bool(recording.codec) and recording.codec.lower() not in {"h264", "vp8", "vp9", "av1"}


@dataclass(frozen=True)
class ChangeLine:
    change: EventChange
    fields: list[tuple[str, Any, Any]]  # (field, before, after) for what a person would call the change


HISTORY_FIELDS = ("review_status", "event_type", "video_offset_seconds", "data")


def recording_history(*, recording: Recording, limit: int = 300) -> list[ChangeLine]:
    changes = (
        EventChange.objects.filter(recording=recording)
        .select_related("user", "event")
        .only("action", "before", "after", "created_at", "undone_at", "user__username", "event__event_type",
              "event__video_offset_seconds", "event__event_id")  # fmt: skip
        .order_by("-id")[:limit]
    )
    return [
        ChangeLine(
            change=change,
            fields=[
                (name, change.before.get(name), change.after.get(name))
                for name in HISTORY_FIELDS
                if change.before.get(name) != change.after.get(name)
            ],
        )
        for change in changes
    ]
