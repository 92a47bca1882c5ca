"""Training data from review: the frame an approved event was confirmed on becomes a positive with the
event's box and class; a deleted (false positive) detection makes its frame a hard negative; unreviewed
events, the state machine's rejections and the frames the detector was unsure about (a box inside the
queue's band, sampled by the pipeline while it runs) become candidates for the active-learning queue.

`annotation_sync_event` is the one hook review calls after every change of an event (approve, delete,
restore, edit, add, undo), inside the same transaction: the frame follows the event's current review state,
and every change of a frame's boxes is audited in AnnotationChange. A candidate frame carries the
detector's boxes as proposals (what the queue shows and accepts); an event added by hand has no box, so
its frame becomes a candidate asking for one.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from detection.models import DetectedEvent, Job, Recording, RejectedObservation
from detection.pipeline.types import Uncertain
from labeling.models import AnnotationChange, BoxAnnotation, FrameAnnotation

from .frames import ExtractedFrame, extract_frame, extract_frames
from .items import DatasetError, LabelledBox, frame_item_name

Status = DetectedEvent.ReviewStatus
KEPT = (Status.APPROVED, Status.EDITED)
DISAGREEMENT_IOU = 0.5
VLM_DISPUTE = "the VLM cross-check disagreed"


def event_box(event: DetectedEvent) -> tuple[int, LabelledBox] | None:
    """(frame number, box) the detector saw the event with; None for an event without a box (added by hand)."""
    evidence = event.evidence if isinstance(event.evidence, dict) else {}
    box, label = evidence.get("box"), evidence.get("class")
    if not isinstance(label, str) or not isinstance(box, list) or len(box) != 4:
        return None
    frame = evidence.get("confirmed_at_frame", event.frame_number)
    frame_number = frame if isinstance(frame, int) and frame >= 0 else event.frame_number
    return frame_number, LabelledBox(label, *(float(v) for v in box)).rounded()


def frame_boxes(frame: FrameAnnotation) -> list[dict[str, Any]]:
    return [
        {"label": b.label, "box": [b.x0, b.y0, b.x1, b.y1], "event": b.event_id}
        for b in frame.boxes.order_by("label", "x0", "y0", "id")
    ]


def _frame_for(recording: Recording, frame_number: int, **defaults: Any) -> FrameAnnotation:
    fps = recording.avg_fps or 30.0
    frame, _ = FrameAnnotation.objects.select_for_update().get_or_create(
        recording=recording, frame_number=frame_number,
        defaults={"video_offset_seconds": frame_number / fps, **defaults},
    )
    return frame


@transaction.atomic
def annotation_sync_event(*, event: DetectedEvent, user: Any) -> FrameAnnotation | None:
    """The event's frame as its review now says (see the module docstring); None when it has no box."""
    seen = event_box(event)
    if seen is None:
        return annotation_request_box(event=event) if event.source == DetectedEvent.Source.MANUAL else None
    frame_number, box = seen
    frame = _frame_for(event.recording, frame_number, status=FrameAnnotation.Status.LABELLED,
                       source=FrameAnnotation.Source.REVIEW)
    before = frame_boxes(frame)
    frame.boxes.filter(event=event).delete()
    if event.review_status in KEPT:
        BoxAnnotation.objects.create(frame=frame, event=event, label=box.label, x0=box.x0, y0=box.y0, x1=box.x1, y1=box.y1)
        frame.status, frame.reason = FrameAnnotation.Status.LABELLED, f"approved {event.event_type}"
    elif event.review_status == Status.DELETED:
        frame.status = FrameAnnotation.Status.LABELLED
        if not frame.boxes.exists():
            frame.reason = f"hard negative: {box.label} was a false positive"
    elif frame.status == FrameAnnotation.Status.CANDIDATE or not frame.boxes.exists():
        # Back to unreviewed (undo): the detector's box is a proposal again, on a candidate frame.
        BoxAnnotation.objects.create(frame=frame, event=event, label=box.label, x0=box.x0, y0=box.y0, x1=box.x1, y1=box.y1)
        frame.status, frame.reason, frame.confidence = FrameAnnotation.Status.CANDIDATE, "unreviewed detection", event.confidence
        frame.label = box.label
    frame.save()
    after = frame_boxes(frame)
    if after != before or not frame.changes.exists():
        AnnotationChange.objects.create(frame=frame, user=user, action=f"review:{event.review_status}",
                                        before={"boxes": before}, after={"boxes": after, "status": frame.status})
    return frame


