"""The evaluator: 1.0 on truth against itself, exact figures on a perturbed copy, table and --json."""
from __future__ import annotations

import json
import random
from datetime import datetime, timezone
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from detection.evaluation import evaluate, percentile
from detection.pipeline.event_log import EventLog, LoggedEvent, write_event_log
from detection.render.profile import load_profile
from detection.render.timeline import plan_session
from detection.render.truth import truth_log
from detection.render.writer import frame_times

pytestmark = pytest.mark.pure


def _event(kind: str, at: float, **data: object) -> LoggedEvent:
    return LoggedEvent(event_id=f"{kind}-{at}", type=kind, video_offset_seconds=at, data=dict(data))


def _truth() -> EventLog:
    return EventLog(metadata={}, events=[
        _event("state_transition", 1, from_state="idle", to_state="stash"),
        _event("state_transition", 10, from_state="stash", to_state="pre_raid"),
        _event("state_transition", 20, from_state="deploying", to_state="raid_active"),
        _event("raid_start", 20, map_name="customs", character_type="pmc", game_mode="pve"),
        _event("state_transition", 30, from_state="raid_active", to_state="survived"),
        _event("kill", 40, enemy_type="scav", weapon="AKM", headshot=True),
        _event("kill", 45, enemy_type="pmc", weapon="M4A1", headshot=False),
        _event("kill", 60, enemy_type="boss", weapon="SVDS", headshot=False),
        _event("kill", 80, enemy_type="rogue", weapon="HK 416A5", headshot=True),
        _event("raid_end", 100, outcome="survived", extract_location="gate 3"),
    ])


def _perturbed() -> EventLog:
    return EventLog(metadata={}, events=[
        _event("state_transition", 1, from_state="idle", to_state="stash"),
        _event("state_transition", 10, from_state="stash", to_state="pre_raid"),
        _event("state_transition", 20, from_state="deploying", to_state="raid_active"),
        _event("raid_start", 20, map_name="woods", character_type="pmc", game_mode="pve"),  # relabelled map
        _event("state_transition", 33, from_state="raid_active", to_state="survived"),  # 3 s late: no match
        _event("kill", 39.5, enemy_type="scav", weapon="AKM", headshot=False),  # 0.5 s early, headshot missed
        _event("kill", 45, enemy_type="PMC", weapon="MP5", headshot=False),  # weapon wrong, case ignored
        # the kill at 60 is dropped
        _event("kill", 81.5, enemy_type="rogue", weapon="hk 416a5", headshot=True),  # 1.5 s late
        _event("kill", 200, enemy_type="scav", weapon="AKM", headshot=False),  # false positive
        _event("raid_end", 102, outcome="survived", extract_location="gate 3"),  # exactly at the tolerance
    ])


def test_truth_against_itself_scores_one() -> None:
    timeline = plan_session(600, load_profile(), random.Random(4))
    times = frame_times(600, 30, vfr=True, rng=random.Random(4))
    log = truth_log(timeline, times, started_at=datetime(2026, 1, 1, tzinfo=timezone.utc), metadata={})
    result = evaluate(log, log)
    assert {s.type for s in result.types} == {"state_transition", "raid_start", "kill", "raid_end"}
    for score in [*result.types, result.overall]:
        assert score.precision == score.recall == score.f1 == 1.0
        assert score.timing_median == score.timing_p95 == 0.0
        assert all(f.accuracy == 1.0 for f in score.fields.values())


def test_perturbed_copy_gives_the_exact_figures() -> None:
    result = evaluate(_truth(), _perturbed())
    by_type = {s.type: s for s in result.types}
    st, start, kill, end = by_type["state_transition"], by_type["raid_start"], by_type["kill"], by_type["raid_end"]
    assert (st.truth, st.detected, st.matched, st.precision, st.recall) == (4, 4, 3, 0.75, 0.75)
    assert (kill.truth, kill.detected, kill.matched, kill.precision, kill.recall) == (4, 4, 3, 0.75, 0.75)
    assert kill.f1 == pytest.approx(0.75)
    assert kill.timing_median == 0.5 and kill.timing_p95 == pytest.approx(1.4)
    assert {n: (f.correct, f.total) for n, f in kill.fields.items()} == {"enemy_type": (3, 3), "weapon": (2, 3), "headshot": (2, 3)}
    assert {n: (f.correct, f.total) for n, f in start.fields.items()} == {"map_name": (0, 1), "character_type": (1, 1), "game_mode": (1, 1)}
    assert (end.matched, end.timing_median) == (1, 2.0)
    assert {n: (f.correct, f.total) for n, f in end.fields.items()} == {"outcome": (1, 1), "extract_location": (1, 1)}
    assert (result.overall.truth, result.overall.detected, result.overall.matched) == (10, 10, 8)


def test_matching_is_one_to_one_and_strict_at_the_tolerance() -> None:
    truth = EventLog(metadata={}, events=[_event("kill", 10, enemy_type="scav"), _event("kill", 11, enemy_type="pmc")])
    found = EventLog(metadata={}, events=[_event("kill", 10.4, enemy_type="pmc"), _event("kill", 13.01, enemy_type="pmc")])
    kill = evaluate(truth, found).types[0]
    assert (kill.matched, kill.fields["enemy_type"].correct) == (1, 0)  # closest first: 10 ↔ 10.4; 13.01 is 2.01 s from 11
    assert evaluate(truth, EventLog(metadata={}, events=[])).types[0].precision is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0 and percentile([], 95) is None


def test_evaluate_command_prints_a_table_and_json(tmp_path: Path) -> None:
    write_event_log(_truth(), tmp_path / "t.json")
    write_event_log(_perturbed(), tmp_path / "e.json")
    out = StringIO()
    call_command("evaluate", truth=str(tmp_path / "t.json"), events=str(tmp_path / "e.json"), stdout=out)
    table = out.getvalue()
    assert "kill" in table and "75.0" in table and "weapon (kill)" in table
    out = StringIO()
    call_command("evaluate", "--json", truth=str(tmp_path / "t.json"), events=str(tmp_path / "e.json"), stdout=out)
    document = json.loads(out.getvalue())
    assert document["types"]["kill"]["recall"] == 0.75
    assert document["types"]["kill"]["fields"]["weapon"] == {"correct": 2, "total": 3, "accuracy": 0.6667}
    assert document["overall"]["matched"] == 8


def test_a_tie_in_time_goes_to_the_pair_whose_data_agrees() -> None:
    truth = EventLog(metadata={}, events=[_event("kill", 10, enemy_type="scav"), _event("kill", 11, enemy_type="pmc")])
    found = EventLog(metadata={}, events=[_event("kill", 10.5, enemy_type="pmc")])
    assert evaluate(truth, found).types[0].fields["enemy_type"].correct == 1
