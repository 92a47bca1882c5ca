"""Reading UI controls from their pixels: is a checkbox ticked, which button is the chosen one.

Game builds draw these their own way: a tick, a cross or a filled square in a checkbox, or a
switch instead; the chosen button filled, framed in the accent colour, or lit up beside a dimmed
one. Each reader looks for what every such habit shares, never for one look's colours.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import cv2
import numpy as np
from rapidfuzz import fuzz

from detection.pipeline.text import TextLine, normalise

# A switch is about twice as wide as tall; a checkbox is square.
SWITCH_ASPECT = 1.4
LEADING_JUNK = re.compile(r"^[^A-Za-z0-9]+")
# How alike (rapidfuzz ratio) a misread button label must be to its label: one letter of three wrong.
LABEL_LIKENESS = 60


def _outlines(grey: np.ndarray) -> Sequence[np.ndarray]:
    """Every outline's contour. A light blur first: film grain on a busy backdrop must not join an
    outline to its surroundings."""
    contours, _ = cv2.findContours(cv2.Canny(cv2.GaussianBlur(grey, (3, 3), 0), 30, 90), cv2.RETR_LIST,
                                   cv2.CHAIN_APPROX_SIMPLE)
    return contours


def _find_control(
    grey: np.ndarray, min_side: float, max_side: float, *, centre_y: float | None = None, right_of: float | None = None
) -> tuple[int, int, int, int] | None:
    """A square or switch-shaped outline of a plausible height. Beside a label (`centre_y`, and
    `right_of`, where the label's words surely started): level with it, solid (a box or a pill,
    not a letter or a tick), the nearest that ends before the words; else the largest."""
    best: tuple[int, int, int, int] | None = None
    for contour in _outlines(grey):
        x, y, w, h = cv2.boundingRect(contour)
        if not (min_side <= h <= max_side and 0.8 <= w / h <= 2.3):
            continue
        if centre_y is not None and abs(y + h / 2 - centre_y) > 0.25 * h:
            continue
        if right_of is not None and x + w > right_of:
            continue
        hull = cv2.contourArea(cv2.convexHull(contour))
        if hull < 0.75 * w * h or cv2.contourArea(contour) < 0.9 * hull:
            continue
        if best is None:
            best = (x, y, w, h)
        elif centre_y is not None:
            # Nearest the label wins; ending at the same place, the outer edge wins.
            right, best_right = x + w, best[0] + best[2]
            if right > best_right + 2 or (abs(right - best_right) <= 2 and w * h > best[2] * best[3]):
                best = (x, y, w, h)
        elif w * h > best[2] * best[3]:
            best = (x, y, w, h)
    return best


def _deviation(pixels: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per pixel, the largest channel difference from `reference`."""
    deviation: np.ndarray = np.abs(pixels.reshape(-1, 3).astype(np.int16) - reference.astype(np.int16)).max(axis=1)
    return deviation


