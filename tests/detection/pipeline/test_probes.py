"""Text probes: the spec's region read for what the state waits for when the detector misses it."""
from __future__ import annotations

import numpy as np
import pytest

from detection.pipeline.probes import TextProbes
from detection.pipeline.profile import load_profile
from detection.pipeline.text import TextLine, TextReader
from detection.pipeline.timings import StageTimings
from detection.pipeline.types import Frame

pytestmark = pytest.mark.pure
PROFILE = load_profile("demo")


class WordsReader(TextReader):
    def __init__(self, words: list[str]) -> None:
        self.words = words

    def read(self, image: np.ndarray, *, max_side: int | None = None) -> list[TextLine]:
        return [TextLine(word, 0.9, (0, 0, 10, 10)) for word in self.words]


def look(words: list[str], state: str) -> list[str]:
    frame = Frame(np.zeros((360, 640, 3), np.uint8), 0, 0.0)
    found = TextProbes(PROFILE, WordsReader(words), StageTimings()).look(frame, machine_state=state, detections=[])
    return [d.label for d in found]


def test_a_map_name_where_the_map_select_shows_it_is_the_map_select_whose_title_sits_elsewhere() -> None:
    assert look(["LIGHTHOUSE"], "pre_raid") == ["map_select"]
    assert look(["SELECT LOCATION"], "pre_raid") == ["map_select"]  # its own words, as before
    assert look(["PMC", "SCAV"], "pre_raid") == []
    assert look(["LIGHTHOUSE"], "stash") == []  # only the probe of the state waiting for it reads maps
