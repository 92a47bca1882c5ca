"""A raid's kill list (the post-raid summary) backs up its kill notifications: a listed kill the raid did not make
(its notification missed, or hidden by a cut to another scene) is added, inferred, for review to time."""
from __future__ import annotations

from pathlib import Path

import pytest

from detection.pipeline.factory import DetectSettings, build_pipeline
from detection.pipeline.fields import FieldReader
from detection.pipeline.profile import ProfileError, load_profile, profile_path
from detection.pipeline.runner import PipelineResult
from detection.pipeline.source import FileVideoSource
from detection.pipeline.state import GameStateMachine
from detection.pipeline.text import RapidTextReader
from detection.pipeline.types import Frame
from tests.detection.pipeline.synthetic import PROFILE, Script, Shot, draw, write_video
from tests.detection.pipeline.test_state_resync import confirmed, walk

pytestmark = pytest.mark.pure
KILL_LIST = PROFILE.kill_list
SUMMARY = ("RAID SUMMARY", "KILL LIST", "RAIDER  AK-74M  HEADSHOT", "PMC  M4A1", "SCAV  MOSIN")


def raid_with_kills(made: list[dict]) -> GameStateMachine:
    machine = GameStateMachine(PROFILE, snapshot={"state": "deploying", "context": {}})
    walk(machine, [("gameplay_hud", 10.0, {})])
    for data in made:
        machine.counted(data)
    walk(machine, [("survived_screen", 60.0, {})])
    return machine


def kill(enemy: str, weapon: str | None, headshot: bool = False) -> dict:
    return {"enemy_type": enemy, "weapon": weapon, "headshot": headshot}


def test_listed_kills_the_raid_did_not_make_are_inferred_with_when_the_raid_ran() -> None:
    machine = raid_with_kills([kill("raider", "AK-74M", True)])
    walk(machine, [("post_raid_screen", 62.0, {})])
    assert machine.kill_list_due()
    rows = [kill("raider", "AK-74M", True), kill("pmc", "M4A1"), kill("pmc", "M4A1")]
    drafts = machine.unlisted(confirmed("post_raid_screen", 62.0), rows)
    assert [(d.type, d.data, d.inferred, d.tag) for d in drafts] == [
        ("kill", kill("pmc", "M4A1"), True, "listed1"), ("kill", kill("pmc", "M4A1"), True, "listed2")]
    assert drafts[0].evidence["happened_between"] == [10.0, 60.0]
    assert drafts[0].confirmed.first_time == 62.0
    # Read once a raid: the summary shown again (or read again after a checkpoint) adds nothing more.
    resumed = GameStateMachine(PROFILE, snapshot=machine.snapshot())
    assert not resumed.kill_list_due() and resumed.unlisted(confirmed("post_raid_screen", 63.0), rows) == []


def test_a_listed_kill_takes_the_time_of_a_notification_dropped_unread_that_agrees_with_it() -> None:
    """Control `classic` 6161 before `d9d7771`: a kill's box framed its HEADSHOT tag alone, and the notification was
    dropped for want of its words; the list shows the kill, and the dropped notification says when it happened."""
    machine = GameStateMachine(PROFILE, snapshot={"state": "deploying", "context": {}})
    walk(machine, [("gameplay_hud", 10.0, {})])
    machine.unread(confirmed("kill_notification", 20.0), {"headshot": False})  # a blot of scenery read as nothing
    machine.unread(confirmed("kill_notification", 30.0), {"headshot": True})
    machine.unread(confirmed("kill_notification", 40.0), {"enemy_type": "boss", "headshot": False})
    machine = GameStateMachine(PROFILE, snapshot=machine.snapshot())  # what was dropped survives a checkpoint
    walk(machine, [("survived_screen", 60.0, {})])
    machine.unread(confirmed("kill_notification", 61.0), {"headshot": True})  # after the raid: not its kill
    rows = [kill("scav", "AKM"), kill("pmc", "M4A1", True), kill("raider", "VSS", True)]
    drafts = machine.unlisted(confirmed("post_raid_screen", 62.0), rows)
    assert [(d.data["enemy_type"], d.confirmed.first_time, d.confirmed.first_frame) for d in drafts] == [
        ("scav", 62.0, 620), ("pmc", 30.0, 300), ("raider", 62.0, 620)]
    assert all(d.inferred and d.evidence["happened_between"] == [10.0, 60.0] for d in drafts)


