"""The stream-producer contract's vocabulary and body rules, in pure Python.

The hosted API validates requests with these functions and the import client validates its
plan with the same ones before sending, so a plan the target would refuse fails before any write.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

SESSION_TYPES = ("stream", "practice", "casual")
CHARACTER_TYPES = ("pmc", "scav")
GAME_MODES = ("pve", "pvp")
OUTCOMES = ("survived", "killed", "mia")
STATES = (
    "idle",
    "stash",
    "pre_raid",
    "queuing",
    "deploying",
    "raid_active",
    "survived",
    "killed_in_action",
    "missing_in_action",
    "post_raid_review",
)
MAX_TEXT = 64
MAX_NOTES = 2000


class ContractError(ValueError):
    """A body the contract refuses: the API answers 400 with this message."""


def format_time(moment: datetime) -> str:
    text = moment.astimezone(timezone.utc).isoformat(timespec="microseconds")
    # Whole seconds print without a fraction, so a round trip keeps the text the caller sent.
    return text.replace(".000000", "").replace("+00:00", "Z")


def parse_time(raw: object, *, name: str) -> datetime:
    if not isinstance(raw, str) or not raw:
        raise ContractError(f"{name}: expected an RFC 3339 timestamp string, got {raw!r}")
    try:
        moment = datetime.fromisoformat(raw.strip().replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ContractError(f"{name}: {raw!r} is not an RFC 3339 timestamp") from None
    if moment.tzinfo is None:
        raise ContractError(f"{name}: {raw!r} has no offset or Z")
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        # 0001-01-01T00:00+14:00 and 9999-12-31T23:59-14:00 parse, but have no UTC instant to store.
        raise ContractError(f"{name}: {raw!r} is out of range (its UTC time is before year 1 or after 9999)") from None


def optional_time(body: dict[str, Any], key: str) -> datetime | None:
    return None if body.get(key) in (None, "") else parse_time(body[key], name=key)


def stamped(moment: datetime | None) -> datetime:
    """A time that `import_body` has checked is present (the item bodies share it with the live calls,
    where a missing time means "now")."""
    if moment is None:
        raise ContractError("timestamp missing")
    return moment


def enum(body: dict[str, Any], key: str, allowed: tuple[str, ...], *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if value is None:
        raise ContractError(f"{key}: missing (one of {', '.join(allowed)})")
    if value not in allowed:
        raise ContractError(f"{key}: unknown value {value!r} (one of {', '.join(allowed)})")
    return str(value)


def text(body: dict[str, Any], key: str, *, required: bool = True, limit: int = MAX_TEXT) -> str | None:
    value = body.get(key)
    if value in (None, "") and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ContractError(f"{key}: missing or not a non-empty string")
    if len(value) > limit:
        raise ContractError(f"{key}: longer than {limit} characters")
    return value.strip()


def flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise ContractError(f"{key}: expected true or false, got {value!r}")
    return value


def not_before(moment: datetime, parent: datetime, *, name: str, parent_name: str) -> None:
    if moment < parent:
        raise ContractError(f"{name} {format_time(moment)} is earlier than {parent_name} {format_time(parent)}")


def not_after(moment: datetime, parent_end: datetime, *, name: str, parent_name: str) -> None:
    if moment > parent_end:
        raise ContractError(f"{name} {format_time(moment)} is after {parent_name} {format_time(parent_end)}")


def raids_apart(started_at: datetime, previous_end: datetime, *, name: str) -> None:
    """A raid starts once the one before it has ended: raids of one session never overlap."""
    if started_at < previous_end:
        raise ContractError(
            f"{name} {format_time(started_at)} overlaps the previous raid, which ended at {format_time(previous_end)}"
        )


@dataclass(frozen=True)
class KillBody:
    enemy_type: str
    weapon: str | None
    headshot: bool
    at: datetime | None


@dataclass(frozen=True)
class TransitionBody:
    to_state: str
    at: datetime | None


@dataclass(frozen=True)
class RaidEndBody:
    outcome: str
    extract_location: str | None
    at: datetime | None


@dataclass(frozen=True)
class RaidBody:
    map_name: str
    character_type: str
    game_mode: str
    at: datetime | None


@dataclass(frozen=True)
class ImportedRaid:
    raid: RaidBody
    end: RaidEndBody | None
    transitions: list[TransitionBody] = field(default_factory=list)
    kills: list[KillBody] = field(default_factory=list)


@dataclass(frozen=True)
class ImportBody:
    session_type: str
    started_at: datetime
    ended_at: datetime | None
    notes: str
    raids: list[ImportedRaid]


def _object(raw: object, *, name: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ContractError(f"{name}: expected a JSON object")
    return raw


def session_body(raw: object) -> tuple[str, str, datetime | None]:
    body = _object(raw, name="body")
    notes = body.get("notes") or ""
    if not isinstance(notes, str):
        raise ContractError("notes: expected a string")
    if len(notes) > MAX_NOTES:
        raise ContractError(f"notes: longer than {MAX_NOTES} characters")
    return str(enum(body, "session_type", SESSION_TYPES)), notes, optional_time(body, "started_at")


def raid_body(raw: object) -> RaidBody:
    body = _object(raw, name="body")
    return RaidBody(
        map_name=str(text(body, "map_name")),
        character_type=str(enum(body, "character_type", CHARACTER_TYPES)),
        game_mode=str(enum(body, "game_mode", GAME_MODES)),
        at=optional_time(body, "timestamp"),
    )


def transition_body(raw: object) -> TransitionBody:
    body = _object(raw, name="body")
    return TransitionBody(to_state=str(enum(body, "to_state", STATES)), at=optional_time(body, "timestamp"))


def kill_body(raw: object) -> KillBody:
    body = _object(raw, name="body")
    return KillBody(
        enemy_type=str(text(body, "enemy_type")),
        weapon=text(body, "weapon", required=False),
        headshot=flag(body, "headshot"),
        at=optional_time(body, "timestamp"),
    )


def raid_end_body(raw: object) -> RaidEndBody:
    body = _object(raw, name="body")
    return RaidEndBody(
        outcome=str(enum(body, "outcome", OUTCOMES)),
        extract_location=text(body, "extract_location", required=False, limit=128),
        at=optional_time(body, "timestamp"),
    )


def end_body(raw: object) -> datetime | None:
    return optional_time(_object(raw, name="body"), "timestamp")


def import_body(raw: object) -> ImportBody:
    """The whole-session body, checked top to bottom: enums, timestamps and their order."""
    body = _object(raw, name="body")
    session = _object(body.get("session"), name="session")
    try:
        session_type, notes, started_at = session_body(session)
        ended_at = optional_time(session, "ended_at")
    except ContractError as exc:
        raise ContractError(f"session.{exc}") from None
    if started_at is None:
        raise ContractError("session.started_at: missing")
    if ended_at is not None:
        not_before(ended_at, started_at, name="session.ended_at", parent_name="session.started_at")
    raw_raids = body.get("raids", [])
    if not isinstance(raw_raids, list):
        raise ContractError("raids: expected a list")
    raids = [_imported_raid(r, index=i, session_start=started_at) for i, r in enumerate(raw_raids)]
    _check_raid_order(raids, session_end=ended_at)
    return ImportBody(session_type=session_type, started_at=started_at, ended_at=ended_at, notes=notes, raids=raids)


def _check_raid_order(raids: list[ImportedRaid], *, session_end: datetime | None) -> None:
    """What the single calls enforce one at a time: raids in turn, each inside the session."""
    for index, item in enumerate(raids):
        where = f"raids[{index}]"
        if index > 0:
            previous = raids[index - 1].end
            if previous is None:
                raise ContractError(f"raids[{index - 1}]: only the last raid may be left active (no ended_at/outcome)")
            assert item.raid.at is not None and previous.at is not None  # both checked by _imported_raid
            raids_apart(item.raid.at, previous.at, name=f"{where}.started_at")
        if session_end is None:
            continue
        if item.end is None:
            raise ContractError(f"{where}: left active (no ended_at/outcome) in a session that has ended")
        for name, moment in (("started_at", item.raid.at), ("ended_at", item.end.at)):
            assert moment is not None
            not_after(moment, session_end, name=f"{where}.{name}", parent_name="the session's ended_at")


def _imported_raid(raw: object, *, index: int, session_start: datetime) -> ImportedRaid:
    where = f"raids[{index}]"
    try:
        body = _object(raw, name="raid")
        raid = raid_body({**body, "timestamp": body.get("started_at")})
        if raid.at is None:
            raise ContractError("started_at: missing")
        not_before(raid.at, session_start, name="started_at", parent_name="the session's started_at")
        end: RaidEndBody | None = None
        if body.get("outcome") is not None or body.get("ended_at") is not None:
            end = raid_end_body({**body, "timestamp": body.get("ended_at")})
            if end.at is None:
                raise ContractError("ended_at: missing while outcome is set")
            not_before(end.at, raid.at, name="ended_at", parent_name="the raid's started_at")
        transitions = [transition_body(t) for t in _list(body, "transitions")]
        kills = [kill_body(k) for k in _list(body, "kills")]
        for name, moment in [("transition", t.at) for t in transitions] + [("kill", k.at) for k in kills]:
            if moment is None:
                raise ContractError(f"{name}: timestamp missing")
            not_before(moment, raid.at, name=f"{name} timestamp", parent_name="the raid's started_at")
            if end is not None and end.at is not None:
                not_after(moment, end.at, name=f"{name} timestamp", parent_name="the raid's ended_at")
    except ContractError as exc:
        raise ContractError(f"{where}.{exc}") from None
    return ImportedRaid(raid=raid, end=end, transitions=transitions, kills=kills)


def _list(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key, [])
    if not isinstance(value, list):
        raise ContractError(f"{key}: expected a list")
    return value
