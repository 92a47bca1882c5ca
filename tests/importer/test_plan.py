"""Event log → plan: raids, where transitions and kills go, real timestamps, stored forms."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from detection.pipeline.event_log import EventLog, LoggedEvent, format_timestamp
from importer.contract import import_body
from importer.plan import PlanError, atomic_body, build_session_plan, plan_fingerprint, plan_steps
from importer.sample_log import synthetic_log

pytestmark = pytest.mark.pure
T0 = datetime(2026, 1, 15, 18, 0, tzinfo=timezone.utc)


def _event(kind: str, offset: float, **data: object) -> LoggedEvent:
    return LoggedEvent(event_id=f"{kind}-{offset}", type=kind, video_offset_seconds=offset, data=data)


def _log(*events: LoggedEvent, **metadata: object) -> EventLog:
    return EventLog(metadata={"started_at": format_timestamp(T0), "source": "2026-01-15_stream.mkv", **metadata}, events=list(events))


RAID_EVENTS = [
    _event("state_transition", 300.0, from_state="queuing", to_state="deploying"),
    _event("state_transition", 370.0, from_state="deploying", to_state="raid_active"),
    _event("raid_start", 370.0, map_name="STREETS OF TARKOV", character_type="PMC", game_mode="pve"),
    _event("kill", 500.0, enemy_type="SCAV", weapon="AK-74M", headshot=True),
    _event("kill", 900.5, enemy_type="Raider", weapon="MP5", headshot=False),
    _event("raid_end", 2282.0, outcome="survived", extract_location="ROUTE 44"),
    _event("state_transition", 2282.0, from_state="raid_active", to_state="survived"),
    _event("state_transition", 2290.0, from_state="survived", to_state="post_raid_review"),
]


def test_a_raid_with_its_transitions_and_kills_at_real_times() -> None:
    plan = build_session_plan(_log(*RAID_EVENTS, duration_seconds=10800), source="a.json")
    assert plan.started_at == T0 and plan.ended_at == T0 + timedelta(hours=3)
    assert plan.notes == "from 2026-01-15_stream.mkv" and plan.session_type == "stream"
    (raid,) = plan.raids
    assert (raid.map_name, raid.character_type, raid.game_mode) == ("streets_of_tarkov", "pmc", "pve")
    assert raid.started_at == T0 + timedelta(seconds=370) and raid.ended_at == T0 + timedelta(seconds=2282)
    assert (raid.outcome, raid.extract_location) == ("survived", "route 44")
    assert [t.to_state for t in raid.transitions] == ["raid_active", "survived"]
    assert [(k.enemy_type, k.weapon, k.headshot) for k in raid.kills] == [("scav", "AK-74M", True), ("raider", "MP5", False)]
    assert raid.kills[1].at == T0 + timedelta(seconds=900.5)


def test_steps_follow_the_contract_order() -> None:
    steps = plan_steps(build_session_plan(_log(*RAID_EVENTS), source="a.json"))
    assert [s.key for s in steps] == [
        "session", "raid:0", "raid:0:transition:0", "raid:0:kill:0", "raid:0:kill:1", "raid:0:transition:1", "raid:0:end", "session:end",
    ]
    assert steps[3].path == "/api/raid/{raid}/kill" and steps[3].body["timestamp"] == "2026-01-15T18:08:20Z"


def test_kills_outside_raids_and_unfinished_raids_are_reported_not_imported() -> None:
    events = [
        _event("kill", 10.0, enemy_type="scav"),
        _event("raid_start", 20.0, map_name="woods", character_type="scav", game_mode="pvp"),
        _event("kill", 30.0, enemy_type="pmc"),
    ]
    plan = build_session_plan(_log(*events), source="a.json")
    assert plan.raids == ()
    assert any("outside any raid" in w for w in plan.warnings)
    assert any("no raid_end" in w for w in plan.warnings)


def test_a_raid_missing_its_map_is_a_plan_error() -> None:
    events = [_event("raid_start", 20.0, character_type="scav", game_mode="pvp"), _event("raid_end", 40.0, outcome="mia")]
    with pytest.raises(PlanError, match="map_name"):
        build_session_plan(_log(*events), source="a.json")


def test_without_a_start_time_the_plan_refuses() -> None:
    with pytest.raises(PlanError, match="started_at"):
        build_session_plan(EventLog(metadata={}, events=[_event("kill", 1.0, enemy_type="scav")]), source="x")


def test_synthetic_logs_plan_cleanly_and_fingerprints_are_stable() -> None:
    log = synthetic_log(started_at=T0, events=500, seed=3)
    plan = build_session_plan(log, source="s.json")
    assert len(log.events) >= 500 and plan.warnings == ()
    import_body(atomic_body(plan))  # the contract accepts it
    assert plan_fingerprint(plan) == plan_fingerprint(build_session_plan(log, source="s.json"))
    other = build_session_plan(synthetic_log(started_at=T0, events=500, seed=4), source="s.json")
    assert plan_fingerprint(other) != plan_fingerprint(plan)


def test_the_session_starts_on_a_whole_second_and_events_keep_their_fraction() -> None:
    start = T0 + timedelta(microseconds=456_000)
    plan = build_session_plan(_log(*RAID_EVENTS), source="a.json", started_at=start)
    assert plan.started_at == T0
    assert plan.raids[0].kills[0].at == start + timedelta(seconds=500)
