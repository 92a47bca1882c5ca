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
from detection.pipeline.schema import format_value
from detection.pipeline.text import TextLine, TextReader, best_match, contains, normalise, text_after
from detection.pipeline.types import Box, Detection, Frame


# Longest side a whole frame is read at: 1080p titles keep 15+ px letters, one read costs ~0.3 s.
WHOLE_FRAME_SIDE = 1280


@dataclass(frozen=True)
class Reading:
    data: dict[str, Any]
    complete: bool
    texts: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)


def crop(frame: Frame, box: Box, *, pad: float = 0.01) -> np.ndarray:
    padded = Box(box.x0 - pad, box.y0 - pad, box.x1 + pad, box.y1 + pad)
    image = frame.full
    x0, y0, x1, y1 = padded.pixels(int(image.shape[1]), int(image.shape[0]))
    return image[y0:y1, x0:x1]


def _find_square(
    grey: np.ndarray, min_side: float, max_side: float, centre_y: float | None = None
) -> tuple[int, int, int, int] | None:
    """A square outline of a plausible size: level with `centre_y` and leftmost when given, else the largest."""
    edges = cv2.Canny(grey, 30, 90)
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    best: tuple[int, int, int, int] | None = None
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if not (min_side <= h <= max_side and min_side <= w <= max_side and 0.8 <= w / h <= 1.25):
            continue
        if centre_y is not None and abs(y + h / 2 - centre_y) > 0.25 * h:
            continue
        if best is None:
            best = (x, y, w, h)
        elif centre_y is not None:
            # Leftmost wins (the box precedes its label); at the same place the outer edge wins.
            if x < best[0] - 2 or (abs(x - best[0]) <= 2 and w * h > best[2] * best[3]):
                best = (x, y, w, h)
        elif w * h > best[2] * best[3]:
            best = (x, y, w, h)
    return best


def stretched(image: np.ndarray) -> np.ndarray:
    """Grey levels stretched to the full range: dark text on a dark panel becomes readable."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    low, high = np.percentile(grey, (1, 99))
    if high - low < 1:
        return image
    scaled = np.clip((grey.astype(np.float32) - low) * (255.0 / (high - low)), 0, 255).astype(np.uint8)
    return cv2.cvtColor(scaled, cv2.COLOR_GRAY2BGR)


def checkbox_ticked(image: np.ndarray, label: TextLine | None = None) -> bool:
    """A ticked box has ink (a tick) on its fill; an empty one is one flat colour inside.

    The box sits just left of its label when OCR found the label; otherwise it is the largest
    square outline of a plausible size. Its inner half is compared with its own median colour,
    so neither the fill nor the backdrop colour matters.
    """
    if image.ndim != 3 or image.shape[0] < 4 or image.shape[1] < 4:
        return False
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    height = image.shape[0]
    offset_x = offset_y = 0
    if label is not None:
        x0, y0, x1, y1 = label.box
        text_h = max(4, y1 - y0)
        offset_x, offset_y = max(0, x0 - int(3.0 * text_h)), max(0, y0 - text_h)
        # OCR sometimes reads the box as a leading blank of its label: search under the label too.
        grey = grey[offset_y : y1 + text_h, offset_x:x1]
        square = _find_square(grey, 0.5 * text_h, 1.3 * text_h, centre_y=(y0 + y1) / 2 - offset_y)
    else:
        square = _find_square(grey, 0.12 * height, 0.6 * height)
    if square is None:
        return False
    x, y, w, h = square
    x, y = x + offset_x, y + offset_y
    inner = image[y + h // 4 : y + h - h // 4, x + w // 4 : x + w - w // 4].reshape(-1, 3)
    if inner.size == 0:
        return False
    fill = np.median(inner, axis=0)
    ink = np.abs(inner.astype(np.int16) - fill).max(axis=1) > 40
    return float(ink.mean()) > 0.04


def highlighted_button(image: np.ndarray, lines: list[TextLine], labels: list[str]) -> str | None:
    """The button whose fill stands out most from the panel's median colour."""
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
                # OCR's box hugs the button's label; its middle is the button's fill (and the letters).
                dx, dy = (x1 - x0) // 10, (y1 - y0) // 10
                areas[label] = (x0 + dx, y0 + dy, max(x0 + dx + 1, x1 - dx), max(y0 + dy + 1, y1 - dy))
                break
    if len(areas) < len(labels):
        # Buttons not read: assume they sit side by side in the lower part of the panel, in label order.
        step = width // len(labels)
        areas = {label: (i * step, height // 2, (i + 1) * step, height) for i, label in enumerate(labels)}

    def stand_out(area: tuple[int, int, int, int]) -> float:
        x0, y0, x1, y1 = area
        patch = image[y0:y1, x0:x1].reshape(-1, 3).astype(np.float32)
        # The median is the button's fill: the letters' strokes are a minority of the pixels.
        return float(np.abs(np.median(patch, axis=0) - panel).sum()) if patch.size else 0.0

    scored = sorted(((stand_out(area), -i, label) for i, (label, area) in enumerate(areas.items())), reverse=True)
    return scored[0][2] if scored else None


class FieldReader:
    def __init__(self, profile: GameProfile, reader: TextReader) -> None:
        self.profile = profile
        self.reader = reader
        self.cutoff = float(profile.ocr.fuzzy_cutoff)

    def classes_by_text(self, frame: Frame, detection: Detection, *, among: tuple[str, ...]) -> list[str]:
        """The classes among `among` whose keywords the box shows (a low-contrast box is read twice).

        The spec fixes where a screen's key element lies, not its title: a game may print
        `SELECT LOCATION` anywhere. When the box shows no screen's words, the whole frame is read."""
        image = crop(frame, detection.box)
        for attempt, side in ((image, None), (stretched(image), None), (frame.full, WHOLE_FRAME_SIDE)):
            texts = [line.text for line in self.reader.read(attempt, max_side=side)]
            found = [c for c in among if any(contains(texts, w, cutoff=85) for w in self.profile.keywords.get(c, ()))]
            if found:
                return found
        return []

    def fields_for(self, label: str) -> dict[str, dict[str, Any]]:
        return self.profile.ocr.fields.get(label) or {}

    def read(self, frame: Frame, detection: Detection, *, context: dict[str, Any] | None = None) -> Reading:
        specs = self.fields_for(detection.label)
        if not specs:
            return Reading(data={}, complete=True)
        image = crop(frame, detection.box)
        needs_text = any("vocabulary" in s or "buttons" in s or "flag" in s for s in specs.values())
        lines = self.reader.read(image) if needs_text else []
        reading = self._fields(frame, detection, specs, image, lines, context)
        if reading.complete or not needs_text:
            return reading
        # Low-contrast styles: one more try on a contrast-stretched copy, keeping what was read.
        retry = self._fields(frame, detection, specs, image, self.reader.read(stretched(image)), context)
        return Reading(
            data={**retry.data, **reading.data},
            complete=retry.complete or all(k in {**retry.data, **reading.data} for k in specs),
            texts=reading.texts + retry.texts,
            scores={**retry.scores, **reading.scores},
        )

    def _fields(
        self,
        frame: Frame,
        detection: Detection,
        specs: dict[str, dict[str, Any]],
        image: np.ndarray,
        lines: list[TextLine],
        context: dict[str, Any] | None,
    ) -> Reading:
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
                key = normalise(str(spec.get("label", "")))
                label = next((line for line in self.reader.read(region) if key and normalise(line.text) == key), None)
                data[name] = str(spec["ticked"] if checkbox_ticked(region, label) else spec["empty"])
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
