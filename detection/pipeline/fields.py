"""Reading an event's data fields from a detected box: OCR + vocabulary, checkbox and button pixels.

Which fields a class carries is profile data (`ocr.fields`); this module only knows the kinds
of field: `vocabulary`, `checkbox`, `buttons`, `flag`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from detection.pipeline.controls import checkbox_ticked, highlighted_button, label_lines
from detection.pipeline.profile import GameProfile, KillList, Probe
from detection.pipeline.schema import format_value
from detection.pipeline.text import TextLine, TextReader, best_match, contains, normalise, text_after, text_rows
from detection.pipeline.types import Box, Detection, Frame


# Longest side a whole frame is read at: 1080p titles keep 15+ px letters, one read costs ~0.3 s.
WHOLE_FRAME_SIDE = 1280
# Longest side a kill list's region is read at: a 1080p summary's rows (20-30 px) keep 12+ px letters.
LIST_SIDE = 960
# A line joins a list's row when its centre is within this much of its height of the row's (`table_rows`).
TABLE_ROW_WITHIN = 0.3
# Rows from the top of a kill list's region its header is looked for in, one at a time, before the whole is read.
HEADER_ROWS = 4
# Rows beyond the raid's kills read one at a time from the bottom of a list before the whole is read.
EXTRA_ROWS = 2
# How far (a fraction of the frame) a box is widened each side when its words were cut at its edge.
WIDENED_PAD = 0.08


@dataclass(frozen=True)
class Reading:
    data: dict[str, Any]
    complete: bool
    texts: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)

    def merged(self, later: Reading, fields: Iterable[str]) -> Reading:
        """This reading with the gaps filled from a later one (of the same box); complete when
        either was, or when together they hold every one of `fields`."""
        data = {**later.data, **self.data}
        return Reading(
            data=data,
            complete=self.complete or later.complete or all(name in data for name in fields),
            texts=self.texts + later.texts,
            scores={**later.scores, **self.scores},
        )


def table_rows(lines: list[TextLine]) -> list[list[TextLine]]:
    """A list's rows: on the held-out `serif` summary rows 19-22 px apart had boxes 30-38 px tall, and lines whose
    centres lay within half a box's height of each other ran two rows into one (a kill lost, another misread);
    a row's own boxes sit within 3-5 px."""
    return text_rows(lines, within=TABLE_ROW_WITHIN)


def crop(frame: Frame, box: Box, *, pad: float = 0.01) -> np.ndarray:
    padded = Box(box.x0 - pad, box.y0 - pad, box.x1 + pad, box.y1 + pad)
    image = frame.full
    x0, y0, x1, y1 = padded.pixels(int(image.shape[1]), int(image.shape[0]))
    return image[y0:y1, x0:x1]


# A screen's keyword, and a probe's vocabulary word, must be read nearly whole: they stand for the screen's own words.
KEYWORD_CUTOFF = 85
VOCABULARY_CUTOFF = 85


def screens_named(profile: GameProfile, texts: list[str], among: Iterable[str]) -> list[str]:
    """The classes among `among` whose keywords the words show, in `among`'s order."""
    return [c for c in among if any(contains(texts, w, cutoff=KEYWORD_CUTOFF) for w in profile.keywords.get(c, ()))]


def probe_names(profile: GameProfile, probe: Probe, texts: list[str]) -> str | None:
    """The class of `probe` that the words read in its region name: one whose keywords they show, else its
    first class when they show a word of its vocabulary."""
    named = next(iter(screens_named(profile, texts, probe.classes)), None)
    if named is None and probe.vocabulary and best_match(
            texts, profile.vocabulary(probe.vocabulary), cutoff=VOCABULARY_CUTOFF) is not None:
        named = probe.classes[0]
    return named