def test_a_made_kill_with_a_field_unread_still_accounts_for_its_row() -> None:
    machine = raid_with_kills([kill("rogue", None), kill("scav", "MOSIN")])
    rows = [kill("scav", "MOSIN"), kill("rogue", "VSS", True)]
    assert machine.unlisted(confirmed("post_raid_screen", 62.0), rows) == []


def test_a_list_that_agrees_with_the_raid_or_lists_less_adds_nothing() -> None:
    made = [kill("scav", "MOSIN"), kill("boss", "SVDS", True)]
    assert raid_with_kills(made).unlisted(confirmed("post_raid_screen", 62.0), list(reversed(made))) == []
    assert raid_with_kills(made).unlisted(confirmed("post_raid_screen", 62.0), []) == []


def test_no_list_is_due_before_a_raid_ended() -> None:
    machine = GameStateMachine(PROFILE, snapshot={"state": "stash", "context": {}})
    assert not machine.kill_list_due()
    assert machine.unlisted(confirmed("post_raid_screen", 5.0), [kill("pmc", "AKM")]) == []
    ongoing = GameStateMachine(PROFILE, snapshot={"state": "deploying", "context": {}})
    walk(ongoing, [("gameplay_hud", 10.0, {})])
    assert not ongoing.kill_list_due()
    # The next raid starts a new tally: the last raid's kills and list are forgotten.
    ended = raid_with_kills([kill("pmc", "AKM")])
    walk(ended, [("post_raid_screen", 62.0, {}), ("stash_screen", 70.0, {}), ("character_select", 72.0, {}),
                 ("queue_timer", 76.0, {}), ("match_found", 80.0, {}), ("gameplay_hud", 85.0, {})])
    assert ended.raid is not None and ended.raid.made == [] and ended.raid.started == 85.0


def test_the_list_is_read_row_by_row_below_its_header() -> None:
    image = draw(Shot("post_raid_screen", 1, lines=SUMMARY), 1280, 720)
    reader = FieldReader(PROFILE, RapidTextReader())
    assert KILL_LIST is not None
    assert reader.read_list(Frame(image, 0, 0.0), KILL_LIST) == [
        kill("raider", "AK-74M", True), kill("pmc", "M4A1"), kill("scav", "MOSIN")]
    unreadable = draw(Shot("post_raid_screen", 1, lines=("RAID SUMMARY", "PMC  M4A1")), 1280, 720)
    assert reader.read_list(Frame(unreadable, 0, 0.0), KILL_LIST) is None
    empty = draw(Shot("post_raid_screen", 1, lines=("RAID SUMMARY", "KILL LIST")), 1280, 720)
    assert reader.read_list(Frame(empty, 0, 0.0), KILL_LIST) == []


def test_a_list_no_longer_than_the_raid_made_is_counted_not_read() -> None:
    image = draw(Shot("post_raid_screen", 1, lines=SUMMARY), 1280, 720)
    ocr = RapidTextReader()
    reader = FieldReader(PROFILE, ocr)
    assert KILL_LIST is not None
    assert reader.read_list(Frame(image, 0, 0.0), KILL_LIST, beyond=3) == []
    recognised = ocr.calls
    assert recognised == 2  # the title's strip, then the header's
    assert len(reader.read_list(Frame(image, 0, 0.0), KILL_LIST, beyond=2) or ()) == 3


def test_rows_beyond_the_raid_s_kills_are_read_from_the_bottom_first() -> None:
    # The title under the table is one row more than the raid's two kills: read alone, it is no kill.
    lines = ("KILL LIST", "BOSS  SVDS", "PMC  M4A1", "RAID SUMMARY")
    image = draw(Shot("post_raid_screen", 1, lines=lines), 1280, 720)
    ocr = RapidTextReader()
    reader = FieldReader(PROFILE, ocr)
    assert KILL_LIST is not None
    assert reader.read_list(Frame(image, 0, 0.0), KILL_LIST, beyond=2) == [] and ocr.calls == 2
    # One kill made: the bottom rows (the title, then PMC  M4A1) include a kill, so the whole list is read.
    assert reader.read_list(Frame(image, 0, 0.0), KILL_LIST, beyond=1) == [kill("boss", "SVDS"), kill("pmc", "M4A1")]


