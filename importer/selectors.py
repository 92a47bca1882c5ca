"""Reads of the hosted stream-producer data: the contract's JSON shapes and the stats."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db.models import Count

from detection.models import Job, Recording
from importer.contract import OUTCOMES, format_time
from importer.models import Kill, Raid, RaidStateTransition, StreamSession

RECENT_JOBS = 50


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


def session_json(session: StreamSession) -> dict[str, Any]:
    return {
        "id": session.pk,
        "session_type": session.session_type,
        "started_at": _time(session.started_at),
        "ended_at": _time(session.ended_at),
        "notes": session.notes,
    }


def raid_json(raid: Raid) -> dict[str, Any]:
    return {
        "id": raid.pk,
        "session_id": raid.session_id,
        "map_name": raid.map_name,
        "character_type": raid.character_type,
        "game_mode": raid.game_mode,
        "started_at": _time(raid.started_at),
        "ended_at": _time(raid.ended_at),
        "outcome": raid.outcome,
        "extract_location": raid.extract_location,
    }


def raid_detail_json(raid: Raid) -> dict[str, Any]:
    """`GET /api/raid/{id}`: not in the contract; the client uses it, when present, to reconcile lost answers."""
    return {**raid_json(raid), "kill_count": raid.kills.count(), "transition_count": raid.transitions.count()}


def transition_json(transition: RaidStateTransition) -> dict[str, Any]:
    return {
        "id": transition.pk,
        "raid_id": transition.raid_id,
        "from_state": transition.from_state,
        "to_state": transition.to_state,
        "transitioned_at": _time(transition.transitioned_at),
    }


def kill_json(kill: Kill) -> dict[str, Any]:
    return {
        "id": kill.pk,
        "raid_id": kill.raid_id,
        "enemy_type": kill.enemy_type,
        "weapon": kill.weapon,
        "headshot": kill.headshot,
        "killed_at": _time(kill.killed_at),
    }


def sessions_started_at(*, owner: Any, started_at: datetime) -> list[StreamSession]:
    return list(StreamSession.objects.filter(owner=owner, started_at=started_at))


def current_raid(*, owner: Any) -> Raid | None:
    return Raid.objects.filter(session__owner=owner, session__ended_at__isnull=True, ended_at__isnull=True).first()


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else float(numerator)


def _map_stats(raids: int, kills: int, outcomes: dict[str, int]) -> dict[str, Any]:
    ended = sum(outcomes.values())
    return {
        "raids": raids,
        "kills": kills,
        **outcomes,
        "kd_ratio": _ratio(kills, outcomes["killed"]),
        "survival_rate": round(outcomes["survived"] / ended, 4) if ended else 0.0,
    }


def stats(*, owner: Any) -> dict[str, Any]:
    """The contract's stats, plus `outcomes` totals (extra keys a client may use when present)."""
    raids = list(
        Raid.objects.filter(session__owner=owner)
        .order_by("session_id", "started_at", "id")
        .values_list("id", "session_id", "map_name", "started_at", "ended_at", "outcome")
    )
    kills_per_raid: dict[int, int] = dict(
        Kill.objects.filter(raid__session__owner=owner)
        .values("raid_id")
        .annotate(n=Count("id"))
        .values_list("raid_id", "n")
    )
    per_map: dict[str, dict[str, int]] = defaultdict(lambda: {"raids": 0, "kills": 0, **{o: 0 for o in OUTCOMES}})
    gaps: list[float] = []
    previous: tuple[int, datetime] | None = None
    for raid_id, session_id, map_name, started_at, ended_at, outcome in raids:
        entry = per_map[map_name]
        entry["raids"] += 1
        entry["kills"] += kills_per_raid.get(raid_id, 0)
        if outcome:
            entry[outcome] += 1
        if previous is not None and previous[0] == session_id:
            # Overlapping raids (rows from before the contract refused them) count as back to back.
            gaps.append(max(0.0, (started_at - previous[1]).total_seconds() / 60))
        previous = (session_id, ended_at or started_at)
    totals = {o: sum(m[o] for m in per_map.values()) for o in OUTCOMES}
    total_kills = sum(kills_per_raid.values())
    summary = _map_stats(len(raids), total_kills, totals)
    return {
        "sessions": StreamSession.objects.filter(owner=owner).count(),
        "raids": len(raids),
        "kills": total_kills,
        "kd_ratio": summary["kd_ratio"],
        "survival_rate": summary["survival_rate"],
        "avg_minutes_between_raids": round(sum(gaps) / len(gaps), 2) if gaps else None,
        "by_map": {
            name: _map_stats(m["raids"], m["kills"], {o: m[o] for o in OUTCOMES}) for name, m in sorted(per_map.items())
        },
        "outcomes": totals,
    }


def recent_sessions(*, owner: Any, limit: int = 20) -> list[dict[str, Any]]:
    sessions = (
        StreamSession.objects.filter(owner=owner)
        .annotate(raid_count=Count("raids", distinct=True), kill_count=Count("raids__kills"))
        .order_by("-started_at")[:limit]
    )
    return [{**session_json(s), "started": s.started_at, "raids": s.raid_count, "kills": s.kill_count} for s in sessions]


def hosted_snapshot(*, owner: Any) -> list[dict[str, Any]]:
    """Everything one owner holds, ids left out: two imports of the same log compare equal."""
    snapshot = []
    for session in StreamSession.objects.filter(owner=owner).prefetch_related("raids__transitions", "raids__kills"):
        record = {k: v for k, v in session_json(session).items() if k != "id"}
        record["raids"] = [
            {
                **{k: v for k, v in raid_json(raid).items() if k not in ("id", "session_id")},
                "transitions": [(t.from_state, t.to_state, _time(t.transitioned_at)) for t in raid.transitions.all()],
                "kills": [(k.enemy_type, k.weapon, k.headshot, _time(k.killed_at)) for k in raid.kills.all()],
            }
            for raid in session.raids.all()
        ]
        snapshot.append(record)
    return snapshot


def last_import_job(recording: Recording) -> Job | None:
    """The newest import job that covered this recording (alone or in an admin selection)."""
    for job in Job.objects.filter(kind=Job.Kind.IMPORT).order_by("-created_at", "-id")[:RECENT_JOBS]:
        ids = job.params.get("recording_ids") or [job.recording_id]
        if recording.pk in ids:
            return job
    return None


def import_jobs_for(*, user: Any, limit: int = 8) -> list[Job]:
    return list(Job.objects.filter(kind=Job.Kind.IMPORT, created_by=user).select_related("recording")[:limit])
