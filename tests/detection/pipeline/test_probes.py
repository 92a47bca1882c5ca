"""Text probes: the spec's region read for what the state waits for when the detector misses it."""
from __future__ import annotations

import numpy as np
import pytest

from detection.pipeline.probes import TextProbes
from detection.pipeline.profile import load_profile
from detection.pipeline.text import TextLine, TextReader
from detection.pipeline.timings import StageTimings
from detection.pipeline.types import Box, Detection, Frame

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


def test_the_probes_of_a_refused_screens_state_look_too() -> None:
    # The machine still in the raid (its end screens unseen) refused a character select: the map select after it,
    # which the detector misses, is read by pre_raid's probe, so its map reaches the next raid.
    frame = Frame(np.zeros((360, 640, 3), np.uint8), 0, 0.0)
    probes = TextProbes(PROFILE, WordsReader(["CUSTOMS"]), StageTimings())
    assert probes.look(frame, machine_state="raid_active", detections=[]) == []
    found = probes.look(Frame(frame.image, 30, 3.0), machine_state="raid_active", detections=[], refused_state="pre_raid")
    assert [d.label for d in found] == ["map_select"]


def test_a_find_held_between_reads_gives_way_to_the_next_screen_the_detector_sees() -> None:
    probes = TextProbes(PROFILE, WordsReader(["LIGHTHOUSE"]), StageTimings())
    blank = np.zeros((360, 640, 3), np.uint8)
    assert [d.label for d in probes.look(Frame(blank, 0, 10.0), machine_state="pre_raid", detections=[])] == ["map_select"]
    assert [d.label for d in probes.look(Frame(blank, 3, 10.3), machine_state="pre_raid", detections=[])] == ["map_select"]
    queue = Detection("queue_timer", 0.3, Box(0.3, 0.4, 0.7, 0.6))
    assert probes.look(Frame(blank, 6, 10.6), machine_state="pre_raid", detections=[queue]) == []


def test_a_find_held_between_reads_does_not_give_way_to_a_weak_box_over_it() -> None:
    """Held-out `muted` 5160, int8 detector: a HUD's and a map select's boxes at 0.15-0.17 over the character
    select dropped the stash probe's find between its reads, so the select never held three frames."""
    probes = TextProbes(PROFILE, WordsReader(["CHOOSE YOUR CHARACTER"]), StageTimings())
    blank = np.zeros((360, 640, 3), np.uint8)
    assert [d.label for d in probes.look(Frame(blank, 0, 7.0), machine_state="stash", detections=[])] == \
        ["character_select"]
    noise = [Detection("gameplay_hud", 0.17, Box(0.0, 0.0, 1.0, 1.0)), Detection("map_select", 0.16, Box(0.1, 0.1, 0.9, 0.7))]
    assert [d.label for d in probes.look(Frame(blank, 1, 7.1), machine_state="stash", detections=noise)] == \
        ["character_select"]


class LineFirstReader(WordsReader):
    """Says which read the probes asked for: only a wide line is worth recognising in the kill feed's corner."""

    def __init__(self, words: list[str]) -> None:
        super().__init__(words)
        self.asked: list[float] = []

    def read_if_line(self, image: np.ndarray, *, min_aspect: float) -> list[TextLine]:
        self.asked.append(min_aspect)
        return self.read(image)


def test_the_kill_probe_recognises_words_only_where_the_detector_finds_a_wide_line() -> None:
    reader = LineFirstReader(["ELIMINATED", "SCAV"])
    frame = Frame(np.zeros((360, 640, 3), np.uint8), 0, 0.0)
    found = TextProbes(PROFILE, reader, StageTimings()).look(frame, machine_state="raid_active", detections=[
        Detection("gameplay_hud", 0.9, Box(0.0, 0.85, 1.0, 1.0))])
    assert [d.label for d in found] == ["kill_notification"]
    assert reader.asked == [2.5]
    stash = LineFirstReader(["STASH"])
    assert [d.label for d in TextProbes(PROFILE, stash, StageTimings()).look(frame, machine_state="idle", detections=[])] \
        == ["stash_screen"]
    assert stash.asked == []  # a short title is read whole


def test_the_queue_probe_waits_until_the_detector_sees_no_select() -> None:
    frame = Frame(np.zeros((360, 640, 3), np.uint8), 0, 0.0)
    select = Detection("character_select", 0.4, Box(0.1, 0.1, 0.9, 0.7))
    reader = LineFirstReader(["SEARCHING FOR MATCH 00:14"])
    assert TextProbes(PROFILE, reader, StageTimings()).look(frame, machine_state="pre_raid", detections=[select]) == []
    assert reader.asked == []  # the selects' titles under the timer's region are not read every second
    found = TextProbes(PROFILE, reader, StageTimings()).look(frame, machine_state="pre_raid", detections=[])
    assert [d.label for d in found] == ["queue_timer"] and reader.asked == [6.0]


