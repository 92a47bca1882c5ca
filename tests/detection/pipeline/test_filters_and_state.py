from __future__ import annotations

import pytest

from detection.pipeline.profile import load_profile
from detection.pipeline.state import GameStateMachine
from detection.pipeline.temporal import Confirmed, FilterConfig, OverlayFilter, ScreenFilter
from detection.pipeline.types import Box, Detection, Observation

pytestmark = pytest.mark.pure
PROFILE = load_profile("demo")
FULL = Box(0, 0, 1, 1)
KILL_BOX = Box(0.6, 0.05, 0.95, 0.25)


def obs(index: int, screen: str | None, *overlays: Box, fps: float = 10.0) -> Observation:
    return Observation(
        frame_number=index * 6,
        video_time=index / fps,
        screen=Detection(screen, 0.9, FULL) if screen else None,
        overlays=tuple(Detection("kill_notification", 0.8, box) for box in overlays),
    )


def feed(filt: ScreenFilter | OverlayFilter, observations: list[Observation]) -> list[Confirmed]:
    return [c for o in observations for c in filt.update(o)]


def test_screen_needs_n_consecutive_frames_and_reports_the_first() -> None:
    screens = ScreenFilter(FilterConfig(confirmations=3))
    labels = ["stash_screen", "stash_screen", "map_select", "map_select", "map_select", "map_select"]
    confirmed = feed(screens, [obs(i, label) for i, label in enumerate(labels)])
    assert [c.label for c in confirmed] == ["map_select"]
    assert confirmed[0].first_time == pytest.approx(0.2) and confirmed[0].confirm_time == pytest.approx(0.4)


def test_a_flicker_shorter_than_n_is_ignored_and_empty_frames_do_not_break_a_run() -> None:
    screens = ScreenFilter(FilterConfig(confirmations=3), current="gameplay_hud")
    labels = ["gameplay_hud", "death_screen", "death_screen", "gameplay_hud", "survived_screen", None, "survived_screen",
              "survived_screen"]
    confirmed = feed(screens, [obs(i, label) for i, label in enumerate(labels)])
    assert [(c.label, c.first_frame) for c in confirmed] == [("survived_screen", 24)]


def test_live_mode_counts_time_not_frames() -> None:
    screens = ScreenFilter(FilterConfig(confirmations=3, window_seconds=0.3))
    # Frames arrive irregularly (a live source drops some): two frames 0.35 s apart are enough.
    confirmed = feed(screens, [obs(0, "stash_screen"), obs(7, "stash_screen", fps=20)])
    assert [c.label for c in confirmed] == ["stash_screen"]


def test_overlays_are_tracked_one_event_per_appearance() -> None:
    overlays = OverlayFilter(FilterConfig(confirmations=3, overlay_gap=2))
    other = Box(0.6, 0.3, 0.95, 0.5)
    frames = [obs(0, None, KILL_BOX), obs(1, None, KILL_BOX), obs(2, None, KILL_BOX, other), obs(3, None),  # missed
              obs(4, None, KILL_BOX, other), obs(5, None, other), obs(6, None), obs(7, None), obs(8, None),
              obs(9, None, KILL_BOX), obs(10, None, KILL_BOX), obs(11, None, KILL_BOX)]
    confirmed = feed(overlays, frames)
    # The first one, back at frame 4 after a missed frame, is a new candidate (track 3) that is not seen long
    # enough to count again.
    assert [(c.first_frame, c.track) for c in confirmed] == [(0, 1), (12, 2), (54, 4)]
    assert overlays.visible(4) is not None and overlays.visible(1) is None


def test_a_counted_overlay_back_after_a_gap_is_a_new_appearance() -> None:
    # Two notifications 0.2 s apart in one place (the demo draws kills that close): the second counts again,
    # from its own first frame; whether it names another kill is the readings' to say (`Assembler.repeat`).
    overlays = OverlayFilter(FilterConfig(confirmations=3, overlay_gap=2))
    frames = [obs(i, None, KILL_BOX) for i in range(5)] + [obs(5, None), obs(6, None)] + [
        obs(i, None, KILL_BOX) for i in range(7, 11)]
    confirmed = feed(overlays, frames)
    assert [(c.first_frame, c.track) for c in confirmed] == [(0, 1), (42, 2)]


def test_an_overlay_dropped_for_want_of_words_starts_over_where_the_detector_becomes_sure() -> None:
    """A weak box over the scene (0.18) is confirmed, read, and dropped: no words. The notification then slides
    into the same place with no gap (0.83): that is a new appearance, confirmed and read on its own frames. A
    track that was sure when it was dropped, or that was never dropped, is not started over."""
    def frame(index: int, confidence: float, box: Box = KILL_BOX) -> Observation:
        return Observation(index * 3, index / 10, None, (Detection("kill_notification", confidence, box),))

    overlays = OverlayFilter(FilterConfig(confirmations=3, overlay_sure=0.5))
    weak = feed(overlays, [frame(i, 0.18) for i in range(5)])
    assert [(c.first_frame, c.track) for c in weak] == [(0, 1)]
    overlays.doubt(1)
    wider = Box(0.5, 0.05, 0.97, 0.27)  # the notification's box, drawn round more than the blur's
    sure = feed(overlays, [frame(5, 0.18)] + [frame(i, 0.83, wider) for i in range(6, 12)])
    assert [(c.first_frame, c.first_time, c.track) for c in sure] == [(18, 0.6, 2)]
    assert sure[0].confidence == pytest.approx(0.83) and overlays.visible(1) is None and overlays.visible(2)

    overlays.doubt(2)  # sure and still wordless: reading it again would not help
    assert feed(overlays, [frame(i, 0.9, wider) for i in range(12, 20)]) == []
    undoubted = OverlayFilter(FilterConfig(confirmations=3, overlay_sure=0.5))
    assert len(feed(undoubted, [frame(i, 0.18) for i in range(5)] + [frame(i, 0.83) for i in range(5, 12)])) == 1


