"""One missed screen must never cost a raid: the state machine finds its way back."""
from __future__ import annotations

import pytest

from detection.pipeline.profile import load_profile
from detection.pipeline.state import Draft, GameStateMachine
from detection.pipeline.temporal import Confirmed
from detection.pipeline.types import Box, Detection

pytestmark = pytest.mark.pure
PROFILE = load_profile("demo")


def confirmed(label: str, second: float) -> Confirmed:
    detection = Detection(label, 0.9, Box(0.2, 0.2, 0.8, 0.8))
    return Confirmed(label, int(second * 10), second, int(second * 10) + 2, second + 0.2, 0.9, detection)


def walk(machine: GameStateMachine, screens: list[tuple[str, float, dict]]) -> list[Draft]:
    drafts: list[Draft] = []
    for label, second, data in screens:
        drafts += machine.on_screen(confirmed(label, second), data).drafts
    return drafts


def test_a_missed_stash_after_a_raid_does_not_cost_the_next_raid() -> None:
    """The issue's case: after MIA the stash was refused, and every screen of the next raid was
    rejected as an impossible transition from missing_in_action until a stash came back."""
    machine = GameStateMachine(PROFILE, snapshot={"state": "missing_in_action", "context": {"map_name": "woods"}})
    queue = machine.on_screen(confirmed("queue_timer", 10.0), {})
    assert queue.rejection is not None and machine.state == "missing_in_action"
    drafts = walk(machine, [("match_found", 20.0, {}), ("loading_screen", 25.0, {}), ("gameplay_hud", 30.0, {})])
    # Into the refused queue's state when it appeared, then on with the screens that agree with it.
    assert [(d.type, d.data.get("to_state"), d.confirmed.first_time) for d in drafts] == [
        ("state_transition", "queuing", 10.0), ("state_transition", "deploying", 20.0),
        ("state_transition", "raid_active", 30.0), ("raid_start", None, 30.0)]
    assert drafts[0].data["from_state"] == "missing_in_action"
    # The stash lay on the way: the last raid's map is forgotten, not carried into this one.
    assert drafts[3].data == {"map_name": None, "character_type": None, "game_mode": None}
    assert machine.on_overlay(confirmed("kill_notification", 40.0)).drafts[0].type == "kill"


def test_what_a_refused_pre_raid_screen_read_reaches_the_raid() -> None:
    machine = GameStateMachine(PROFILE, snapshot={"state": "killed_in_action", "context": {"map_name": "woods"}})
    refused = machine.on_screen(confirmed("map_select", 5.0), {"map_name": "customs", "game_mode": "pve"})
    assert refused.rejection is not None
    drafts = walk(machine, [("queue_timer", 9.0, {}), ("gameplay_hud", 30.0, {})])
    raid_start = next(d for d in drafts if d.type == "raid_start")
    assert raid_start.data == {"map_name": "customs", "character_type": None, "game_mode": "pve"}


def test_two_refused_screens_of_one_state_agree() -> None:
    machine = GameStateMachine(PROFILE, snapshot={"state": "missing_in_action", "context": {}})
    assert machine.on_screen(confirmed("character_select", 5.0), {"character_type": "scav"}).rejection
    resumed = GameStateMachine(PROFILE, snapshot=machine.snapshot())  # the refused screen survives a checkpoint
    drafts = resumed.on_screen(confirmed("map_select", 9.0), {"map_name": "factory"}).drafts
    assert [d.data for d in drafts] == [{"from_state": "missing_in_action", "to_state": "pre_raid"}]
    assert resumed.context == {"character_type": "scav", "map_name": "factory"}


def test_a_stray_screen_inside_a_raid_is_forgotten_when_the_raid_shows_again() -> None:
    """Two false screens with the raid's own screen between them never end a raid."""
    machine = GameStateMachine(PROFILE, snapshot={"state": "raid_active", "context": {}})
    assert machine.on_screen(confirmed("queue_timer", 5.0), {}).rejection is not None
    assert machine.on_screen(confirmed("gameplay_hud", 6.0), {}).drafts == []
    assert machine.on_screen(confirmed("match_found", 7.0), {}).rejection is not None
    assert machine.state == "raid_active"