def _dominant(pixels: np.ndarray) -> np.ndarray:
    """The most common colour (quantised to 32 levels a channel), at full precision."""
    flat = pixels.reshape(-1, 3)
    bins = (flat // 32).astype(np.int32)
    keys = bins[:, 0] * 64 + bins[:, 1] * 8 + bins[:, 2]
    common = np.bincount(keys).argmax()
    return np.asarray(np.median(flat[keys == common], axis=0))


def checkbox_ticked(image: np.ndarray, label: TextLine | None = None) -> bool:
    """Ticked: a checkbox holds something beside its own background (a tick, a cross, a filled
    square); a switch is on when its knob sits at the right end.

    The control sits just left of its label when OCR found the label; otherwise it is the largest
    control-shaped outline of a plausible size."""
    if image.ndim != 3 or image.shape[0] < 4 or image.shape[1] < 4:
        return False
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    offset_x = offset_y = 0
    if label is not None:
        x0, y0, x1, y1 = label.box
        text_h = max(4, y1 - y0)
        # OCR's line may take in the control (` PVE`, `□ PVE`, or a wider box): the words surely
        # started by the time their last two letters' width is left.
        starts = x1 - (x1 - x0) * 2 / max(3, len(LEADING_JUNK.sub("", label.text.rstrip())) + 1)
        offset_x, offset_y = max(0, x0 - int(4.0 * text_h)), max(0, y0 - text_h)
        grey = grey[offset_y : y1 + text_h, offset_x:x1]
        found = _find_control(grey, 0.5 * text_h, 1.6 * text_h, centre_y=(y0 + y1) / 2 - offset_y,
                              right_of=starts - offset_x)
    else:
        found = _find_control(grey, 0.12 * image.shape[0], 0.6 * image.shape[0])
    if found is None:
        return False
    x, y, w, h = found
    control = image[y + offset_y : y + offset_y + h, x + offset_x : x + offset_x + w]
    if w / h >= SWITCH_ASPECT:
        return _switch_on(control)
    # Inside the frame: an empty box is one colour (whatever the game fills it with); a tick or a
    # cross is ink on it, a filled square another colour within it.
    inside = control[int(0.18 * h) : h - int(0.18 * h), int(0.18 * w) : w - int(0.18 * w)]
    if inside.size == 0:
        return False
    ink = _deviation(inside, _dominant(inside)) > 40
    return float(ink.mean()) > 0.04


def _switch_on(control: np.ndarray) -> bool:
    """On: the knob at the right end of the track. The knob is what differs from the track, the
    track being most of the switch."""
    h, w = control.shape[:2]
    inside = control[h // 4 : h - h // 4, w // 10 : w - w // 10]
    knob = (_deviation(inside, _dominant(inside)) > 40).reshape(inside.shape[:2])
    columns = np.nonzero(knob.any(axis=0))[0]
    return bool(columns.size) and float(columns.mean()) > inside.shape[1] / 2


def highlighted_button(image: np.ndarray, lines: list[TextLine], labels: list[str]) -> str | None:
    """The button that stands out most from the panel: filled, framed or lit, its label in the
    accent colour. Each button's area reaches past its label to take in its frame."""
    if image.size == 0:
        return None
    panel = np.median(image.reshape(-1, 3), axis=0)
    height, width = image.shape[:2]
    areas: dict[str, tuple[int, int, int, int]] = {}
    for label, line in label_lines(lines, labels).items():
        x0, y0, x1, y1 = line.box
        margin = max(2, (y1 - y0) // 2)
        areas[label] = (max(0, x0 - margin), max(0, y0 - margin), min(width, x1 + margin), min(height, y1 + margin))
    missing = [label for label in labels if label not in areas]
    if len(missing) == 1 and areas:
        # A label OCR could not read (dark letters on a bright fill): its button is the other
        # box on the row of the buttons that were read.
        other = _row_neighbour(image, list(areas.values()))
        if other is not None:
            areas[missing[0]] = other
    if len(areas) < len(labels):
        # Buttons not read: assume they sit side by side in the lower part of the panel, in label order.
        step = width // len(labels)
        areas = {label: (i * step, height // 2, (i + 1) * step, height) for i, label in enumerate(labels)}

    def stand_out(area: tuple[int, int, int, int]) -> float:
        x0, y0, x1, y1 = area
        patch = image[y0:y1, x0:x1]
        if patch.size == 0:
            return 0.0
        hsv = cv2.cvtColor(patch, cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.float32) / 255.0
        colourful = float((hsv[:, 1] * hsv[:, 2]).mean())
        return float(_deviation(patch, panel).mean()) / 255.0 + colourful

    scored = sorted(((stand_out(area), -i, label) for i, (label, area) in enumerate(areas.items())), reverse=True)
    return scored[0][2] if scored else None


def label_lines(lines: list[TextLine], labels: list[str]) -> dict[str, TextLine]:
    """The line that reads each label: itself (or it with a character or two more), else the line most
    like it and like no other label better (`PMG` is PMC: a serif C read as G)."""
    keys = {label: normalise(label) for label in labels}
    found: dict[str, TextLine] = {}
    for label, key in keys.items():
        exact = next((line for line in lines if normalise(line.text) == key
                      or (key in normalise(line.text) and len(normalise(line.text)) <= len(key) + 2)), None)
        if exact is not None:
            found[label] = exact
    taken = {id(line) for line in found.values()}
    for label, key in keys.items():
        if label in found:
            continue
        likeness = [(fuzz.ratio(key, normalise(line.text)), line) for line in lines if id(line) not in taken]
        alike = [(score, line) for score, line in likeness
                 if score >= LABEL_LIKENESS and all(fuzz.ratio(other, normalise(line.text)) < score
                                                    for name, other in keys.items() if name != label)]
        if alike:
            best = max(alike, key=lambda pair: pair[0])[1]
            found[label] = best
            taken.add(id(best))
    for label, key in keys.items():
        part = None if label in found else next(
            (part for line in lines if id(line) not in taken and (part := _word_part(line, key)) is not None), None)
        if part is not None:
            found[label] = part
    return found


def _word_part(line: TextLine, key: str) -> TextLine | None:
    """The part of a line that is the word `key`, its box the share of the line's width its letters take:
    the text detector ran a title and the button beside it into one line (`CHOOSE YOUR CHARACTER PMC`)."""
    text = line.text
    words = [(match.start(), match.end()) for match in re.finditer(r"\S+", text)]
    hit = next(((start, end) for start, end in words if normalise(text[start:end]) == key), None)
    if hit is None or len(words) < 2:
        return None
    x0, y0, x1, y1 = line.box
    share = (x1 - x0) / max(1, len(text))
    return TextLine(text[hit[0]:hit[1]], line.score,
                    (x0 + int(hit[0] * share), y0, x0 + int(round(hit[1] * share)), y1))


def _row_neighbour(image: np.ndarray, known: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int] | None:
    """The nearest button-shaped box level with the `known` buttons' areas and clear of them."""
    x0, y0, x1, y1 = known[0]
    row_h, centre = y1 - y0, (y0 + y1) / 2
    best: tuple[float, tuple[int, int, int, int]] | None = None
    for contour in _outlines(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)):
        x, y, w, h = cv2.boundingRect(contour)
        if not (0.5 * row_h <= h <= 1.6 * row_h and w >= h and abs(y + h / 2 - centre) <= 0.3 * row_h):
            continue
        if any(x < kx1 and kx0 < x + w for kx0, _, kx1, _ in known):
            continue
        distance = abs(x + w / 2 - (x0 + x1) / 2)
        if best is None or distance < best[0]:
            best = (distance, (x, y, x + w, y + h))
    return None if best is None else best[1]