def confirmed(label: str, second: float) -> Confirmed:
    return Confirmed(label, int(second * 60), second, int(second * 60) + 12, second + 0.2, 0.9, Detection(label, 0.9, FULL))


def test_state_machine_walks_a_raid_and_carries_pre_raid_data() -> None:
    machine = GameStateMachine(PROFILE)
    drafts = []
    for second, (label, data) in enumerate([
        ("stash_screen", {}),
        ("character_select", {"character_type": "pmc"}),
        ("map_select", {"map_name": "woods", "game_mode": "pvp"}),
        ("queue_timer", {}),
        ("match_found", {}),
        ("loading_screen", {}),
        ("gameplay_hud", {}),
    ]):
        step = machine.on_screen(confirmed(label, float(second)), data)
        assert step.rejection is None
        drafts += step.drafts
    kill = machine.on_overlay(confirmed("kill_notification", 8.0))
    death = machine.on_screen(confirmed("death_screen", 9.0), {"killed_by": "boss"})
    assert [d.data["to_state"] for d in drafts if d.type == "state_transition"] == [
        "stash", "pre_raid", "queuing", "deploying", "raid_active"]
    raid_start = next(d for d in drafts if d.type == "raid_start")
    assert raid_start.data == {"map_name": "woods", "character_type": "pmc", "game_mode": "pvp"}
    assert raid_start.confirmed.first_time == 6.0
    assert kill.drafts[0].type == "kill"
    assert [d.type for d in death.drafts] == ["state_transition", "raid_end"]
    assert death.drafts[1].data == {"outcome": "killed"}


def test_impossible_transitions_and_kills_outside_a_raid_are_rejected() -> None:
    machine = GameStateMachine(PROFILE, snapshot={"state": "stash", "context": {}})
    step = machine.on_screen(confirmed("survived_screen", 5.0), {})
    assert step.drafts == [] and step.rejection is not None
    assert step.rejection.from_state == "stash" and step.rejection.observed_screen == "survived_screen"
    assert machine.state == "stash"
    kill = machine.on_overlay(confirmed("kill_notification", 6.0))
    assert kill.rejection is not None and "outside a raid" in kill.rejection.reason


def test_context_is_forgotten_on_returning_to_the_stash() -> None:
    machine = GameStateMachine(PROFILE, snapshot={"state": "post_raid_review", "context": {"map_name": "woods"}})
    machine.on_screen(confirmed("stash_screen", 1.0), {})
    assert machine.context == {}
    assert GameStateMachine(PROFILE, snapshot=machine.snapshot()).state == "stash"


def test_one_missed_screen_may_be_skipped_and_the_raid_still_starts() -> None:
    machine = GameStateMachine(PROFILE, snapshot={"state": "pre_raid", "context": {"map_name": "woods"}})
    skip_queue = machine.on_screen(confirmed("match_found", 1.0), {})
    assert skip_queue.rejection is None and skip_queue.drafts[0].data == {"from_state": "pre_raid", "to_state": "deploying"}
    machine = GameStateMachine(PROFILE, snapshot={"state": "queuing", "context": {"map_name": "woods"}})
    skip_loading = machine.on_screen(confirmed("gameplay_hud", 2.0), {})
    assert [d.type for d in skip_loading.drafts] == ["state_transition", "raid_start"]
    assert skip_loading.drafts[1].data["map_name"] == "woods"


def test_after_a_gap_in_the_video_nothing_counted_before_carries_over() -> None:
    overlays = OverlayFilter(FilterConfig(confirmations=3, overlay_gap=2))
    assert [c.track for c in feed(overlays, [obs(i, None, KILL_BOX) for i in range(4)])] == [1]
    overlays.interrupt()
    # The same box after the gap may be another notification: it is tracked and confirmed anew.
    again = feed(overlays, [obs(i, None, KILL_BOX) for i in range(20, 23)])
    assert [(c.track, c.first_frame) for c in again] == [(2, 120)]
    screens = ScreenFilter(FilterConfig(confirmations=3), current="stash_screen")
    assert feed(screens, [obs(0, "map_select"), obs(1, "map_select")]) == []
    screens.interrupt()
    confirmed = feed(screens, [obs(30, "map_select"), obs(31, "map_select"), obs(32, "map_select")])
    assert [(c.label, c.first_frame) for c in confirmed] == [("map_select", 180)]
