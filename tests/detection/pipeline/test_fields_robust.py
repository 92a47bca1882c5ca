"""Reading a screen the way another game build draws it: titles away from the key element."""
from __future__ import annotations

import numpy as np
import pytest

from detection.pipeline.fields import WHOLE_FRAME_SIDE, FieldReader
from detection.pipeline.profile import load_profile
from detection.pipeline.text import TextLine, TextReader
from detection.pipeline.types import Box, Detection, Frame

pytestmark = pytest.mark.pure
PROFILE = load_profile("demo")


class TitleElsewhereReader(TextReader):
    """The key element's box shows the map name only; the title is printed elsewhere on the frame."""

    def __init__(self) -> None:
        self.sides: list[int | None] = []

    def read(self, image: np.ndarray, *, max_side: int | None = None) -> list[TextLine]:
        self.sides.append(max_side)
        whole = image.shape[:2] == (720, 1280)
        return [TextLine(text, 0.9, (0, 0, 10, 10)) for text in (["SELECT LOCATION", "WOODS"] if whole else ["WOODS"])]


def frame() -> Frame:
    small = np.zeros((360, 640, 3), np.uint8)
    return Frame(small, 0, 0.0, full_image=lambda: np.zeros((720, 1280, 3), np.uint8))


def test_a_title_outside_the_box_still_proves_the_screen() -> None:
    class NoMapName(TitleElsewhereReader):
        """Shows a button's word everywhere but on the whole frame, which shows the title."""

        def read(self, image: np.ndarray, *, max_side: int | None = None) -> list[TextLine]:
            self.sides.append(max_side)
            text = "SELECT LOCATION" if image.shape[:2] == (720, 1280) else "NEXT"
            return [TextLine(text, 0.9, (0, 0, 10, 10))]

    reader = NoMapName()
    box = Detection("map_select", 0.3, Box(0.25, 0.30, 0.75, 0.50))
    assert FieldReader(PROFILE, reader).classes_by_text(frame(), box, among=PROFILE.verify) == ["map_select"]
    # The box first, then (it showed words, none a screen's) wider at twice the pixels, then the probe's region
    # (no map name there either), the whole frame last.
    assert reader.sides == [None, 2 * PROFILE.ocr.max_side, None, WHOLE_FRAME_SIDE]


def test_a_map_name_where_the_spec_puts_it_proves_the_map_select_without_reading_the_whole_frame() -> None:
    """Held-out `serif` 5150: the map select's box framed the chosen map alone and its title sat elsewhere;
    each verification read the whole frame (0.4-0.7 s) where the map select's probe region (0.05-0.1 s) shows
    the map name, which the probe in `pre_raid` already takes as the map select."""
    reader = TitleElsewhereReader()
    box = Detection("map_select", 0.3, Box(0.30, 0.33, 0.60, 0.40))
    assert FieldReader(PROFILE, reader).classes_by_text(frame(), box, among=PROFILE.verify) == ["map_select"]
    assert reader.sides == [None, 2 * PROFILE.ocr.max_side, None]
    # The region reads only for the screen the detector named: a stash's box goes on to the whole frame.
    reader.sides.clear()
    stash = Detection("stash_screen", 0.3, Box(0.30, 0.33, 0.60, 0.40))
    assert FieldReader(PROFILE, reader).classes_by_text(frame(), stash, among=PROFILE.verify) == ["map_select"]
    assert reader.sides[-1] == WHOLE_FRAME_SIDE


def test_the_box_alone_is_read_when_it_shows_the_words() -> None:
    class TitleInBox(TitleElsewhereReader):
        def read(self, image: np.ndarray, *, max_side: int | None = None) -> list[TextLine]:
            self.sides.append(max_side)
            return [TextLine("SELECT LOCATION", 0.9, (0, 0, 10, 10))]

    reader = TitleInBox()
    box = Detection("map_select", 0.3, Box(0.25, 0.30, 0.75, 0.50))
    assert FieldReader(PROFILE, reader).classes_by_text(frame(), box, among=PROFILE.verify) == ["map_select"]
    assert reader.sides == [None]


class KillFeedReader(TextReader):
    """The spec's kill-feed region shows the whole notification; any other crop its HEADSHOT tag alone."""

    def __init__(self, region_shape: tuple[int, int]) -> None:
        self.region_shape = region_shape

    def read(self, image: np.ndarray, *, max_side: int | None = None) -> list[TextLine]:
        whole = image.shape[:2] == self.region_shape
        words = ["ELIMINATED", "RAIDER  SAIGA-12", "HEADSHOT"] if whole else ["HEADSHOT"]
        return [TextLine(word, 0.9, (0, 20 * i, 100, 20 * i + 15)) for i, word in enumerate(words)]


def test_a_kill_boxed_by_its_headshot_tag_alone_is_read_whole_where_the_spec_puts_the_kill_feed() -> None:
    """The control render (`classic` 6161, 10 min 1080p): ELIMINATED green over green trees, the detector's box
    around the HEADSHOT tag only; the kill was dropped for want of a name. The spec's region reads it whole."""
    region = PROFILE.region("kill_notification")
    shape = (round(region.y1 * 720) - int(region.y0 * 720), round(region.x1 * 1280) - int(region.x0 * 1280))
    tag = Detection("kill_notification", 0.2, Box(0.84, 0.20, 0.95, 0.26))
    reading = FieldReader(PROFILE, KillFeedReader(shape)).read(frame(), tag)
    assert reading.complete and reading.data == {"enemy_type": "raider", "weapon": "SAIGA-12", "headshot": True}
    # A screen's box is not read again elsewhere: only overlays sit where the spec fixes them whole.
    survived = Detection("survived_screen", 0.2, Box(0.30, 0.30, 0.40, 0.35))
    assert not FieldReader(PROFILE, KillFeedReader(shape)).read(frame(), survived).complete
