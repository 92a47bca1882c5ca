"""Event assembly: a settled reading and its drafts become events, shaped by the profile's event
schema; an overlay that never showed its words, or repeats the event just made, becomes none."""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import cv2

from detection.pipeline.calibration import IDENTITY, Calibration
from detection.pipeline.fields import FieldReader, Reading
from detection.pipeline.profile import GameProfile
from detection.pipeline.readings import Pending
from detection.pipeline.state import Draft
from detection.pipeline.text import contains
from detection.pipeline.types import Event, Frame

# How many of the latest events a new overlay event is compared with (two boxes on one notification).
RECENT = 5
# An event implied by the screens around it (a raid end whose end screen went unseen) counts this
# much of the screen that implied it.
INFERRED_DISCOUNT = 0.5


@dataclass(frozen=True)
class RecentEvent:
    """What the repeat check needs of an event already made; a checkpoint carries the latest few."""

    event_id: str
    type: str
    video_time: float
    data: dict[str, Any]


def thumbnail(frame: Frame, *, width: int) -> bytes:
    """A small JPEG of the full-resolution frame."""
    image = frame.full
    height = max(1, image.shape[0] * width // max(1, image.shape[1]))
    small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return encoded.tobytes() if ok else b""


class EventAssembler:
    def __init__(
        self, profile: GameProfile, fields: FieldReader, *, recent: Iterable[RecentEvent] = (),
        calibration: Calibration = IDENTITY,
    ) -> None:
        self.profile = profile
        self.fields = fields
        self.calibration = calibration
        self.recent: deque[RecentEvent] = deque(recent, maxlen=RECENT)

    def data(self, draft: Draft, reading: Reading) -> dict[str, Any]:
        """The draft's data, then what the reading found of the fields its event type declares
        (a raid end takes its extract; a state change takes nothing of its screen's map)."""
        declared = self.profile.event(draft.type).field_names
        data = dict(draft.data)
        data.update((name, value) for name, value in reading.data.items() if name in declared and name not in data)
        return data

    def unread(self, pending: Pending) -> str:
        """Why an overlay is no event for want of its words ("" when it showed them): its box never showed its
        words (ELIMINATED) and a name, nor all its fields. An overlay is no event either when it `repeat`s one."""
        reading = pending.reading
        words = self.profile.keywords.get(pending.label, ())
        specs = self.fields.fields_for(pending.label)
        read_any = any(name in reading.data for name, spec in specs.items() if "vocabulary" in spec)
        if words and not reading.complete and not (read_any and any(contains(reading.texts, w, cutoff=90) for w in words)):
            return f"neither {' / '.join(words)} and a name nor all fields in its box"
        return ""

    def repeat(self, pending: Pending) -> str:
        """Why an overlay repeats an event a moment before ("" when it does not): the same data, or, when this
        reading is incomplete, data that agrees with every field it did read: a notification whose score dipped
        under the floor for a frame comes back as a new appearance, often with a field cut (`rogue`, no weapon),
        and names no new kill."""
        reading, confirmed = pending.reading, pending.confirmed
        window = self.profile.thresholds.overlay_repeat_seconds
        for draft in pending.drafts:
            data = self.data(draft, reading)
            for event in reversed(self.recent):
                same = event.data == data or (not reading.complete and data.items() <= event.data.items())
                if event.type == draft.type and same and abs(event.video_time - confirmed.first_time) < window:
                    return f"repeats {event.event_id}"
        return ""

    def events(self, pending: Pending) -> list[Event]:
        """One event per draft, at its confirmed thing's first frame (an inferred one at the frame it
        was inferred at). A state change is as sure as its screen; the others also as sure as their
        fields were read."""
        reading, confirmed = pending.reading, pending.confirmed
        detection = confirmed.detection
        field_score = min(reading.scores.values(), default=1.0)
        confidence = confirmed.confidence * field_score * (1.0 if reading.complete else 0.6)
        evidence = {
            "class": detection.label,
            "box": detection.box.to_json(),
            "confidence": round(confirmed.confidence, 4),
            "ocr": list(dict.fromkeys(reading.texts)),
            "confirmed_at_frame": confirmed.confirm_frame,
            "complete": reading.complete,
        }
        made: list[Event] = []
        for draft in pending.drafts:
            sure = confirmed.confidence if draft.type == self.profile.transition_event else confidence
            if draft.inferred:
                # Nobody saw it happen: below any review threshold, so a person confirms it first.
                sure *= INFERRED_DISCOUNT
            # The chance it is right, as measured on held-out footage (identity without a calibration).
            calibrated = self.calibration.confidence(draft.type, sure, inferred=draft.inferred)
            extra: dict[str, Any] = {"inferred": True} if draft.inferred else {}
            if not self.calibration.is_identity:
                extra["raw_confidence"] = round(sure, 4)
            event = Event(
                event_id=f"{draft.type}-{draft.confirmed.first_frame}" + (f"-{draft.tag}" if draft.tag else ""),
                type=draft.type,
                video_time=draft.confirmed.first_time,
                frame_number=draft.confirmed.first_frame,
                confidence=round(calibrated, 4),
                data=self.data(draft, reading),
                evidence={**evidence, **extra, **draft.evidence},
                thumbnail=pending.thumbnail,
            )
            self.recent.append(RecentEvent(event.event_id, event.type, event.video_time, event.data))
            made.append(event)
        return made
