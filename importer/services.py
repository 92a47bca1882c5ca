"""Writes behind the hosted stream-producer API (one owner's data each) and the import settings."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from importer import contract
from importer.contract import ContractError
from importer.models import ImportTarget, Kill, Raid, RaidStateTransition, StreamSession

if TYPE_CHECKING:
    from detection.models import Job, Recording


class HostedError(Exception):
    """A refusal the API turns into `{"error": message}` with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _conflict(message: str) -> HostedError:
    return HostedError(409, message)


def _bad(exc: ContractError) -> HostedError:
    return HostedError(400, str(exc))


def _lock_owner(owner: Any) -> None:
    # Serialises one owner's state changes on PostgreSQL; SQLite's IMMEDIATE transactions already do.
    get_user_model().objects.select_for_update().filter(pk=owner.pk).first()


def active_session(owner: Any) -> StreamSession | None:
    return StreamSession.objects.filter(owner=owner, ended_at__isnull=True).first()


def owned_raid(owner: Any, raid_id: int) -> Raid:
    raid = Raid.objects.select_related("session").filter(pk=raid_id, session__owner=owner).first()
    if raid is None:
        raise HostedError(404, f"raid {raid_id} not found")
    return raid


def stream_session_start(*, owner: Any, body: object) -> StreamSession:
    try:
        session_type, notes, started_at = contract.session_body(body)
    except ContractError as exc:
        raise _bad(exc) from None
    with transaction.atomic():
        _lock_owner(owner)
        current = active_session(owner)
        if current is not None:
            raise _conflict(f"session {current.pk} is still active")
        try:
            with transaction.atomic():
                return StreamSession.objects.create(
                    owner=owner, session_type=session_type, notes=notes, started_at=started_at or timezone.now()
                )
        except IntegrityError:
            raise _conflict("another session is active") from None


def stream_session_end(*, owner: Any, body: object) -> StreamSession:
    try:
        at = contract.end_body(body)
    except ContractError as exc:
        raise _bad(exc) from None
    with transaction.atomic():
        _lock_owner(owner)
        session = active_session(owner)
        if session is None:
            raise HostedError(404, "no session is active")
        active_raid = session.raids.filter(ended_at__isnull=True).first()
        if active_raid is not None:
            raise _conflict(f"raid {active_raid.pk} is still active; end it before the session")
        ended_at = at or timezone.now()
        _not_before(ended_at, session.started_at, "timestamp", "the session's started_at")
        last_raid_end = session.raids.aggregate(last=Max("ended_at"))["last"]
        if last_raid_end is not None:
            _not_before(ended_at, last_raid_end, "timestamp", "the end of the session's last raid")
        session.ended_at = ended_at
        session.save(update_fields=["ended_at"])
        return session


def raid_start(*, owner: Any, body: object) -> Raid:
    try:
        parsed = contract.raid_body(body)
    except ContractError as exc:
        raise _bad(exc) from None
    with transaction.atomic():
        _lock_owner(owner)
        session = active_session(owner)
        if session is None:
            raise _conflict("no session is active")
        current = session.raids.filter(ended_at__isnull=True).first()
        if current is not None:
            raise _conflict(f"raid {current.pk} is still active")
        started_at = parsed.at or timezone.now()
        _not_before(started_at, session.started_at, "timestamp", "the session's started_at")
        previous_end = session.raids.aggregate(last=Max("ended_at"))["last"]
        if previous_end is not None:
            try:
                contract.raids_apart(started_at, previous_end, name="timestamp")
            except ContractError as exc:
                raise _bad(exc) from None
        return Raid.objects.create(
            session=session,
            map_name=parsed.map_name,
            character_type=parsed.character_type,
            game_mode=parsed.game_mode,
            started_at=started_at,
        )


def raid_transition_add(*, owner: Any, raid_id: int, body: object) -> RaidStateTransition:
    try:
        parsed = contract.transition_body(body)
    except ContractError as exc:
        raise _bad(exc) from None
    with transaction.atomic():
        raid = _writable_raid(owner, raid_id)
        at = parsed.at or timezone.now()
        _not_before(at, raid.started_at, "timestamp", "the raid's started_at")
        last = raid.transitions.order_by("-transitioned_at", "-id").values_list("to_state", flat=True).first()
        return RaidStateTransition.objects.create(raid=raid, from_state=last, to_state=parsed.to_state, transitioned_at=at)


def raid_kill_add(*, owner: Any, raid_id: int, body: object) -> Kill:
    try:
        parsed = contract.kill_body(body)
    except ContractError as exc:
        raise _bad(exc) from None
    with transaction.atomic():
        raid = _writable_raid(owner, raid_id)
        at = parsed.at or timezone.now()
        _not_before(at, raid.started_at, "timestamp", "the raid's started_at")
        return Kill.objects.create(
            raid=raid, enemy_type=parsed.enemy_type, weapon=parsed.weapon, headshot=parsed.headshot, killed_at=at
        )


