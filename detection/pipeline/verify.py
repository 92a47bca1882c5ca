"""Screen verification by text: screens that look alike are told apart by the words on them."""
from __future__ import annotations

from dataclasses import dataclass, replace

from detection.pipeline.fields import FieldReader
from detection.pipeline.profile import GameProfile
from detection.pipeline.temporal import Confirmed
from detection.pipeline.timings import StageTimings
from detection.pipeline.types import Frame


@dataclass(frozen=True)
class Verdict:
    """`screen`: the confirmed screen as its words name it, or None when a weak detection shows no
    screen's words (no screen at all). `proven`: its own words were read, so the state machine may
    believe a longer jump."""

    screen: Confirmed | None
    proven: bool


class ScreenVerifier:
    """Reads the words of a confirmed screen of the profile's `verify_by_text` group.

    A screen outside the group passes unproven. Inside it, a box that reads the words of exactly
    one screen of the group is that screen (relabelled if the detector named another); a box that
    reads none passes unproven when the detector was sure enough (`text_required_below`), else it
    is refused.
    """

    def __init__(self, profile: GameProfile, fields: FieldReader, timings: StageTimings) -> None:
        self.profile = profile
        self.fields = fields
        self.timings = timings

    def verify(self, frame: Frame, confirmed: Confirmed) -> Verdict:
        group = self.profile.verify
        if confirmed.label not in group:
            return Verdict(confirmed, proven=False)
        with self.timings.measure("ocr"):
            found = self.fields.classes_by_text(frame, confirmed.detection, among=group)
        self.timings.ocr_reads += 1
        if not found and confirmed.confidence < self.profile.thresholds.text_required_below:
            return Verdict(None, proven=False)
        if len(found) != 1:
            return Verdict(confirmed, proven=False)
        if found[0] == confirmed.label:
            return Verdict(confirmed, proven=True)
        detection = replace(confirmed.detection, label=found[0])
        return Verdict(replace(confirmed, label=found[0], detection=detection), proven=True)
