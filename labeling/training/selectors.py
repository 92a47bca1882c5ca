"""Reads for the Models page: the registered versions, two of them side by side, what training can use."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from detection.models import Job, ModelVersion, Recording
from labeling.models import FrameAnnotation

HELDOUT_ROWS = (("map50", "mAP50"), ("precision", "precision"), ("recall", "recall"), ("frames", "frames"))
SUMMARY_ROWS = (("map50", "mAP50"), ("map50_95", "mAP50-95"), ("precision", "precision"), ("recall", "recall"))
RECENT_TRAIN_JOBS = 5
EVENT_ROW_ORDER = ("raid_start", "kill", "raid_end", "state_transition")


@dataclass(frozen=True)
class CompareRow:
    label: str
    a: Any
    b: Any
    better: str  # "a", "b" or "" (equal, or not comparable)

    @property
    def text_a(self) -> str:
        return _text(self.a)

    @property
    def text_b(self) -> str:
        return _text(self.b)


def _text(value: object) -> str:
    if value is None or value == "":
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def model_versions_listed() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.filter(profile=settings.VODSCOPE_GAME_PROFILE).order_by("-created_at", "-id")


def train_jobs_recent() -> list[Job]:
    active = list(Job.objects.filter(kind=Job.Kind.TRAIN, status__in=Job.ACTIVE_STATUSES).order_by("created_at"))
    done = list(Job.objects.filter(kind=Job.Kind.TRAIN).exclude(status__in=Job.ACTIVE_STATUSES)
                .order_by("-finished_at", "-id")[:RECENT_TRAIN_JOBS])
    return active + done


def recordings_with_labelled_frames() -> QuerySet[Recording]:
    labelled = Q(frame_annotations__status=FrameAnnotation.Status.LABELLED)
    return (Recording.objects.annotate(labelled=Count("frame_annotations", filter=labelled))
            .filter(labelled__gt=0).order_by("-labelled", "id"))


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _row(label: str, a: object, b: object) -> CompareRow:
    x, y = _number(a), _number(b)
    better = "" if x is None or y is None or x == y else ("a" if x > y else "b")
    return CompareRow(label=label, a=a, b=b, better=better)


def _event_order(kind: str) -> tuple[int, str]:
    return (EVENT_ROW_ORDER.index(kind) if kind in EVENT_ROW_ORDER else len(EVENT_ROW_ORDER), kind)


def versions_compare(a: ModelVersion, b: ModelVersion) -> list[CompareRow]:
    """Vodscope's detector on the fixed held-out frames (the same for both), the events each found on the held-out
    render (recall / precision per type), then ultralytics' validation figures on each version's own validation
    frames, overall and per class (precision / recall), then how each was trained."""
    ma, mb = a.metrics or {}, b.metrics or {}
    ha, hb = ma.get("heldout") or {}, mb.get("heldout") or {}
    rows = [_row(f"held-out {label}", ha.get(key), hb.get(key)) for key, label in HELDOUT_ROWS]
    ea, eb = ma.get("heldout_events") or {}, mb.get("heldout_events") or {}
    for kind in sorted(set(ea.get("types") or {}) | set(eb.get("types") or {}), key=_event_order):
        ta, tb = (ea.get("types") or {}).get(kind) or {}, (eb.get("types") or {}).get(kind) or {}
        rows += [_row(f"held-out render {kind} {key}", ta.get(key), tb.get(key)) for key in ("recall", "precision")]
    rows += [_row(label, ma.get(key), mb.get(key)) for key, label in SUMMARY_ROWS]
    classes_a, classes_b = ma.get("per_class") or {}, mb.get("per_class") or {}
    for name in sorted(set(classes_a) | set(classes_b)):
        for key in ("precision", "recall"):
            rows.append(_row(f"{name} {key}", (classes_a.get(name) or {}).get(key), (classes_b.get(name) or {}).get(key)))
    da, db = ma.get("dataset") or {}, mb.get("dataset") or {}
    ta, tb = ma.get("training") or {}, mb.get("training") or {}
    rows += [
        CompareRow("validation frames", da.get("val_images"), db.get("val_images"), ""),
        CompareRow("training frames", da.get("train_images"), db.get("train_images"), ""),
        CompareRow("epochs", len(ma.get("epochs") or []) or None, len(mb.get("epochs") or []) or None, ""),
        CompareRow("image size", a.image_size, b.image_size, ""),
        CompareRow("started from", ta.get("from"), tb.get("from"), ""),
    ]
    return rows