def test_disagreeing_refused_screens_stay_refused() -> None:
    machine = GameStateMachine(PROFILE, snapshot={"state": "stash", "context": {}})
    assert machine.on_screen(confirmed("survived_screen", 5.0), {}).rejection is not None
    assert machine.on_screen(confirmed("match_found", 9.0), {}).rejection is not None
    assert machine.state == "stash"


def test_a_raid_whose_end_screen_was_missed_still_ends() -> None:
    machine = GameStateMachine(PROFILE, snapshot={"state": "raid_active", "context": {}})
    drafts = machine.on_screen(confirmed("post_raid_screen", 50.0), {}).drafts
    assert [(d.type, d.data, d.inferred) for d in drafts] == [
        ("state_transition", {"from_state": "raid_active", "to_state": "post_raid_review"}, False),
        ("raid_end", {"outcome": None}, True),
    ]


def test_a_raid_lost_without_trace_ends_before_the_next_one_starts() -> None:
    """Terminal screen, post-raid and stash all unseen: the next raid's queue and match agree."""
    machine = GameStateMachine(PROFILE, snapshot={"state": "raid_active", "context": {"map_name": "woods"}})
    assert machine.on_screen(confirmed("queue_timer", 100.0), {}).rejection is not None
    drafts = walk(machine, [("match_found", 110.0, {}), ("gameplay_hud", 120.0, {})])
    assert [d.type for d in drafts] == ["state_transition", "raid_end", "state_transition", "state_transition", "raid_start"]
    assert drafts[1].inferred and drafts[4].data["map_name"] is None


def test_an_inferred_raid_end_goes_to_review_first() -> None:
    """An event nobody saw is made (the raid is not lost) but scores below any review threshold."""
    from detection.pipeline.assembly import INFERRED_DISCOUNT, EventAssembler
    from detection.pipeline.fields import FieldReader, Reading
    from detection.pipeline.readings import Pending
    from tests.detection.pipeline.test_fields_robust import TitleElsewhereReader

    machine = GameStateMachine(PROFILE, snapshot={"state": "raid_active", "context": {}})
    machine.seen("gameplay_hud", video_time=41.5, frame_number=415)
    screen = confirmed("post_raid_screen", 50.0)
    pending = Pending(screen, Reading(data={}, complete=True), drafts=machine.on_screen(screen, {}).drafts)
    transition, raid_end = EventAssembler(PROFILE, FieldReader(PROFILE, TitleElsewhereReader())).events(pending)
    assert transition.confidence == 0.9 and "inferred" not in transition.evidence
    assert raid_end.data == {"outcome": None} and raid_end.evidence["inferred"] is True
    assert (raid_end.event_id, raid_end.video_time, transition.video_time) == ("raid_end-415", 41.5, 50.0)
    assert raid_end.confidence == round(0.9 * INFERRED_DISCOUNT, 4)


def test_an_unseen_raid_end_is_placed_where_the_raid_was_last_seen() -> None:
    machine = GameStateMachine(PROFILE, snapshot={"state": "raid_active", "context": {}})
    for second in (38.0, 39.9):
        machine.seen("gameplay_hud", video_time=second, frame_number=int(second * 10))
    machine.seen("queue_timer", video_time=44.0, frame_number=440)  # another state's screen: not the raid
    resumed = GameStateMachine(PROFILE, snapshot=machine.snapshot())  # survives a checkpoint
    transition, raid_end = resumed.on_screen(confirmed("post_raid_screen", 50.0), {}).drafts
    assert transition.confirmed.first_time == 50.0
    assert (raid_end.confirmed.first_time, raid_end.confirmed.first_frame, raid_end.inferred) == (39.9, 399, True)


def test_a_raid_lost_but_for_the_next_match_found_screen_ends_and_the_next_one_starts() -> None:
    """The blanked render's case: the raid's end, the menus and the queue went unseen; only the next
    match-found screen was seen before the next raid's HUD. The HUD had been gone for a minute."""
    machine = GameStateMachine(PROFILE, snapshot={"state": "raid_active", "context": {"map_name": "woods"}})
    machine.seen("gameplay_hud", video_time=135.4, frame_number=1354)
    assert machine.on_screen(confirmed("match_found", 178.0), {}).rejection is not None
    # The next raid's HUD shows on a few frames before it is confirmed.
    machine.seen("gameplay_hud", video_time=195.3, frame_number=1953)
    drafts = machine.on_screen(confirmed("gameplay_hud", 195.3), {}).drafts
    assert [(d.type, d.confirmed.first_time) for d in drafts] == [
        ("state_transition", 178.0), ("raid_end", 135.4), ("state_transition", 195.3), ("raid_start", 195.3)]
    assert drafts[0].data == {"from_state": "raid_active", "to_state": "deploying"}
    assert drafts[0].confirmed.label == "match_found" and drafts[1].inferred
    assert drafts[3].data["map_name"] is None and machine.state == "raid_active"


