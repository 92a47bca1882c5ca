"""Seeded synthetic reviewed logs in the shared event-log format: for tests and bench/bench_import.py.

A session is a chain of raid cycles following the demo game's state machine
(stash → pre_raid → queuing → deploying → raid_active → outcome → post_raid_review → stash).
"""
from __future__ import annotations

import random
from datetime import datetime

from detection.pipeline.event_log import EventLog, LoggedEvent, format_timestamp, real_time

MAPS = {
    "CUSTOMS": ["ZB-1011", "CROSSROADS", "SMUGGLER'S BOAT"],
    "WOODS": ["OUTSKIRTS", "UN ROADBLOCK"],
    "SHORELINE": ["TUNNEL", "PIER BOAT"],
    "STREETS OF TARKOV": ["EVACUATION ZONE", "ROUTE 44"],
    "FACTORY": ["GATE 0", "CELLARS"],
}
ENEMIES = ["SCAV", "PMC", "RAIDER", "ROGUE", "BOSS", "CULTIST"]
WEAPONS = ["AK-74M", "M4A1", "MP5", "SVDS", "VECTOR .45", "AS VAL"]
TERMINAL = {"survived": "survived", "killed": "killed_in_action", "mia": "missing_in_action"}


def synthetic_log(*, started_at: datetime, events: int = 200, seed: int = 0, source: str = "synthetic.mkv") -> EventLog:
    """At least `events` events (whole raid cycles), times drawn from `seed`."""
    rng = random.Random(seed)
    out: list[LoggedEvent] = []
    clock = 5.0
    state = "idle"

    def emit(kind: str, data: dict[str, object], at: float) -> None:
        out.append(
            LoggedEvent(
                event_id=f"{kind}-{len(out):06d}",
                type=kind,
                video_offset_seconds=round(at, 3),
                data=data,
                timestamp=real_time(started_at, round(at, 3)),
                manually_reviewed=True,
            )
        )

    def move(to_state: str, at: float) -> None:
        nonlocal state
        emit("state_transition", {"from_state": state, "to_state": to_state}, at)
        state = to_state

    move("stash", clock)
    while len(out) < events:
        for to_state in ("pre_raid", "queuing", "deploying"):
            clock += rng.uniform(10, 90)
            move(to_state, clock)
        clock += rng.uniform(20, 60)
        map_name = rng.choice(list(MAPS))
        emit("raid_start", {"map_name": map_name, "character_type": rng.choice(["pmc", "scav"]),
                            "game_mode": rng.choice(["pve", "pvp"])}, clock)
        move("raid_active", clock)
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3, 5])):
            clock += rng.uniform(15, 240)
            emit("kill", {"enemy_type": rng.choice(ENEMIES), "weapon": rng.choice(WEAPONS),
                          "headshot": rng.random() < 0.3}, clock)
        clock += rng.uniform(60, 600)
        outcome = rng.choices(list(TERMINAL), weights=[6, 3, 1])[0]
        end: dict[str, object] = {"outcome": outcome}
        if outcome == "survived":
            end["extract_location"] = rng.choice(MAPS[map_name])
        if outcome == "killed":
            end["killed_by"] = rng.choice(ENEMIES)
        emit("raid_end", end, clock)
        move(TERMINAL[outcome], clock)
        clock += rng.uniform(5, 20)
        move("post_raid_review", clock)
        clock += rng.uniform(10, 60)
        move("stash", clock)
    metadata = {
        "source": source,
        "started_at": format_timestamp(started_at),
        "duration_seconds": round(clock + 30, 3),
        "manually_reviewed": True,
    }
    return EventLog(metadata=metadata, events=out)