def raid_end(*, owner: Any, raid_id: int, body: object) -> Raid:
    try:
        parsed = contract.raid_end_body(body)
    except ContractError as exc:
        raise _bad(exc) from None
    with transaction.atomic():
        _lock_owner(owner)
        raid = owned_raid(owner, raid_id)
        if raid.ended_at is not None:
            raise _conflict(f"raid {raid_id} has already ended")
        at = parsed.at or timezone.now()
        _not_before(at, raid.started_at, "timestamp", "the raid's started_at")
        for name, moment in _last_moments(raid):
            _not_before(at, moment, "timestamp", f"the raid's last {name}")
        raid.ended_at = at
        raid.outcome = parsed.outcome
        raid.extract_location = parsed.extract_location
        raid.save(update_fields=["ended_at", "outcome", "extract_location"])
        return raid


def session_import(*, owner: Any, body: object) -> dict[str, int]:
    """The whole session in one transaction: everything is written or nothing is."""
    try:
        parsed = contract.import_body(body)
    except ContractError as exc:
        raise _bad(exc) from None
    with transaction.atomic():
        _lock_owner(owner)
        if StreamSession.objects.filter(owner=owner, started_at=parsed.started_at).exists():
            raise _conflict(f"a session starting at {contract.format_time(parsed.started_at)} already exists")
        if parsed.ended_at is None and active_session(owner) is not None:
            raise _conflict("another session is active")
        session = StreamSession.objects.create(
            owner=owner,
            session_type=parsed.session_type,
            started_at=parsed.started_at,
            ended_at=parsed.ended_at,
            notes=parsed.notes,
        )
        raids = Raid.objects.bulk_create(
            [
                Raid(
                    session=session,
                    map_name=item.raid.map_name,
                    character_type=item.raid.character_type,
                    game_mode=item.raid.game_mode,
                    started_at=contract.stamped(item.raid.at),
                    ended_at=item.end.at if item.end else None,
                    outcome=item.end.outcome if item.end else None,
                    extract_location=item.end.extract_location if item.end else None,
                )
                for item in parsed.raids
            ]
        )
        transitions: list[RaidStateTransition] = []
        kills: list[Kill] = []
        for raid, item in zip(raids, parsed.raids, strict=True):
            previous: str | None = None
            for step in sorted(item.transitions, key=lambda t: t.at or raid.started_at):
                transitions.append(
                    RaidStateTransition(
                        raid=raid, from_state=previous, to_state=step.to_state, transitioned_at=contract.stamped(step.at)
                    )
                )
                previous = step.to_state
            kills += [
                Kill(raid=raid, enemy_type=k.enemy_type, weapon=k.weapon, headshot=k.headshot,
                     killed_at=contract.stamped(k.at))
                for k in item.kills
            ]
        RaidStateTransition.objects.bulk_create(transitions, batch_size=2000)
        Kill.objects.bulk_create(kills, batch_size=2000)
    return {"session_id": session.pk, "raids": len(raids), "kills": len(kills), "transitions": len(transitions)}


def import_target_save(*, owner: Any, api_url: str, token: str) -> ImportTarget:
    target, _ = ImportTarget.objects.update_or_create(owner=owner, defaults={"api_url": api_url.rstrip("/"), "token": token})
    return target


def _writable_raid(owner: Any, raid_id: int) -> Raid:
    raid = owned_raid(owner, raid_id)
    if raid.ended_at is not None:
        raise _conflict(f"raid {raid_id} has ended")
    if raid.session.ended_at is not None:
        raise _conflict(f"raid {raid_id} belongs to a session that has ended")
    return raid


def _last_moments(raid: Raid) -> list[tuple[str, datetime]]:
    """The raid's latest kill and transition: its end may not come before them."""
    last_kill = raid.kills.aggregate(last=Max("killed_at"))["last"]
    last_transition = raid.transitions.aggregate(last=Max("transitioned_at"))["last"]
    return [(name, moment) for name, moment in (("kill", last_kill), ("transition", last_transition)) if moment]


def _not_before(moment: datetime, parent: datetime, name: str, parent_name: str) -> None:
    try:
        contract.not_before(moment, parent, name=name, parent_name=parent_name)
    except ContractError as exc:
        raise _bad(exc) from None


def import_job_create(*, user: Any, recordings: list[Recording], dry_run: bool = False) -> Job:
    """One job for the whole selection, so its sessions go out in time order across recordings."""
    from detection.models import Job
    from project.jobs.services import job_create

    ordered = sorted(recordings, key=lambda r: (r.started_at is None, r.started_at, r.pk))
    return job_create(
        kind=Job.Kind.IMPORT,
        recording=ordered[0] if len(ordered) == 1 else None,
        created_by=user,
        params={"recording_ids": [r.pk for r in ordered], "dry_run": dry_run},
    )
