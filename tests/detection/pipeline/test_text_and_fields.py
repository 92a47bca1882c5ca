from __future__ import annotations

import cv2
import numpy as np
import pytest

from detection.pipeline.controls import checkbox_ticked, highlighted_button, label_lines
from detection.pipeline.fields import FieldReader
from detection.pipeline.profile import load_profile
from detection.pipeline.text import (
    MIN_DETECTOR_HEIGHT,
    RapidTextReader,
    TextLine,
    TextReader,
    best_match,
    contains,
    padded_for_detector,
    text_after,
)
from detection.pipeline.types import Box, Detection, Frame
from tests.detection.pipeline.synthetic import Shot, draw

pytestmark = pytest.mark.pure
PROFILE = load_profile("demo")
WEAPONS = PROFILE.vocabulary("weapons")


@pytest.mark.parametrize(
    ("lines", "vocabulary", "expected"),
    [
        (["RAIDER  AK-74M"], WEAPONS, "AK-74M"),
        (["RAIDER AK74M"], WEAPONS, "AK-74M"),  # OCR dropped the hyphen
        (["SCAVMOSIN"], WEAPONS, "MOSIN"),  # OCR ran two words together
        (["HK4I6A5"], WEAPONS, "HK 416A5"),
        (["ELIMINATED", "R0GUE  SVDS"], PROFILE.vocabulary("enemy_types"), "ROGUE"),
        (["STREETS OF TARKOV"], PROFILE.vocabulary("maps"), "STREETS OF TARKOV"),
        (["SELECT LOCATION", "STREETS", "OF TARKOV"], PROFILE.vocabulary("maps"), "STREETS OF TARKOV"),
    ],
)
def test_fuzzy_matching_tolerates_ocr_errors(lines: list[str], vocabulary: list[str], expected: str) -> None:
    match = best_match(lines, vocabulary, cutoff=70)
    assert match is not None and match.value == expected


def test_unrelated_text_matches_nothing() -> None:
    assert best_match(["SEARCHING FOR MATCH", "04:12"], WEAPONS, cutoff=70) is None


def test_extracts_of_the_chosen_map_come_first() -> None:
    assert PROFILE.vocabulary("extracts", map_name="woods")[:4] == ["OUTSKIRTS", "UN ROADBLOCK", "BRIDGE V-EX", "SOUTH V-EX"]


def test_text_after_a_label_and_flags() -> None:
    assert text_after(["KILLED IN ACTION", "KILLED BY: CULTIST"], "KILLED BY") == ["CULTIST"]
    assert contains(["ELIMINATED", "HEADSH0T"], "HEADSHOT")
    assert not contains(["ELIMINATED"], "HEADSHOT")