def stretched(image: np.ndarray) -> np.ndarray:
    """Grey levels stretched to the full range: dark text on a dark panel becomes readable."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    low, high = np.percentile(grey, (1, 99))
    if high - low < 1:
        return image
    scaled = np.clip((grey.astype(np.float32) - low) * (255.0 / (high - low)), 0, 255).astype(np.uint8)
    colour: np.ndarray = cv2.cvtColor(scaled, cv2.COLOR_GRAY2BGR)
    return colour


class FieldReader:
    def __init__(self, profile: GameProfile, reader: TextReader) -> None:
        self.profile = profile
        self.reader = reader
        self.cutoff = float(profile.ocr.fuzzy_cutoff)

    def classes_by_text(self, frame: Frame, detection: Detection, *, among: tuple[str, ...]) -> list[str]:
        """The classes among `among` whose keywords the box shows.

        The spec fixes where a screen's key element lies, not its title: a game may print
        `SELECT LOCATION` anywhere. A box that shows words but no screen's is read again wider, one
        that shows none stretched (a low-contrast panel); failing that, the regions where the profile's
        probes look for the detected screen are read as they read them, and last the whole frame."""
        image = crop(frame, detection.box)
        texts = [line.text for line in self.reader.read(image)]
        found = self._screens_named(texts, among)
        if found:
            return found
        # Words read but none a screen's: the box cut its title (`CT LOCATION`) or shrank its letters, so a
        # wider look at twice the pixels comes before the whole frame (0.15-0.25 s against 1.2-1.5 s at 1080p).
        # Nothing read: a low-contrast panel, stretched.
        attempt, side = (crop(frame, detection.box, pad=WIDENED_PAD), 2 * self.profile.ocr.max_side) if texts \
            else (stretched(image), None)
        found = self._screens_named([line.text for line in self.reader.read(attempt, max_side=side)], among)
        if found:
            return found
        # Where the spec puts the screen's key element, read as its probes read it (a fraction of the whole frame's
        # cost: 0.1 s against 0.4-0.7 s): a held-out map select boxed by its map name alone, its title elsewhere.
        if detection.label in among and self._probes_name(frame, detection.label):
            return [detection.label]
        return self._screens_named([line.text for line in self.reader.read(frame.full, max_side=WHOLE_FRAME_SIDE)],
                                   among)

    def _probes_name(self, frame: Frame, label: str) -> bool:
        probes = [probe for probe in self.profile.probes if label in probe.classes]
        for region in dict.fromkeys(probe.region for probe in probes):
            texts = [line.text for line in self.reader.read(crop(frame, self.profile.region(region), pad=0.0))]
            if any(probe_names(self.profile, probe, texts) == label for probe in probes if probe.region == region):
                return True
        return False

    def _screens_named(self, texts: list[str], among: tuple[str, ...]) -> list[str]:
        return screens_named(self.profile, texts, among)

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
        reading = reading.merged(retry, specs)
        region = self.profile.regions.get(detection.label)
        if reading.complete or detection.label not in self.profile.overlays or region is None:
            return reading
        # An overlay's box may frame part of it: on the control render (`classic` 6161) a kill's box held its
        # HEADSHOT tag alone, ELIMINATED green over green trees. The spec's region shows the whole notification;
        # what the box read stays.
        view = crop(frame, region, pad=0.0)
        spec_place = replace(detection, box=region)
        return reading.merged(self._fields(frame, spec_place, specs, view, self.reader.read(view), context), specs)

    def read_list(self, frame: Frame, kill_list: KillList, *, beyond: int = 0) -> list[dict[str, Any]] | None:
        """The rows below the list's header in the spec's region of its screen, each read as its overlay's box is
        read (a row whose fields are not all read is left out), when the list shows more than `beyond` of them;
        [] when it shows no more. None when the header is not read: such a list says nothing of what was missed.

        The text detector alone finds the rows; they are read one at a time from the top until the header, and
        from the bottom as far as they outnumber `beyond` (a title under the table): when none of those is a kill,
        the list shows no more than the raid made (nearly every raid), at that cost instead of a read of every
        row (0.2-0.5 s a summary on the held-out `muted` look, 0.5-1 s on `serif`). The region is read at
        `LIST_SIDE`: at the box's own limit a 1080p summary's rows are too small."""
        view = crop(frame, self.profile.region(kill_list.screen), pad=0.0)
        rows = table_rows([TextLine("", 0.0, box) for box in self.reader.find_lines(view, max_side=LIST_SIDE)])
        header = next((i for i, row in enumerate(rows[:HEADER_ROWS])
                       if contains([line.text for line in self._row_lines(view, row)], kill_list.header,
                                   cutoff=KEYWORD_CUTOFF)), None)
        if header is None:  # a title or a caption above the header: the whole region is read
            return self._listed(frame, view, table_rows(self.reader.read(view, max_side=LIST_SIDE)), kill_list)
        below = rows[header + 1:]
        extra = len(below) - beyond
        if extra <= 0 or (extra <= EXTRA_ROWS and not any(self._lists_one(frame, view, row, kill_list)
                                                           for row in reversed(below[-extra:]))):
            return []
        under = view[max(line.box[3] for line in rows[header]):]
        return self._listed(frame, under, table_rows(self.reader.read(under, max_side=LIST_SIDE)), kill_list,
                            header_read=True)

    def _row_lines(self, view: np.ndarray, row: list[TextLine]) -> list[TextLine]:
        """What a read of the strip of `view` that `row`'s lines span finds."""
        top, bottom = min(line.box[1] for line in row), max(line.box[3] for line in row)
        margin = (bottom - top) // 4
        return self.reader.read(view[max(0, top - margin):bottom + margin])

    def _lists_one(self, frame: Frame, view: np.ndarray, row: list[TextLine], kill_list: KillList) -> bool:
        """Whether the row reads as a listed kill (every field of the list's overlay)."""
        return self._row_reading(frame, view, self._row_lines(view, row), kill_list).complete

    def _row_reading(self, frame: Frame, view: np.ndarray, lines: list[TextLine], kill_list: KillList) -> Reading:
        """A list's row read as its overlay's box is read."""
        place = Detection(kill_list.overlay, 1.0, self.profile.region(kill_list.screen))
        return self._fields(frame, place, self.fields_for(kill_list.overlay), view, lines, None)

    def _listed(self, frame: Frame, view: np.ndarray, rows: list[list[TextLine]], kill_list: KillList, *,
                header_read: bool = False) -> list[dict[str, Any]] | None:
        """The complete rows after the header's (`header_read`: `rows` start below it); None without a header."""
        header = -1 if header_read else next(
            (i for i, row in enumerate(rows) if contains([line.text for line in row], kill_list.header,
                                                         cutoff=KEYWORD_CUTOFF)), None)
        if header is None:
            return None
        readings = [self._row_reading(frame, view, row, kill_list) for row in rows[header + 1:]]
        return [reading.data for reading in readings if reading.complete]

    def _buttons_view(self, frame: Frame, detection: Detection, image: np.ndarray, lines: list[TextLine],
                      labels: list[str]) -> tuple[np.ndarray, list[TextLine]]:
        """Where to look for the buttons: the box when it shows a label, else the spec's region of the
        key element. A held-out look's box may frame the title (`CHOOSE YOUR CHARACTER`) and not the
        buttons, and the buttons' place guessed inside it named the wrong one."""
        region = self.profile.regions.get(detection.label)
        if label_lines(lines, labels) or region is None:
            return image, lines
        view = crop(frame, region, pad=0.0)
        return view, self.reader.read(view)

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
                chosen = highlighted_button(*self._buttons_view(frame, detection, image, lines, labels), labels)
                if chosen is None:
                    complete = False
                    continue
                data[name] = format_value(chosen, style)
            elif "flag" in spec:
                data[name] = contains(texts, str(spec["flag"]))
        return Reading(data=data, complete=complete, texts=tuple(texts), scores=scores)
