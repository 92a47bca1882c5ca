"""HUD values (health, shield) read by OCR from the profile's HUD region: the VLM's cross-check and
its fallback when no model answers. The HUD prints each value after its word (`HP 73%`)."""
from __future__ import annotations

import re

import numpy as np

from detection.pipeline.fields import crop
from detection.pipeline.labels import LabelSchema
from detection.pipeline.profile import GameProfile
from detection.pipeline.text import TextReader
from detection.pipeline.types import Frame

# OCR reads a letter O for a zero and I/l for a one often enough on small HUD fonts.
_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "|": "1"})


def hud_crop(frame: Frame, profile: GameProfile, schema: LabelSchema) -> np.ndarray:
    """The HUD region at the frame's full resolution, where its digits are sharpest."""
    full = Frame(picture=frame.full, number=frame.number, video_time=frame.video_time)
    return crop(full, profile.region(schema.hud_region), pad=0.0)


def hud_values(lines: list[str], schema: LabelSchema) -> dict[str, int | None]:
    """Each HUD field's number from OCR lines, None when its word or a number in range is not there."""
    text = " ".join(lines).upper()
    values: dict[str, int | None] = {}
    for field in schema.hud_fields:
        match = re.search(rf"(?<![A-Z]){re.escape(field.word)}(?![A-Z])\W*([0-9OI|]{{1,3}})(?![0-9])", text, re.I)
        value: int | None = None
        if match:
            digits = match.group(1).translate(_DIGIT_LOOKALIKES)
            if digits.isdigit() and field.minimum <= int(digits) <= field.maximum:
                value = int(digits)
        values[field.name] = value
    return values


def hud_read(frame: Frame, *, profile: GameProfile, schema: LabelSchema, reader: TextReader) -> dict[str, int | None]:
    lines = reader.read(hud_crop(frame, profile, schema))
    return hud_values([line.text for line in lines], schema)