def region(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    h, w = image.shape[:2]
    return image[int(box[1] * h):int(box[3] * h), int(box[0] * w):int(box[2] * w)]


@pytest.mark.parametrize("ticked", [True, False])
def test_checkbox_is_read_from_its_pixels(ticked: bool) -> None:
    image = draw(Shot("map_select", 1, tick=ticked), 1280, 720)
    assert checkbox_ticked(region(image, (0.40, 0.70, 0.60, 0.80))) is ticked


@pytest.mark.parametrize("chosen", ["PMC", "SCAV"])
def test_the_filled_button_is_the_choice(chosen: str) -> None:
    image = region(draw(Shot("character_select", 1, chosen=chosen), 1280, 720), (0.25, 0.35, 0.75, 0.65))
    h, w = image.shape[:2]
    # OCR boxes around the labels, as the reader would report them.
    lines = [TextLine("PMC", 0.99, (int(0.14 * w), int(0.5 * h), int(0.4 * w), int(0.82 * h))),
             TextLine("SCAV", 0.99, (int(0.54 * w), int(0.5 * h), int(0.8 * w), int(0.82 * h)))]
    assert highlighted_button(image, lines, ["PMC", "SCAV"]) == chosen
    # A serif C read as G: `PMG` is still the PMC button, not a missing one guessed from the row.
    misread = [TextLine("PMG", 0.9, lines[0].box), lines[1]]
    assert highlighted_button(image, misread, ["PMC", "SCAV"]) == chosen


@pytest.mark.parametrize("chosen", ["PMC", "SCAV"])
def test_a_button_run_into_the_title_beside_it_is_still_a_button(chosen: str) -> None:
    """A held-out layout put the title on the buttons' row, a few pixels from PMC, and the text detector read
    `CHOOSE YOUR CHARACTER PMC` as one line: PMC's button is that line's last word's share of its box."""
    image = region(draw(Shot("character_select", 1, chosen=chosen), 1280, 720), (0.25, 0.35, 0.75, 0.65))
    h, w = image.shape[:2]
    pmc, scav = (int(0.14 * w), int(0.5 * h), int(0.4 * w), int(0.82 * h)), (int(0.54 * w), int(0.5 * h), int(0.8 * w), int(0.82 * h))
    title = "CHOOSE YOUR CHARACTER "
    # The title's letters run left of the button, as wide each as PMC's: the merged box ends where PMC's does.
    start = pmc[0] - len(title) * (pmc[2] - pmc[0]) // 3
    merged = [TextLine(title + "PMC", 0.95, (start, pmc[1], pmc[2], pmc[3])), TextLine("SCAV", 0.99, scav)]
    assert label_lines(merged, ["PMC", "SCAV"])["PMC"].text == "PMC"
    assert abs(label_lines(merged, ["PMC", "SCAV"])["PMC"].box[0] - pmc[0]) <= 2
    assert highlighted_button(image, merged, ["PMC", "SCAV"]) == chosen
    # A word only like a label inside a longer line is not taken for it: `PMCS` is no PMC button.
    assert "PMC" not in label_lines([TextLine("STASH PMCS", 0.9, pmc), TextLine("SCAV", 0.99, scav)], ["PMC", "SCAV"])


class ScriptedReader(TextReader):
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def read(self, image: np.ndarray, *, max_side: int | None = None) -> list[TextLine]:
        return [TextLine(text, 0.9, (0, 0, 10, 10)) for text in self.lines]


def test_field_reader_formats_values_for_the_event_log() -> None:
    frame = Frame(np.zeros((360, 640, 3), np.uint8), 0, 0.0)
    reader = FieldReader(PROFILE, ScriptedReader(["EXFILTRATED AT: SMUGGLERS BOAT"]))
    reading = reader.read(frame, Detection("survived_screen", 0.9, Box(0.2, 0.3, 0.8, 0.7)), context={"map_name": "customs"})
    assert reading.complete and reading.data == {"extract_location": "smuggler's boat"}
    incomplete = FieldReader(PROFILE, ScriptedReader(["ELIMINATED"])).read(
        frame, Detection("kill_notification", 0.9, Box(0.55, 0.05, 0.98, 0.3)))
    assert not incomplete.complete and incomplete.data == {"headshot": False}


def test_rapidocr_reads_a_kill_notification_crop() -> None:
    image = draw(Shot("gameplay_hud", 1, kill=("CULTIST", "VECTOR .45", True)), 1280, 720)
    reader = FieldReader(PROFILE, RapidTextReader())
    reading = reader.read(Frame(image, 0, 0.0), Detection("kill_notification", 0.9, Box(0.55, 0.05, 0.98, 0.30)))
    assert reading.data == {"enemy_type": "cultist", "weapon": "VECTOR .45", "headshot": True}


def test_ocr_results_are_cached_by_crop_pixels() -> None:
    reader = RapidTextReader()
    crop = np.full((60, 200, 3), 30, np.uint8)
    cv2.putText(crop, "SCAV", (10, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
    first = reader.read(crop)
    noisy = np.clip(crop.astype(np.int16) + 2, 0, 255).astype(np.uint8)  # compression-level noise
    assert reader.read(noisy) == first
    assert reader.calls == 1 and reader.cache_hits == 1
    other = np.full((60, 200, 3), 30, np.uint8)
    cv2.putText(other, "BOSS", (10, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
    assert [line.text for line in reader.read(other)] == ["BOSS"] and reader.calls == 2


def test_kill_notifications_with_other_words_are_read_again() -> None:
    reader = FieldReader(PROFILE, RapidTextReader())
    box = Detection("kill_notification", 0.9, Box(0.55, 0.05, 0.98, 0.30))
    first = draw(Shot("gameplay_hud", 1, kill=("RAIDER", "AK-74M", True)), 1280, 720)
    second = draw(Shot("gameplay_hud", 1, kill=("BOSS", "SVDS", False)), 1280, 720)
    assert reader.read(Frame(first, 0, 0.0), box).data["weapon"] == "AK-74M"
    assert reader.read(Frame(second, 0, 0.0), box).data == {"enemy_type": "boss", "weapon": "SVDS", "headshot": False}


def header_bar(width: int, height: int, words: list[tuple[str, int]]) -> np.ndarray:
    bar = np.full((height, width, 3), 24, np.uint8)
    for word, x in words:
        cv2.putText(bar, word, (x, height * 3 // 4), cv2.FONT_HERSHEY_SIMPLEX, height / 40, (235, 235, 235), 2)
    return bar


def test_a_wide_header_bar_is_read_where_its_words_are() -> None:
    """A 22:1 strip is detected at its own height (rapidocr's padding to a quarter of the width is off):
    every word, each line's box inside the strip's own pixels."""
    bar = header_bar(1920, 86, [("STASH", 300), ("TRADERS", 800), ("FLEA MARKET", 1300)])
    lines = RapidTextReader().read(bar)
    assert [line.text for line in lines] == ["STASH", "TRADERS", "FLEA MARKET"]
    assert all(0 <= line.box[1] < line.box[3] <= 88 for line in lines)  # the detector's box may overhang a pixel
    assert lines[0].box[0] == pytest.approx(300, abs=25)


def test_a_crop_too_short_for_the_detector_is_padded_and_its_boxes_put_back() -> None:
    tiny = header_bar(160, 20, [("SCAV", 10)])
    padded, top = padded_for_detector(tiny, 320)
    assert padded.shape[0] == MIN_DETECTOR_HEIGHT and top == (MIN_DETECTOR_HEIGHT - 20) // 2
    assert padded_for_detector(header_bar(1920, 86, []), 1600)[1] == 0  # 72 px high at 1600 wide: no padding
    shrunk, top = padded_for_detector(header_bar(1920, 40, []), 640)  # a third of 40 px is under the grid
    assert shrunk.shape[0] * 640 / 1920 >= MIN_DETECTOR_HEIGHT and top > 0
    lines = RapidTextReader().read(header_bar(240, 24, [("SCAV", 10)]))
    assert [line.text for line in lines] == ["SCAV"] and 0 <= lines[0].box[1] < lines[0].box[3] <= 26


def test_a_word_inside_a_longer_phrase_is_not_that_phrase() -> None:
    header = ["STASH", "CHARACTER", "TRADERS", "FLEA MARKET"]
    assert contains(header, "STASH", cutoff=85) and contains(header, "FLEA MARKET", cutoff=85)
    assert not contains(header, "CHOOSE YOUR CHARACTER", cutoff=85)
    assert contains(["CHOOSE YOUR", "CHARACTER"], "CHOOSE YOUR CHARACTER", cutoff=85)  # cut in two lines
    assert contains(["CHOOSE YOUR CHARACTE"], "CHOOSE YOUR CHARACTER", cutoff=85)  # a letter lost
    assert contains(["SELECT LOCATION INTERCHANGE"], "SELECT LOCATION", cutoff=85)
    assert not contains(["HEAD"], "HEADSHOT")


class CountingReader(RapidTextReader):
    def __init__(self) -> None:
        super().__init__()
        self.sides: list[int | None] = []

    def read(self, image: np.ndarray, *, max_side: int | None = None) -> list[TextLine]:
        self.sides.append(max_side)
        return super().read(image, max_side=max_side)


def test_a_title_cut_by_the_box_is_read_from_a_wider_look_before_the_whole_frame() -> None:
    image = np.full((720, 1280, 3), 28, np.uint8)
    cv2.putText(image, "SELECT LOCATION", (440, 300), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (230, 230, 230), 3)
    cv2.putText(image, "CUSTOMS", (560, 380), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (230, 230, 230), 2)
    reader = CountingReader()
    box = Detection("map_select", 0.4, Box(0.44, 0.36, 0.80, 0.56))  # starts inside the `SELE` of SELECT
    found = FieldReader(PROFILE, reader).classes_by_text(Frame(image, 0, 0.0), box, among=PROFILE.verify)
    assert found == ["map_select"]
    assert reader.sides == [None, 2 * PROFILE.ocr.max_side]  # the box, then wider: never the whole frame


@pytest.mark.parametrize("chosen", ["PMC", "SCAV"])
def test_buttons_outside_a_box_that_frames_the_title_are_read_where_the_spec_puts_them(chosen: str) -> None:
    image = np.full((720, 1280, 3), 45, np.uint8)
    cv2.putText(image, "CHOOSE YOUR CHARACTER", (400, 150), cv2.FONT_HERSHEY_SIMPLEX, 1.3, (220, 220, 220), 3)
    for label, x in (("SCAV", 480), ("PMC", 700)):
        fill = (150, 150, 150) if label == chosen else (60, 60, 60)
        cv2.rectangle(image, (x, 330), (x + 130, 390), fill, -1)
        cv2.putText(image, label, (x + 18, 372), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (240, 240, 240), 2)
    title_box = Detection("character_select", 0.2, Box(0.30, 0.15, 0.72, 0.25))  # what a held-out look's box framed
    reading = FieldReader(PROFILE, RapidTextReader()).read(Frame(image, 0, 0.0), title_box)
    assert reading.data == {"character_type": chosen.lower()}
