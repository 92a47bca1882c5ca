"""OCR readings of a confirmed screen or overlay, and the incomplete ones read again on later frames
while their box stays visible (a notification still sliding in, a frame blurred by motion)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from detection.pipeline.fields import FieldReader, Reading
from detection.pipeline.state import Draft
from detection.pipeline.temporal import Confirmed, OverlayFilter
from detection.pipeline.timings import StageTimings
from detection.pipeline.types import Detection, Frame, Observation


@dataclass
class Pending:
    """A confirmed screen or overlay with what was read of it; `drafts` are its events to be."""

    confirmed: Confirmed
    reading: Reading
    thumbnail: bytes = b""
    drafts: list[Draft] = field(default_factory=list)
    tries: int = 0
    # An overlay outside the raid over a raid screen the machine refused: its words decide (`enter_for_overlay`).
    awaits_raid: bool = False

    @property
    def label(self) -> str:
        return self.confirmed.label

    @property
    def track(self) -> int:
        return self.confirmed.track


Settle = Callable[[Pending], None]


class Readings:
    def __init__(self, fields: FieldReader, timings: StageTimings, *, retries: int) -> None:
        self.fields = fields
        self.timings = timings
        self.retries = retries
        self.pending: list[Pending] = []

    def read(self, frame: Frame, detection: Detection, *, context: dict[str, Any]) -> Reading:
        if not self.fields.fields_for(detection.label):
            return Reading(data={}, complete=True)
        with self.timings.measure("ocr"):
            reading = self.fields.read(frame, detection, context=context)
        self.timings.ocr_reads += 1
        return reading

    def start(self, pending: Pending, settle: Settle) -> None:
        """Settled at once when complete; else kept for up to `retries` more frames."""
        if pending.reading.complete:
            settle(pending)
        else:
            pending.tries = self.retries
            self.pending.append(pending)

    def retry(self, frame: Frame, observation: Observation, overlays: OverlayFilter, *,
              context: Callable[[], dict[str, Any]], settle: Settle) -> None:
        """Reads each pending box again if it is still visible; settles the complete, the vanished
        and those out of tries, in order (settling one can change the context the next is read in)."""
        still: list[Pending] = []
        for pending in self.pending:
            if pending.track:
                visible = overlays.visible(pending.track)
            else:
                screen = observation.screen
                visible = screen if screen is not None and screen.label == pending.label else None
            if visible is None or pending.tries <= 0:
                settle(pending)
                continue
            pending.tries -= 1
            reading = self.read(frame, visible, context=context())
            # Keep what earlier frames read; a later frame may fill the gaps.
            pending.reading = pending.reading.merged(reading, self.fields.fields_for(pending.label))
            if pending.reading.complete:
                settle(pending)
            else:
                still.append(pending)
        self.pending = still

    def drain(self, settle: Settle) -> None:
        """The end of the video: what is still pending settles with what was read."""
        for pending in self.pending:
            settle(pending)
        self.pending = []