def test_a_raid_lost_but_for_the_next_map_select_ends_and_the_next_one_starts() -> None:
    """As above, but the one screen seen between the raids is the map select: the queue, match-found and
    loading screens after it went unseen too, more than one missed screen may skip. The HUD had been gone for
    half a minute before the map select, so the way from it back into a raid is believed however long."""
    machine = GameStateMachine(PROFILE, snapshot={"state": "raid_active", "context": {"map_name": "woods"}})
    machine.seen("gameplay_hud", video_time=129.1, frame_number=1291)
    assert machine.on_screen(confirmed("map_select", 160.5), {"map_name": "reserve"}).rejection is not None
    machine.seen("gameplay_hud", video_time=185.9, frame_number=1859)
    drafts = machine.on_screen(confirmed("gameplay_hud", 185.9), {}).drafts
    assert [(d.type, d.confirmed.first_time, d.inferred) for d in drafts] == [
        ("state_transition", 160.5, False), ("raid_end", 129.1, True), ("state_transition", 185.9, False),
        ("raid_start", 185.9, False)]
    assert drafts[3].data["map_name"] == "reserve" and machine.state == "raid_active"


def test_a_menu_flicker_soon_after_the_raid_showed_never_skips_back_into_it() -> None:
    """The same map select a few seconds after the HUD last showed: a false detection, the raid goes on."""
    machine = GameStateMachine(PROFILE, snapshot={"state": "raid_active", "context": {"map_name": "woods"}})
    machine.seen("gameplay_hud", video_time=100.0, frame_number=1000)
    assert machine.on_screen(confirmed("map_select", 103.0), {}).rejection is not None
    assert machine.on_screen(confirmed("gameplay_hud", 104.0), {}).drafts == []
    assert machine.state == "raid_active" and machine.context == {"map_name": "woods"}


def test_a_flicker_inside_a_raid_does_not_split_it() -> None:
    """The same screens a moment after the HUD last showed: a false detection, not a new raid."""
    machine = GameStateMachine(PROFILE, snapshot={"state": "raid_active", "context": {"map_name": "woods"}})
    machine.seen("gameplay_hud", video_time=100.0, frame_number=1000)
    assert machine.on_screen(confirmed("match_found", 101.0), {}).rejection is not None
    machine.seen("gameplay_hud", video_time=102.0, frame_number=1020)
    assert machine.on_screen(confirmed("gameplay_hud", 102.0), {}).drafts == []
    assert machine.state == "raid_active" and machine.context == {"map_name": "woods"}


def hud() -> Detection:
    return Detection("gameplay_hud", 0.5, Box(0.0, 0.0, 1.0, 1.0))


def test_a_raid_screen_held_after_its_menus_went_unseen_starts_the_raid_inferred() -> None:
    """The queue, match-found and loading screens all missed: the HUD is refused from pre_raid (too
    many skipped screens), but still showing seconds later it is believed, the raid start inferred."""
    machine = GameStateMachine(PROFILE, snapshot={"state": "pre_raid", "context": {"map_name": "factory"}})
    assert machine.on_screen(confirmed("gameplay_hud", 50.0), {}).rejection is not None
    assert machine.on_held(hud(), frame_number=520, video_time=52.0).drafts == []  # not held long enough yet
    resumed = GameStateMachine(PROFILE, snapshot=machine.snapshot())
    drafts = resumed.on_held(hud(), frame_number=560, video_time=56.0).drafts
    assert [(d.type, d.confirmed.first_time, d.inferred) for d in drafts] == [
        ("state_transition", 50.0, True), ("raid_start", 50.0, True)]
    assert drafts[1].data["map_name"] == "factory" and resumed.state == "raid_active"
    assert resumed.on_held(hud(), frame_number=600, video_time=60.0).drafts == []  # once


