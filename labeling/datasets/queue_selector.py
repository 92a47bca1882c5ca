"""The active-learning queue read from the database: candidate frames scored, deduplicated, capped, paged.

One query for the candidates (plain tuples, no model instances) and one for the labelled class counts;
the rest is the pure scoring in queue.py, so 5,000 candidates page in a few tens of milliseconds
(bench/bench_queue.py)."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from labeling.models import BoxAnnotation, FrameAnnotation

from .queue import Candidate, Pick, QueueSettings, select


@dataclass(frozen=True)
class QueuePage:
    picks: tuple[Pick, ...]
    page: int
    per_page: int
    total: int


def labelled_class_counts() -> dict[str, int]:
    rows = (BoxAnnotation.objects.filter(frame__status=FrameAnnotation.Status.LABELLED)
            .values_list("label").annotate(n=Count("id")).order_by())
    return {label: n for label, n in rows}


def queue_page(
    *, page: int = 1, per_page: int = 50, recording_ids: list[int] | None = None,
    settings: QueueSettings = QueueSettings(),
) -> QueuePage:
    rows = FrameAnnotation.objects.filter(status=FrameAnnotation.Status.CANDIDATE)
    if recording_ids is not None:
        rows = rows.filter(recording_id__in=recording_ids)
    candidates = [
        Candidate(key=key, recording_id=recording, frame_number=frame, confidence=confidence, rejected=rejected,
                  label=label, phash=phash)
        for key, recording, frame, confidence, rejected, label, phash in rows.order_by().values_list(
            "id", "recording_id", "frame_number", "confidence", "rejected", "label", "phash")
    ]
    picks = select(candidates, class_counts=labelled_class_counts(), settings=settings)
    page = max(1, page)
    start = (page - 1) * per_page
    return QueuePage(picks=tuple(picks[start:start + per_page]), page=page, per_page=per_page, total=len(picks))
