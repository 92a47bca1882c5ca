"""The session script: legal state machine, realistic durations, coverage of every vocabulary word."""
from __future__ import annotations

import random
import subprocess
import sys

import pytest
import yaml

from detection.render.profile import PROFILE_PATH, load_profile
from detection.render.timeline import DEMO_PACING, QUICK_PACING, plan_session, snake
from detection.render.writer import frame_times

pytestmark = pytest.mark.pure


def test_transitions_follow_the_profile_state_machine_and_kills_stay_in_raids() -> None:
    allowed = yaml.safe_load(PROFILE_PATH.read_text())["transitions"]
    timeline = plan_session(3 * 3600, load_profile(), random.Random(1))
    state = "idle"
    raids = [s for s in timeline.segments if s.screen == "raid"]
    for event in timeline.events:
        if event.type == "state_transition":
            assert event.data["from_state"] == state
            assert event.data["to_state"] in allowed[state]
            state = event.data["to_state"]
        if event.type == "kill":
            assert any(r.start < event.at and event.at + 2.0 <= r.end for r in raids)
    assert all(60 <= r.end - r.start <= 180 for r in raids[:-1])
    for before, after in zip(timeline.kills, timeline.kills[1:]):
        assert after.start > before.end  # notifications never overlap
        assert 2.0 <= before.end - before.start <= 4.0
    gaps = [b.start - a.start for a, b in zip(timeline.kills, timeline.kills[1:])]
    assert min(gaps) < 6.0  # kills sometimes seconds apart
    for a, b in zip(timeline.segments, timeline.segments[1:]):
        assert a.end == b.start


def test_a_long_render_shows_every_map_extract_weapon_enemy_and_outcome() -> None:
    profile = load_profile()
    timeline = plan_session(12 * 3600, profile, random.Random(2))
    starts = [e.data for e in timeline.events if e.type == "raid_start"]
    ends = [e.data for e in timeline.events if e.type == "raid_end"]
    kills = [e.data for e in timeline.events if e.type == "kill"]
    assert {d["map_name"] for d in starts} == {snake(m) for m in profile.maps}
    assert {d["character_type"] for d in starts} == {"pmc", "scav"} and {d["game_mode"] for d in starts} == {"pve", "pvp"}
    assert {d["outcome"] for d in ends} == {"survived", "killed", "mia"}
    assert {d["extract_location"] for d in ends if "extract_location" in d} == {e.lower() for es in profile.maps.values() for e in es}
    assert {d["weapon"] for d in kills} == set(profile.weapons)
    assert {d["enemy_type"] for d in kills} == {e.lower() for e in profile.enemy_types}
    assert any(d["headshot"] for d in kills) and not all(d["headshot"] for d in kills)


def test_quick_pacing_fits_a_whole_session_in_forty_seconds() -> None:
    timeline = plan_session(40, load_profile(), random.Random(3), QUICK_PACING)
    assert {e.type for e in timeline.events} == {"state_transition", "raid_start", "kill", "raid_end"}
    assert timeline.segments[-1].end == 40


def test_vfr_frame_times_are_irregular_milliseconds_and_cfr_ones_are_regular() -> None:
    cfr = frame_times(10, 30, vfr=False, rng=random.Random(0))
    assert len(cfr) == 300 and cfr[30] == 1.0
    vfr = frame_times(10, 30, vfr=True, rng=random.Random(0))
    gaps = [b - a for a, b in zip(vfr, vfr[1:])]
    assert all(round(t * 1000) == pytest.approx(t * 1000) for t in vfr)
    regular = sum(abs(g - 1 / 30) < 0.004 for g in gaps) / len(gaps)
    assert 0.6 < regular < 0.95 and max(gaps) > 0.06 and min(gaps) > 0.02
    assert DEMO_PACING.raid == (60, 180)


def test_the_renderer_and_evaluator_need_no_django() -> None:
    code = ("import sys; import detection.render.session, detection.render.dataset, detection.evaluation; "
            "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules), 'django imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(PROFILE_PATH.parents[2]))