def annotation_request_box(*, event: DetectedEvent) -> FrameAnnotation | None:
    """An event added by hand has no box: its frame joins the queue as a candidate asking for one (drawn in
    the box editor); undoing the addition takes the request back unless someone has worked on the frame."""
    recording = event.recording
    frame_number = event.frame_number or round(event.video_offset_seconds * (recording.avg_fps or 30.0))
    asked = FrameAnnotation.objects.filter(recording=recording, frame_number=frame_number,
                                           status=FrameAnnotation.Status.CANDIDATE, source=FrameAnnotation.Source.HAND)
    if event.review_status == Status.DELETED:
        asked.filter(changes__isnull=True, boxes__isnull=True).delete()
        return None
    frame = _frame_for(recording, frame_number, status=FrameAnnotation.Status.CANDIDATE,
                       source=FrameAnnotation.Source.HAND, reason=f"{event.event_type} added by hand: draw its box")
    return frame


@transaction.atomic
def annotation_frame_for_event(*, event: DetectedEvent) -> FrameAnnotation:
    """The frame to draw an event's box on (the box editor opened from review): the frame its box was seen on,
    a candidate with the detector's box proposed unless it is training data already; for an event without a
    box, its own frame asking for one."""
    seen = event_box(event)
    recording = event.recording
    if seen is None:
        frame_number = event.frame_number or round(event.video_offset_seconds * (recording.avg_fps or 30.0))
        return _frame_for(recording, frame_number, status=FrameAnnotation.Status.CANDIDATE,
                          source=FrameAnnotation.Source.HAND, reason=f"{event.event_type}: draw its box")
    frame_number, box = seen
    frame = _frame_for(recording, frame_number, status=FrameAnnotation.Status.CANDIDATE, confidence=event.confidence,
                       label=box.label, reason=f"unreviewed {box.label}")
    if frame.status == FrameAnnotation.Status.CANDIDATE and not frame.boxes.filter(event=event).exists():
        BoxAnnotation.objects.create(frame=frame, event=event, label=box.label, x0=box.x0, y0=box.y0, x1=box.x1, y1=box.y1)
    return frame


def uncertain_frames_record(*, recording: Recording, frames: list[Uncertain]) -> int:
    """The pipeline's uncertain frames as candidates with the detector's boxes as proposals (a frame already
    there, labelled or not, is left as it is); called at each checkpoint. How many were added."""
    existing = set(FrameAnnotation.objects.filter(recording=recording, frame_number__in=[f.frame_number for f in frames])
                   .values_list("frame_number", flat=True))
    new = {f.frame_number: f for f in frames if f.frame_number not in existing}
    FrameAnnotation.objects.bulk_create(
        [FrameAnnotation(recording=recording, frame_number=f.frame_number, video_offset_seconds=f.video_time,
                         status=FrameAnnotation.Status.CANDIDATE, source=FrameAnnotation.Source.UNCERTAIN,
                         confidence=f.confidence, label=f.label, reason=f"uncertain {f.label} ({f.confidence:.2f})")
         for f in new.values()], ignore_conflicts=True)
    _propose_boxes(recording, {number: [(None, LabelledBox(d.label, d.box.x0, d.box.y0, d.box.x1, d.box.y1).rounded())
                                         for d in frame.detections] for number, frame in new.items()})
    return len(new)


