"""A person's work on one frame's boxes, from the queue and the box editor: accept what is proposed, mark the
frame a hard negative, or save the boxes drawn in the editor.

Every change is audited in AnnotationChange the way review audits events in EventChange: who, which action,
the boxes before and after. A box keeps the event it came from (so a later review of that event can still
take it back) only while it stays on the frame the editor loaded; anything else the client claims is ignored.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from labeling.models import AnnotationChange, BoxAnnotation, FrameAnnotation

from .annotations import frame_boxes
from .items import BOX_DECIMALS, LabelledBox

MAX_BOXES = 200
# Smaller than this (a fraction of the frame) is a slip of the mouse, not a box.
MIN_SIDE = 10 ** -BOX_DECIMALS * 5


class BoxesInvalid(ValueError):
    """Boxes the editor sent that cannot be stored; the message says which box and why. Nothing is saved."""


@dataclass(frozen=True)
class EditedBox:
    box: LabelledBox
    event_id: int | None = None


def boxes_parse(payload: Any, *, classes: Sequence[str]) -> list[EditedBox]:
    """`{"boxes": [{"label": str, "box": [x0, y0, x1, y1], "event": id?}, ...]}` (coordinates 0..1) checked."""
    if not isinstance(payload, dict) or not isinstance(payload.get("boxes"), list):
        raise BoxesInvalid('send a JSON object {"boxes": [{"label": ..., "box": [x0, y0, x1, y1]}, ...]}')
    raw = payload["boxes"]
    if len(raw) > MAX_BOXES:
        raise BoxesInvalid(f"{len(raw)} boxes: at most {MAX_BOXES} on one frame")
    parsed = []
    for index, item in enumerate(raw, start=1):
        where = f"box {index}"
        if not isinstance(item, dict):
            raise BoxesInvalid(f"{where}: not an object")
        label, coords, event = item.get("label"), item.get("box"), item.get("event")
        if label not in classes:
            raise BoxesInvalid(f"{where}: class {label!r} is not one of the profile's classes ({', '.join(classes)})")
        if (not isinstance(coords, list) or len(coords) != 4
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in coords)):
            raise BoxesInvalid(f"{where}: box must be four finite numbers [x0, y0, x1, y1] between 0 and 1")
        x0, x1 = sorted((float(coords[0]), float(coords[2])))
        y0, y1 = sorted((float(coords[1]), float(coords[3])))
        box = LabelledBox(str(label), x0, y0, x1, y1).rounded()
        if box.x1 - box.x0 < MIN_SIDE or box.y1 - box.y0 < MIN_SIDE:
            raise BoxesInvalid(f"{where}: empty once inside the frame (draw it over the picture)")
        parsed.append(EditedBox(box=box, event_id=event if isinstance(event, int) and not isinstance(event, bool) else None))
    return parsed


def _locked(frame: FrameAnnotation) -> FrameAnnotation:
    return FrameAnnotation.objects.select_for_update().get(pk=frame.pk)


def _audit(frame: FrameAnnotation, *, user: Any, action: str, before: list[dict[str, Any]], status: str) -> None:
    AnnotationChange.objects.create(frame=frame, user=user, action=action,
                                    before={"boxes": before, "status": status},
                                    after={"boxes": frame_boxes(frame), "status": frame.status})


@transaction.atomic
def frame_boxes_save(*, frame: FrameAnnotation, boxes: Sequence[EditedBox], user: Any) -> FrameAnnotation:
    """The frame's boxes become exactly `boxes` (none: a hard negative); the frame is labelled training data."""
    frame = _locked(frame)
    before, status = frame_boxes(frame), frame.status
    known_events = {b["event"] for b in before if b["event"] is not None}
    frame.boxes.all().delete()
    BoxAnnotation.objects.bulk_create(
        BoxAnnotation(frame=frame, label=e.box.label, x0=e.box.x0, y0=e.box.y0, x1=e.box.x1, y1=e.box.y1,
                      event_id=e.event_id if e.event_id in known_events else None)
        for e in boxes
    )
    frame.status = FrameAnnotation.Status.LABELLED
    frame.reason = "boxes drawn in the editor" if boxes else "hard negative: no object (editor)"
    frame.save(update_fields=["status", "reason", "updated_at"])
    _audit(frame, user=user, action="editor:save", before=before, status=status)
    return frame


@transaction.atomic
def frame_accept(*, frame: FrameAnnotation, user: Any) -> FrameAnnotation:
    """The proposed boxes are right as they are: the frame becomes labelled with them."""
    frame = _locked(frame)
    before, status = frame_boxes(frame), frame.status
    frame.status = FrameAnnotation.Status.LABELLED
    frame.reason = "accepted in the queue" if before else "hard negative: accepted empty in the queue"
    frame.save(update_fields=["status", "reason", "updated_at"])
    _audit(frame, user=user, action="queue:accept", before=before, status=status)
    return frame


@transaction.atomic
def frame_mark_negative(*, frame: FrameAnnotation, user: Any) -> FrameAnnotation:
    """Nothing to detect on this frame: its proposals go and it becomes a hard negative."""
    frame = _locked(frame)
    before, status = frame_boxes(frame), frame.status
    frame.boxes.all().delete()
    frame.status = FrameAnnotation.Status.LABELLED
    frame.reason = "hard negative: no object (queue)"
    frame.save(update_fields=["status", "reason", "updated_at"])
    _audit(frame, user=user, action="queue:negative", before=before, status=status)
    return frame