def test_a_header_below_other_words_is_found_by_reading_the_whole_list() -> None:
    lines = ("RAID SUMMARY", "CUSTOMS", "TIME IN RAID: 12:04", "EXFILTRATED", "KILL LIST", "BOSS  SVDS")
    image = draw(Shot("post_raid_screen", 1, lines=lines), 1280, 720)
    assert KILL_LIST is not None
    assert FieldReader(PROFILE, RapidTextReader()).read_list(Frame(image, 0, 0.0), KILL_LIST) == [kill("boss", "SVDS")]


def test_a_kill_list_must_name_a_declared_screen_and_overlay(tmp_path: Path) -> None:
    text = profile_path("demo").read_text(encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("overlay: kill_notification}", "overlay: kill_banner}"), encoding="utf-8")
    with pytest.raises(ProfileError, match="kill_banner"):
        load_profile(broken)
    broken.write_text(text.replace("header: KILL LIST, ", ""), encoding="utf-8")
    with pytest.raises(ProfileError, match="raid.kill_list needs"):
        load_profile(broken)


def detect_raid(second_kill: tuple[str, str, bool], summary: tuple[str, ...], path: Path,
                model: Path) -> PipelineResult:
    """One raid with a raider's kill at 12 s and `second_kill`'s notification at 17 s, then `summary` after it."""
    loop = (Script().add("stash_screen", 2).add("character_select", 2, chosen="PMC")
            .add("map_select", 2, lines=("SELECT LOCATION", "CUSTOMS"), tick=True)
            .add("queue_timer", 2).add("match_found", 1).add("loading_screen", 1).add("gameplay_hud", 2)
            .add("gameplay_hud", 3, kill=("RAIDER", "AK-74M", True)).add("gameplay_hud", 2)
            .add("gameplay_hud", 2.5, kill=second_kill).add("gameplay_hud", 1)
            .add("survived_screen", 2, lines=("SURVIVED", "EXFILTRATED AT: CROSSROADS"))
            .add("post_raid_screen", 3, lines=summary).add("stash_screen", 1))
    pipeline = build_pipeline(PROFILE, DetectSettings(model_path=str(model)))
    with FileVideoSource(write_video(loop, path, width=1280, height=720), detection_fps=10) as source:
        return pipeline.run(source)


@pytest.mark.slow
def test_a_kill_whose_notification_went_unseen_comes_back_from_the_summary(tmp_path: Path,
                                                                          synthetic_model: Path) -> None:
    # The PMC kill's notification is hidden (a webcam over the kill feed): only the list shows it.
    result = detect_raid(("SCAV", "MOSIN", False), SUMMARY, tmp_path / "hidden-kill.mkv", synthetic_model)
    kills = [e for e in result.events if e.type == "kill"]
    assert [(round(e.video_time, 1), e.data, bool(e.evidence.get("inferred"))) for e in kills] == [
        (12.0, kill("raider", "AK-74M", True), False), (17.0, kill("scav", "MOSIN"), False),
        (22.5, kill("pmc", "M4A1"), True)]
    listed = kills[-1]
    assert listed.event_id.endswith("-listed1") and listed.thumbnail
    assert listed.evidence["happened_between"] == [10.0, 20.5]
    assert listed.confidence < min(e.confidence for e in kills[:2])


@pytest.mark.slow
def test_a_kill_whose_notification_could_not_be_read_comes_back_at_its_time(tmp_path: Path,
                                                                           synthetic_model: Path) -> None:
    # The PMC kill's notification shows ELIMINATED and HEADSHOT but no name: dropped unread, then timed by the list.
    summary = ("RAID SUMMARY", "KILL LIST", "RAIDER  AK-74M  HEADSHOT", "PMC  M4A1  HEADSHOT")
    result = detect_raid(("", "", True), summary, tmp_path / "unread-kill.mkv", synthetic_model)
    kills = [(round(e.video_time, 1), e.data, bool(e.evidence.get("inferred"))) for e in result.events
             if e.type == "kill"]
    assert kills == [(12.0, kill("raider", "AK-74M", True), False), (17.0, kill("pmc", "M4A1", True), True)]
    assert any(r.observed_screen == "kill_notification" and round(r.video_time, 1) == 17.0 for r in result.rejections)