@transaction.atomic
def annotation_candidates_collect(*, recording: Recording, job: Job | None = None) -> int:
    """The recording's candidate frames as its current unreviewed detections and rejections say (called when a
    detect job ends): new ones added, ones no longer seen (a later run superseded them) dropped unless someone
    touched them; labelled frames are left alone. Uncertain frames stay, but for an earlier run's untouched
    ones when `job` (the run that just ended) is given. How many were added."""
    labelled = set(FrameAnnotation.objects.filter(recording=recording, status=FrameAnnotation.Status.LABELLED)
                   .values_list("frame_number", flat=True))
    fps = recording.avg_fps or 30.0
    made: dict[int, FrameAnnotation] = {}
    proposals: dict[int, list[tuple[DetectedEvent, LabelledBox]]] = {}
    disputed: dict[int, str] = {}
    for event in DetectedEvent.objects.filter(recording=recording, review_status=Status.UNREVIEWED):
        seen = event_box(event)
        if seen is None or seen[0] in labelled:
            continue
        proposals.setdefault(seen[0], []).append((event, seen[1]))
        if dispute := vlm_dispute(event):
            disputed[seen[0]] = dispute
        if seen[0] not in made:
            made[seen[0]] = FrameAnnotation(
                recording=recording, frame_number=seen[0], video_offset_seconds=seen[0] / fps,
                status=FrameAnnotation.Status.CANDIDATE, confidence=event.confidence, label=seen[1].label,
                reason=f"unreviewed {seen[1].label}",
            )
    for rejection in RejectedObservation.objects.filter(recording=recording):
        number = rejection.frame_number
        if number in labelled:
            continue
        candidate = made.get(number) or FrameAnnotation(
            recording=recording, frame_number=number, video_offset_seconds=rejection.video_offset_seconds,
            status=FrameAnnotation.Status.CANDIDATE, confidence=rejection.confidence, label=rejection.observed_screen,
        )
        candidate.rejected = True
        candidate.reason = f"rejected: {rejection.observed_screen} after {rejection.from_state}"
        made[number] = candidate
    stale = FrameAnnotation.objects.filter(recording=recording, status=FrameAnnotation.Status.CANDIDATE,
                                           changes__isnull=True).exclude(frame_number__in=list(made))
    stale = stale.exclude(source=FrameAnnotation.Source.HAND)  # asked for by a reviewer, not by a detection
    uncertain = FrameAnnotation.Source.UNCERTAIN
    stale = stale.exclude(source=uncertain) if job is None else stale.exclude(source=uncertain,
                                                                              created_at__gte=job.created_at)
    stale.delete()
    existing = set(FrameAnnotation.objects.filter(recording=recording).values_list("frame_number", flat=True))
    new = [frame for number, frame in made.items() if number not in existing]
    for number, frame in made.items():
        frame.disagreement = _disagreement([box for _, box in proposals.get(number, [])]) or disputed.get(number, "")
    FrameAnnotation.objects.bulk_create(new, ignore_conflicts=True)
    _propose_boxes(recording, proposals)
    return len(new)


def vlm_dispute(event: DetectedEvent) -> str:
    """Why the VLM cross-check (labeling/crosscheck.py) says the event is not on screen; "" when it did not."""
    check = event.evidence.get("vlm_check") if isinstance(event.evidence, dict) else None
    if not isinstance(check, dict) or check.get("agrees") is not False:
        return ""
    rationale = str(check.get("rationale") or check.get("answer") or "").strip()
    return f"{VLM_DISPUTE} ({check.get('model', 'VLM')}): {rationale}"[:255]


def annotation_dispute_record(*, event: DetectedEvent) -> None:
    """A cross-check answer that came after the run: the event's candidate frame carries the dispute (the queue
    ranks it up and says why), or loses it when a later answer agrees."""
    seen = event_box(event)
    if seen is None:
        return
    frames = FrameAnnotation.objects.filter(recording_id=event.recording_id, frame_number=seen[0],
                                            status=FrameAnnotation.Status.CANDIDATE)
    dispute = vlm_dispute(event)
    if dispute:
        frames.update(disagreement=dispute)
    else:
        frames.filter(disagreement__startswith=VLM_DISPUTE).update(disagreement="")


