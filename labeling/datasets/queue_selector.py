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
    """`per_page` picks from rank `start + 1`. The queue shrinks as frames are labelled, so the page after a
    worked page starts at `start` plus the picks of it still unlabelled (the pages pass `start`, not a number)."""

    picks: tuple[Pick, ...]
    start: int
    per_page: int
    total: int

    @property
    def page(self) -> int:
        return self.start // self.per_page + 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first_rank(self) -> int:
        """The rank (1-based, over the whole queue) of this page's first pick."""
        return self.start + 1

    @property
    def previous_start(self) -> int | None:
        return max(0, self.start - self.per_page) if self.start > 0 else None

    @property
    def next_start(self) -> int | None:
        return self.start + self.per_page if self.start + self.per_page < self.total else None


def labelled_class_counts() -> dict[str, int]:
    rows = (BoxAnnotation.objects.filter(frame__status=FrameAnnotation.Status.LABELLED)
            .values_list("label").annotate(n=Count("id")).order_by())
    return {label: n for label, n in rows}


def queue_page(
    *, page: int = 1, start: int | None = None, per_page: int = 50, recording_ids: list[int] | None = None,
    settings: QueueSettings = QueueSettings(),
) -> QueuePage:
    """Page `page` of the queue, or `per_page` picks from rank `start + 1` when start is given; past the end:
    the last page."""
    rows = FrameAnnotation.objects.filter(status=FrameAnnotation.Status.CANDIDATE)
    if recording_ids is not None:
        rows = rows.filter(recording_id__in=recording_ids)
    hand = FrameAnnotation.Source.HAND
    candidates = [
        Candidate(key=key, recording_id=recording, frame_number=frame, confidence=confidence, rejected=rejected,
                  label=label, phash=phash, requested=source == hand, disagreement=disagreement)
        for key, recording, frame, confidence, rejected, label, phash, source, disagreement in rows.order_by().values_list(
            "id", "recording_id", "frame_number", "confidence", "rejected", "label", "phash", "source", "disagreement")
    ]
    picks = select(candidates, class_counts=labelled_class_counts(), settings=settings)
    wanted = (max(1, page) - 1) * per_page if start is None else max(0, start)
    last = (max(1, -(-len(picks) // per_page)) - 1) * per_page
    first = wanted if wanted < len(picks) else last
    return QueuePage(picks=tuple(picks[first:first + per_page]), start=first, per_page=per_page, total=len(picks))


@dataclass(frozen=True)
class BoxView:
    """A box as the page places it: percentages of the frame."""

    label: str
    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class QueueCard:
    rank: int
    frame: FrameAnnotation  # its recording and boxes fetched
    boxes: tuple[BoxView, ...]
    pick: Pick | None = None  # None for a card shown again after an action (no longer in the queue)


def box_views(frame: FrameAnnotation) -> tuple[BoxView, ...]:
    return tuple(BoxView(b.label, round(b.x0 * 100, 2), round(b.y0 * 100, 2), round((b.x1 - b.x0) * 100, 2),
                         round((b.y1 - b.y0) * 100, 2)) for b in frame.boxes.all())


def queue_cards(page: QueuePage) -> list[QueueCard]:
    """The page's picks with their frames, recordings and boxes: two queries whatever the page size."""
    frames = FrameAnnotation.objects.select_related("recording").prefetch_related("boxes").in_bulk(
        [pick.candidate.key for pick in page.picks])
    return [QueueCard(rank=page.first_rank + index, frame=frames[pick.candidate.key],
                      boxes=box_views(frames[pick.candidate.key]), pick=pick)
            for index, pick in enumerate(page.picks) if pick.candidate.key in frames]