def test_nothing_is_read_in_a_stretch_too_short_to_confirm_a_find() -> None:
    """A two-pass glance at a keyframe holds two samples at 10 fps: a find there could never count three
    frames in a row, so the probe does not pay for the read. A span's last frames still reuse a find."""
    reader = CountingReader(["LIGHTHOUSE"])
    probes = TextProbes(PROFILE, reader, StageTimings(), detection_fps=10)
    blank = np.zeros((360, 640, 3), np.uint8)
    glance = (8.33, 8.53)
    assert probes.look(Frame(blank, 84, 8.4, stretch=glance), machine_state="pre_raid", detections=[]) == []
    assert reader.reads == 0
    span = (20.0, 21.5)
    found = [probes.look(Frame(blank, n, n / 10, stretch=span), machine_state="pre_raid", detections=[])
             for n in range(200, 215)]
    per_look = len([p for p in PROFILE.probes if p.state == "pre_raid"])
    # Read at 20.0 and 21.0 s (`probe_seconds`), the find reused between and to the span's end.
    assert all(d.label == "map_select" for f in found for d in f) and all(found) and reader.reads == 2 * per_look
    # Without a rate every stretch is read.
    unknown = TextProbes(PROFILE, reader, StageTimings())
    assert unknown.look(Frame(blank, 84, 8.4, stretch=glance), machine_state="pre_raid", detections=[])
    assert reader.reads == 3 * per_look


class CountingReader(WordsReader):
    def __init__(self, words: list[str]) -> None:
        super().__init__(words)
        self.reads = 0

    def read(self, image: np.ndarray, *, max_side: int | None = None) -> list[TextLine]:
        self.reads += 1
        return super().read(image, max_side=max_side)


@pytest.mark.parametrize(("state", "end_screen"), [("survived", "survived_screen"), ("killed_in_action", "death_screen"),
                                                    ("missing_in_action", "mia_screen")])
def test_the_summary_is_looked_for_while_the_end_screen_before_it_is_unsure(state: str, end_screen: str) -> None:
    """Control `classic` 6161: the post-raid summary boxed as the survived screen before it, at 0.24, was no change
    to the filter; the raid's kill list went unread and the transition unseen."""
    frame = Frame(np.zeros((360, 640, 3), np.uint8), 0, 0.0)

    def found(confidence: float) -> list[str]:
        seen = [Detection(end_screen, confidence, Box(0.2, 0.2, 0.8, 0.8))]
        probes = TextProbes(PROFILE, WordsReader(["RAID", "SUMMARY", "KILL LIST"]), StageTimings())
        return [d.label for d in probes.look(frame, machine_state=state, detections=seen)]

    assert found(0.24) == ["post_raid_screen"]
    assert found(0.9) == []  # a sure end screen is not read for what follows it
    assert look(["SURVIVED", "EXFILTRATED AT: CROSSROADS"], state) == []


def test_a_probe_waits_for_new_content_that_is_due_and_reads_again_when_it_comes() -> None:
    """Two-pass spans begin 0.3 s before a burst: read there, the kill probe saw the scene before the notification,
    and its next read came a second later (a kill the detector missed, 0.8 s late on a washed-out render)."""
    reader = CountingReader(["ELIMINATED", "BOSS", "VSS"])
    probes = TextProbes(PROFILE, reader, StageTimings())
    blank = np.zeros((360, 640, 3), np.uint8)
    hud = Detection("gameplay_hud", 0.8, Box(0.0, 0.85, 1.0, 1.0))  # the end screens' probe waits while it shows

    def kills(number: int, time: float, news_in: float | None) -> list[str]:
        frame = Frame(blank, number, time, stretch=(time - 0.3, time + 1.5), news_in=news_in)
        return [d.label for d in probes.look(frame, machine_state="raid_active", detections=[hud])]

    assert kills(0, 10.0, 0.3) == [] and reader.reads == 0  # the burst is due: nothing read, nothing held
    assert kills(3, 10.3, 0.0) == ["kill_notification"] and reader.reads == 1
    assert kills(4, 10.4, None) == ["kill_notification"] and reader.reads == 1  # held, as between any two reads
    assert kills(6, 10.6, 0.0) == ["kill_notification"] and reader.reads == 2  # more news: read at once
    assert kills(12, 11.6, None) == ["kill_notification"] and reader.reads == 3  # a second on: read as always