def _disagreement(boxes: list[LabelledBox]) -> str:
    """Two detections of one spot with different classes (boxes overlapping by half or more): say which."""
    for index, first in enumerate(boxes):
        for second in boxes[index + 1:]:
            if first.label != second.label and _overlap(first, second) >= DISAGREEMENT_IOU:
                return f"two detections differ: {first.label} or {second.label}"
    return ""


def _overlap(a: LabelledBox, b: LabelledBox) -> float:
    """Intersection over union."""
    width = max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0))
    height = max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))
    inter = width * height
    union = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter
    return inter / union if union > 0 else 0.0


def _propose_boxes(recording: Recording,
                   proposals: Mapping[int, Sequence[tuple[DetectedEvent | None, LabelledBox]]]) -> None:
    """The detector's boxes on candidate frames that have none yet: what the queue shows and `a` accepts; each with
    the event it was seen as, if any."""
    frames = dict(FrameAnnotation.objects.filter(recording=recording, status=FrameAnnotation.Status.CANDIDATE,
                                                 frame_number__in=list(proposals), boxes__isnull=True)
                  .values_list("frame_number", "id"))
    BoxAnnotation.objects.bulk_create(
        BoxAnnotation(frame_id=frame_id, event=event, label=box.label, x0=box.x0, y0=box.y0, x1=box.x1, y1=box.y1)
        for number, frame_id in frames.items() for event, box in proposals[number]
    )


def frame_image_path(frame: FrameAnnotation) -> Path:
    return Path(settings.MEDIA_ROOT) / frame.image


def frame_image_ensure(frame: FrameAnnotation) -> Path:
    """The frame's image file, extracted from the recording's video the first time it is needed."""
    if frame.image and frame_image_path(frame).is_file():
        return frame_image_path(frame)
    relative = _image_relative(frame)
    _image_store(frame, relative, extract_frame(frame.recording.video_path, frame_number=frame.frame_number,
                                                out=Path(settings.MEDIA_ROOT) / relative))
    return frame_image_path(frame)


def candidate_images_extract(*, recording: Recording, limit: int = 500) -> int:
    """Images (and perceptual hashes, for the queue's near-duplicate check) of candidate frames that have none,
    taken in one walk through the video. Frames the video cannot give (it is shorter, or gone) keep no image:
    the queue shows them as before, and opening one reports why."""
    frames = list(FrameAnnotation.objects.filter(recording=recording, status=FrameAnnotation.Status.CANDIDATE,
                                                 image="").order_by("frame_number")[:limit])
    if not frames:
        return 0
    paths = {frame.pk: _image_relative(frame) for frame in frames}
    try:
        extracted = extract_frames(recording.video_path, frames=[
            (frame.frame_number, Path(settings.MEDIA_ROOT) / paths[frame.pk]) for frame in frames])
    except DatasetError:
        return 0
    done = 0
    for frame in frames:
        if frame.frame_number in extracted:
            _image_store(frame, paths[frame.pk], extracted[frame.frame_number])
            done += 1
    return done


def _image_relative(frame: FrameAnnotation) -> Path:
    return Path("annotations") / f"r{frame.recording_id}" / f"{frame_item_name(frame.recording_id, frame.frame_number)}.jpg"


def _image_store(frame: FrameAnnotation, relative: Path, extracted: ExtractedFrame) -> None:
    frame.image, frame.image_width, frame.image_height = str(relative), extracted.width, extracted.height
    frame.video_offset_seconds, frame.phash = extracted.video_time, extracted.phash
    frame.save(update_fields=["image", "image_width", "image_height", "video_offset_seconds", "phash", "updated_at"])