def test_a_weak_raid_screen_held_as_long_is_believed_only_once_the_detector_is_sure_of_it() -> None:
    """Held-out `muted` 5160 with the int8 detector: a HUD's weak boxes (0.16-0.21) over a character select
    it did not know were held six seconds and started a raid from the stash; that noise moves nothing, a
    real HUD past the hold does, and so does a weak screen whose own words were read."""
    machine = GameStateMachine(PROFILE, snapshot={"state": "stash", "context": {}})
    assert machine.on_screen(confirmed("gameplay_hud", 158.5), {}).rejection is not None
    weak = Detection("gameplay_hud", 0.2, Box(0.0, 0.0, 1.0, 1.0))
    assert machine.on_held(weak, frame_number=1640, video_time=164.0).drafts == []
    resumed = GameStateMachine(PROFILE, snapshot=machine.snapshot())
    assert resumed.state == "stash" and resumed.on_held(hud(), frame_number=1650, video_time=165.0).drafts

    proven = GameStateMachine(PROFILE, snapshot={"state": "stash", "context": {}})
    assert proven.on_screen(confirmed("gameplay_hud", 158.5), {}, proven=True).rejection is not None
    assert proven.on_held(weak, frame_number=1640, video_time=164.0).drafts


def test_a_kill_notification_over_a_refused_raid_screen_stays_refused() -> None:
    """A notification is not read yet when it is confirmed (its words may prove it false): it moves nothing."""
    machine = GameStateMachine(PROFILE, snapshot={"state": "stash", "context": {}})
    assert machine.on_screen(confirmed("gameplay_hud", 19.0), {}).rejection is not None
    assert machine.on_overlay(confirmed("kill_notification", 20.0)).rejection is not None
    assert machine.state == "stash"


def test_a_read_kill_over_a_refused_raid_screen_takes_the_machine_into_the_raid_at_once() -> None:
    """The queue, match-found and loading screens all missed and a kill shown 2 s into the raid, before the HUD
    had been held `resync_hold_seconds`: once its words are read, the refused HUD and the kill agree."""
    machine = GameStateMachine(PROFILE, snapshot={"state": "pre_raid", "context": {"map_name": "shoreline"}})
    assert machine.on_screen(confirmed("gameplay_hud", 14.2), {}).rejection is not None
    kill = confirmed("kill_notification", 16.5)
    assert machine.on_overlay(kill).rejection is not None  # not yet: its words are not read
    assert machine.over_refused_raid(kill) and machine.state == "pre_raid"
    drafts = machine.enter_for_overlay(kill, hud())
    assert drafts is not None
    assert [(d.type, d.confirmed.first_time, d.inferred) for d in drafts] == [
        ("state_transition", 14.2, True), ("raid_start", 14.2, True)]
    assert drafts[1].data["map_name"] == "shoreline" and drafts[1].confirmed.detection == hud()
    assert machine.state == "raid_active"
    assert machine.enter_for_overlay(confirmed("kill_notification", 18.0), hud()) == []  # in the raid now


def test_a_kill_over_no_refused_raid_screen_cannot_start_a_raid() -> None:
    machine = GameStateMachine(PROFILE, snapshot={"state": "pre_raid", "context": {}})
    kill = confirmed("kill_notification", 16.5)
    assert not machine.over_refused_raid(kill) and machine.enter_for_overlay(kill, None) is None
    assert machine.on_screen(confirmed("gameplay_hud", 17.0), {}).rejection is not None
    assert not machine.over_refused_raid(kill)  # the raid screen came after the notification
    assert machine.state == "pre_raid"


def test_a_read_kill_over_a_refused_raid_screen_after_a_death_starts_no_raid() -> None:
    """A kill cam after a death: the next raid is a stash and its menus away, more than a proven screen may skip."""
    machine = GameStateMachine(PROFILE, snapshot={"state": "killed_in_action", "context": {}})
    assert machine.on_screen(confirmed("gameplay_hud", 30.0), {}).rejection is not None
    kill = confirmed("kill_notification", 31.0)
    assert not machine.over_refused_raid(kill) and machine.enter_for_overlay(kill, hud()) is None
    assert machine.state == "killed_in_action"
