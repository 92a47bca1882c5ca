"""Reading an event's data fields from a detected box: OCR + vocabulary, checkbox and button pixels.

Which fields a class carries is profile data (`ocr.fields`); this module only knows the kinds
of field: `vocabulary`, `checkbox`, `buttons`, `flag`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from detection.pipeline.profile import GameProfile
from detection.pipeline.text import TextLine, TextReader, best_match, contains, normalise, text_after
from detection.pipeline.types import Box, Detection, Frame


@dataclass(frozen=True)
class Reading:
    data: dict[str, Any]
    complete: bool
    texts: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)


def format_value(value: str, style: str) -> str:
    if style == "snake":
        return value.strip().lower().replace(" ", "_")
    if style == "lower":
        return value.strip().lower()
    return value


def crop(frame: Frame, box: Box, *, pad: float = 0.01) -> np.ndarray:
    padded = Box(box.x0 - pad, box.y0 - pad, box.x1 + pad, box.y1 + pad)
    x0, y0, x1, y1 = padded.pixels(frame.width, frame.height)
    return frame.image[y0:y1, x0:x1]


def checkbox_ticked(image: np.ndarray) -> bool:
    """A ticked box has ink (a tick or a fill) inside the square; an empty one shows the background.

    The square is the most square-looking outline in the region; without one, the darkest-or-
    brightest blob test falls back to the whole region's contrast.
    """
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    height, width = grey.shape[:2]
    if height < 4 or width < 4:
        return False
    edges = cv2.Canny(grey, 40, 120)
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    best: tuple[int, int, int, int] | None = None
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if h < 0.2 * height or w < 0.2 * height or not 0.75 <= w / h <= 1.33:
            continue
        if best is None or w * h > best[2] * best[3]:
            best = (x, y, w, h)
    if best is None:
        return False
    x, y, w, h = best
    inner = grey[y + h // 4 : y + h - h // 4, x + w // 4 : x + w - w // 4]
    ring = np.concatenate([grey[max(0, y - 3) : y, x : x + w].ravel(), grey[y + h : y + h + 3, x : x + w].ravel()])
    background = float(np.median(ring)) if ring.size else float(np.median(grey))
    if inner.size == 0:
        return False
    ink = np.abs(inner.astype(np.int16) - background) > 40
    return float(ink.mean()) > 0.08


def highlighted_button(image: np.ndarray, lines: list[TextLine], labels: list[str]) -> str | None:
    """The button that stands out most from the panel: its surroundings differ most from the panel's median colour."""
    if image.size == 0:
        return None
    panel = np.median(image.reshape(-1, 3), axis=0)
    height, width = image.shape[:2]
    areas: dict[str, tuple[int, int, int, int]] = {}
    for label in labels:
        key = normalise(label)
        for line in lines:
            if normalise(line.text) == key or (key in normalise(line.text) and len(normalise(line.text)) <= len(key) + 2):
                x0, y0, x1, y1 = line.box
                dx, dy = (x1 - x0) // 2 + 4, (y1 - y0) // 2 + 4
                areas[label] = (max(0, x0 - dx), max(0, y0 - dy), min(width, x1 + dx), min(height, y1 + dy))
                break
    if len(areas) < len(labels):
        # Buttons not read: assume they sit side by side in the lower part of the panel, in label order.
        step = width // len(labels)
        areas = {label: (i * step, height // 2, (i + 1) * step, height) for i, label in enumerate(labels)}

    def stand_out(area: tuple[int, int, int, int]) -> float:
        x0, y0, x1, y1 = area
        patch = image[y0:y1, x0:x1].reshape(-1, 3).astype(np.float32)
        return float(np.abs(patch - panel).mean()) if patch.size else 0.0

    scored = sorted(((stand_out(area), -i, label) for i, (label, area) in enumerate(areas.items())), reverse=True)
    return scored[0][2] if scored else None


class FieldReader:
    def __init__(self, profile: GameProfile, reader: TextReader) -> None:
        self.profile = profile
        self.reader = reader
        self.cutoff = float(profile.ocr.fuzzy_cutoff)

    def fields_for(self, label: str) -> dict[str, dict[str, Any]]:
        return self.profile.ocr.fields.get(label) or {}

    def read(self, frame: Frame, detection: Detection, *, context: dict[str, Any] | None = None) -> Reading:
        specs = self.fields_for(detection.label)
        if not specs:
            return Reading(data={}, complete=True)
        image = crop(frame, detection.box)
        needs_text = any("vocabulary" in s or "buttons" in s or "flag" in s for s in specs.values())
        lines = self.reader.read(image) if needs_text else []
        texts = [line.text for line in lines]
        data: dict[str, Any] = {}
        scores: dict[str, float] = {}
        complete = True
        for name, spec in specs.items():
            style = str(spec.get("format", "as_written"))
            if "vocabulary" in spec:
                source = text_after(texts, str(spec["after"])) if "after" in spec else texts
                words = self.profile.vocabulary(str(spec["vocabulary"]), map_name=(context or {}).get("map_name"))
                match = best_match(source, words, cutoff=self.cutoff)
                if match is None:
                    complete = False
                    continue
                data[name] = format_value(match.value, style)
                scores[name] = match.score / 100.0
            elif "checkbox" in spec:
                region = crop(frame, self.profile.region(str(spec["checkbox"])), pad=0.0)
                data[name] = str(spec["ticked"] if checkbox_ticked(region) else spec["empty"])
            elif "buttons" in spec:
                labels = [str(label) for label in spec["buttons"]]
                chosen = highlighted_button(image, lines, labels)
                if chosen is None:
                    complete = False
                    continue
                data[name] = format_value(chosen, style)
            elif "flag" in spec:
                data[name] = contains(texts, str(spec["flag"]))
        return Reading(data=data, complete=complete, texts=tuple(texts), scores=scores)
