"""Reviewed event log → import plan (session → raids → transitions → kills → raid end → session end).

Pure Python. Every time in a plan is the recording's start plus the event's video offset, so
a backfill keeps when things really happened. The plan is checked against the contract's own
rules before anything is sent: a plan the target would refuse fails here, with no write made.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from detection.pipeline.event_log import EventLog, LoggedEvent, real_time
from importer import contract
from importer.contract import ContractError, format_time

# At one video offset a raid opens before what happens in it, and closes after.
EVENT_ORDER = {"raid_start": 0, "state_transition": 1, "kill": 2, "raid_end": 3}
# The raid_active transition and raid_start come from the same frame; rounding may split them.
_START_SLACK = timedelta(seconds=2)
_OUTCOME_ALIASES = {"killed_in_action": "killed", "missing_in_action": "mia", "extracted": "survived"}


class PlanError(ValueError):
    """The log cannot become a valid import; the message names the event."""


@dataclass(frozen=True)
class PlannedTransition:
    to_state: str
    at: datetime


@dataclass(frozen=True)
class PlannedKill:
    enemy_type: str
    weapon: str | None
    headshot: bool
    at: datetime


@dataclass(frozen=True)
class PlannedRaid:
    map_name: str
    character_type: str
    game_mode: str
    started_at: datetime
    ended_at: datetime
    outcome: str
    extract_location: str | None
    transitions: tuple[PlannedTransition, ...] = ()
    kills: tuple[PlannedKill, ...] = ()


@dataclass(frozen=True)
class SessionPlan:
    source: str
    session_type: str
    started_at: datetime
    ended_at: datetime
    notes: str
    raids: tuple[PlannedRaid, ...]
    event_count: int
    warnings: tuple[str, ...] = ()
    recording_id: int | None = None

    @property
    def kill_count(self) -> int:
        return sum(len(r.kills) for r in self.raids)

    @property
    def transition_count(self) -> int:
        return sum(len(r.transitions) for r in self.raids)

    def outcomes(self) -> dict[str, int]:
        return {o: sum(1 for r in self.raids if r.outcome == o) for o in contract.OUTCOMES}


@dataclass(frozen=True)
class Step:
    """One individual call. `path` may hold `{raid}`, filled with the remote id of raid `raid_index`."""

    key: str
    kind: str
    method: str
    path: str
    body: dict[str, Any]
    raid_index: int | None = None
    at: datetime | None = None


@dataclass
class _OpenRaid:
    data: dict[str, Any]
    started_at: datetime
    transitions: list[PlannedTransition] = field(default_factory=list)
    kills: list[PlannedKill] = field(default_factory=list)


def map_name(raw: object) -> str:
    return "_".join(str(raw or "").strip().lower().split())


def _lower(raw: object) -> str | None:
    value = str(raw or "").strip().lower()
    return value or None


def build_session_plan(
    log: EventLog,
    *,
    source: str,
    session_type: str | None = None,
    started_at: datetime | None = None,
    recording_id: int | None = None,
) -> SessionPlan:
    start = started_at or log.started_at or _first_timestamp(log.events)
    if start is None:
        raise PlanError(f"{source}: no started_at in the log's metadata and no event timestamps")
    kind = session_type or str(log.metadata.get("session_type") or "stream")
    warnings: list[str] = []
    raids: list[PlannedRaid] = []
    open_raid: _OpenRaid | None = None
    last_outside: PlannedTransition | None = None
    last_time = start

    def at(event: LoggedEvent) -> datetime:
        moment = real_time(start, event.video_offset_seconds) if started_at or log.started_at else event.timestamp
        return moment or start

    for event in sorted(log.events, key=lambda e: (e.video_offset_seconds, EVENT_ORDER.get(e.type, 9))):
        moment = at(event)
        last_time = max(last_time, moment)
        where = f"{event.type} at {_clock(event.video_offset_seconds)}"
        if event.type == "raid_start":
            if open_raid is not None:
                warnings.append(f"raid from {format_time(open_raid.started_at)} has no raid_end: not imported")
            open_raid = _OpenRaid(data=event.data, started_at=moment)
            if last_outside and last_outside.to_state == "raid_active" and moment - last_outside.at <= _START_SLACK:
                open_raid.transitions.append(PlannedTransition("raid_active", moment))
            last_outside = None
        elif event.type == "state_transition":
            to_state = _lower(event.data.get("to_state"))
            if to_state not in contract.STATES:
                raise PlanError(f"{source}: {where}: unknown to_state {event.data.get('to_state')!r}")
            transition = PlannedTransition(to_state, moment)
            if open_raid is not None:
                open_raid.transitions.append(transition)
            else:
                last_outside = transition
        elif event.type == "kill":
            if open_raid is None:
                warnings.append(f"{where} falls outside any raid: not imported")
                continue
            open_raid.kills.append(_kill(event, moment, source=source, where=where))
        elif event.type == "raid_end":
            if open_raid is None:
                warnings.append(f"{where} has no raid_start: not imported")
                continue
            raids.append(_raid(open_raid, event, moment, source=source, where=where))
            open_raid = None
        else:
            warnings.append(f"{where}: unknown event type, ignored")
    if open_raid is not None:
        warnings.append(f"raid from {format_time(open_raid.started_at)} has no raid_end: not imported")
    duration = log.metadata.get("duration_seconds")
    end = start + timedelta(seconds=float(duration)) if duration else last_time
    end = max([end, last_time] + [r.ended_at for r in raids])
    name = str(log.metadata.get("source") or log.metadata.get("title") or source)
    plan = SessionPlan(
        source=source,
        session_type=kind,
        # Whole seconds: the duplicate check matches started_at exactly, and a target that keeps
        # fewer digits than we send would otherwise never find the session again.
        started_at=start.replace(microsecond=0),
        ended_at=end,
        notes=f"from {name}",
        raids=tuple(raids),
        event_count=len(log.events),
        warnings=tuple(warnings),
        recording_id=recording_id,
    )
    try:
        contract.import_body(atomic_body(plan))
    except ContractError as exc:
        raise PlanError(f"{source}: {exc}") from None
    return plan


def _raid(open_raid: _OpenRaid, event: LoggedEvent, moment: datetime, *, source: str, where: str) -> PlannedRaid:
    data = open_raid.data
    outcome = _lower(event.data.get("outcome"))
    outcome = _OUTCOME_ALIASES.get(outcome or "", outcome)
    missing = [
        name
        for name, value in (
            ("map_name", map_name(data.get("map_name"))),
            ("character_type", _lower(data.get("character_type"))),
            ("game_mode", _lower(data.get("game_mode"))),
            ("outcome", outcome),
        )
        if not value
    ]
    if missing:
        raise PlanError(f"{source}: raid ending with {where}: missing {', '.join(missing)}")
    return PlannedRaid(
        map_name=map_name(data.get("map_name")),
        character_type=str(_lower(data.get("character_type"))),
        game_mode=str(_lower(data.get("game_mode"))),
        started_at=open_raid.started_at,
        ended_at=moment,
        outcome=str(outcome),
        extract_location=_lower(event.data.get("extract_location")) if outcome == "survived" else None,
        transitions=tuple(open_raid.transitions),
        kills=tuple(open_raid.kills),
    )


def _kill(event: LoggedEvent, moment: datetime, *, source: str, where: str) -> PlannedKill:
    enemy = _lower(event.data.get("enemy_type"))
    if not enemy:
        raise PlanError(f"{source}: {where}: enemy_type missing")
    weapon = str(event.data.get("weapon") or "").strip() or None
    return PlannedKill(enemy_type=enemy, weapon=weapon, headshot=bool(event.data.get("headshot")), at=moment)


def _first_timestamp(events: list[LoggedEvent]) -> datetime | None:
    stamped = [e for e in events if e.timestamp is not None]
    if not stamped:
        return None
    first = min(stamped, key=lambda e: e.video_offset_seconds)
    assert first.timestamp is not None
    return first.timestamp - timedelta(seconds=first.video_offset_seconds)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def atomic_body(plan: SessionPlan) -> dict[str, Any]:
    """The body of `POST /api/import/session`."""
    return {
        "session": {
            "session_type": plan.session_type,
            "started_at": format_time(plan.started_at),
            "ended_at": format_time(plan.ended_at),
            "notes": plan.notes,
        },
        "raids": [
            {
                "map_name": raid.map_name,
                "character_type": raid.character_type,
                "game_mode": raid.game_mode,
                "started_at": format_time(raid.started_at),
                "ended_at": format_time(raid.ended_at),
                "outcome": raid.outcome,
                "extract_location": raid.extract_location,
                "transitions": [{"to_state": t.to_state, "timestamp": format_time(t.at)} for t in raid.transitions],
                "kills": [_kill_body(k) for k in raid.kills],
            }
            for raid in plan.raids
        ],
    }


def _kill_body(kill: PlannedKill) -> dict[str, Any]:
    return {
        "enemy_type": kill.enemy_type,
        "weapon": kill.weapon,
        "headshot": kill.headshot,
        "timestamp": format_time(kill.at),
    }


def plan_steps(plan: SessionPlan) -> list[Step]:
    """The individual calls, in time order; within a raid, transitions and kills interleave by time."""
    session = {"session_type": plan.session_type, "notes": plan.notes, "started_at": format_time(plan.started_at)}
    steps = [Step("session", "session", "POST", "/api/session", session, at=plan.started_at)]
    for index, raid in enumerate(plan.raids):
        prefix = f"raid:{index}"
        body = {
            "map_name": raid.map_name,
            "character_type": raid.character_type,
            "game_mode": raid.game_mode,
            "timestamp": format_time(raid.started_at),
        }
        steps.append(Step(prefix, "raid", "POST", "/api/raid", body, index, raid.started_at))
        inner = [
            Step(f"{prefix}:transition:{i}", "transition", "POST", "/api/raid/{raid}/transition",
                 {"to_state": t.to_state, "timestamp": format_time(t.at)}, index, t.at)
            for i, t in enumerate(raid.transitions)
        ] + [
            Step(f"{prefix}:kill:{i}", "kill", "POST", "/api/raid/{raid}/kill", _kill_body(k), index, k.at)
            for i, k in enumerate(raid.kills)
        ]  # fmt: skip
        steps += sorted(inner, key=lambda s: s.at or raid.started_at)
        end = {
            "outcome": raid.outcome,
            "extract_location": raid.extract_location,
            "timestamp": format_time(raid.ended_at),
        }
        steps.append(Step(f"{prefix}:end", "raid_end", "POST", "/api/raid/{raid}/end", end, index, raid.ended_at))
    end_body = {"timestamp": format_time(plan.ended_at)}
    steps.append(Step("session:end", "session_end", "POST", "/api/session/end", end_body, at=plan.ended_at))
    return steps


def plan_fingerprint(plan: SessionPlan) -> str:
    """Changes whenever the steps would: a half-done import resumes only into the same plan."""
    document = [(s.key, s.path, s.body) for s in plan_steps(plan)]
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
