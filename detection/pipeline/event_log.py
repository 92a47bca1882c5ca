"""The JSON event log (seed format): `{"metadata": {...}, "events": [...]}`.

One format for the detector's output, the renderer's truth files, the reviewed export
and the importer's input. Pure Python: the CLI, workers and the live process share it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any


class EventLogError(ValueError):
    """The file is not an event log this version understands; the message says where."""


@dataclass(frozen=True)
class LoggedEvent:
    event_id: str
    type: str
    video_offset_seconds: float
    data: dict[str, Any]
    timestamp: datetime | None = None
    frame_number: int = 0
    confidence: float = 1.0
    thumbnail: str = ""
    manually_reviewed: bool = False

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["timestamp"] = format_timestamp(self.timestamp)
        record["video_offset_seconds"] = round(self.video_offset_seconds, 3)
        record["confidence"] = round(self.confidence, 4)
        return record


@dataclass(frozen=True)
class EventLog:
    metadata: dict[str, Any]
    events: list[LoggedEvent] = field(default_factory=list)
    segments: list[tuple[float, float, str]] = field(default_factory=list)

    @property
    def started_at(self) -> datetime | None:
        return parse_timestamp(self.metadata.get("started_at"), where="metadata.started_at")

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"metadata": self.metadata, "events": [e.to_json() for e in self.events]}
        if self.segments:
            document["segments"] = [[round(s, 3), round(e, 3), screen] for s, e, screen in self.segments]
        return document


def format_timestamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {moment!r} has no time zone")
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(raw: object, *, where: str) -> datetime | None:
    if raw in (None, ""):
        return None
    if not isinstance(raw, str):
        raise EventLogError(f"{where}: expected an ISO 8601 string, got {raw!r}")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise EventLogError(f"{where}: {raw!r} is not an ISO 8601 timestamp") from exc
    if moment.tzinfo is None:
        raise EventLogError(f"{where}: {raw!r} has no offset or Z")
    return moment


def real_time(started_at: datetime | None, video_offset_seconds: float) -> datetime | None:
    return None if started_at is None else started_at + timedelta(seconds=video_offset_seconds)


def event_from_json(record: object, *, index: int) -> LoggedEvent:
    where = f"events[{index}]"
    if not isinstance(record, dict):
        raise EventLogError(f"{where}: expected an object")
    try:
        event_type = str(record["type"])
        offset = float(record["video_offset_seconds"])
    except (KeyError, TypeError, ValueError) as exc:
        raise EventLogError(f"{where}: needs 'type' and a numeric 'video_offset_seconds' ({exc})") from exc
    data = record.get("data") or {}
    if not isinstance(data, dict):
        raise EventLogError(f"{where}.data: expected an object")
    return LoggedEvent(
        event_id=str(record.get("event_id") or f"{event_type}-{offset:.3f}"),
        type=event_type,
        video_offset_seconds=offset,
        data=data,
        timestamp=parse_timestamp(record.get("timestamp"), where=f"{where}.timestamp"),
        frame_number=int(record.get("frame_number") or 0),
        confidence=float(record.get("confidence", 1.0)),
        thumbnail=str(record.get("thumbnail") or ""),
        manually_reviewed=bool(record.get("manually_reviewed", False)),
    )


def event_log_from_json(document: object) -> EventLog:
    if not isinstance(document, dict) or "events" not in document:
        raise EventLogError("an event log is an object with 'metadata' and 'events'")
    metadata = document.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise EventLogError("metadata: expected an object")
    raw_events = document["events"]
    if not isinstance(raw_events, list):
        raise EventLogError("events: expected a list")
    segments = [(float(s), float(e), str(screen)) for s, e, screen in document.get("segments") or []]
    return EventLog(
        metadata=metadata,
        events=[event_from_json(record, index=i) for i, record in enumerate(raw_events)],
        segments=segments,
    )


def read_event_log(path: str | Path) -> EventLog:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EventLogError(f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    try:
        return event_log_from_json(document)
    except EventLogError as exc:
        raise EventLogError(f"{path}: {exc}") from exc


def write_event_log(log: EventLog, path: str | Path) -> None:
    """Written to a temporary file and renamed, so a crash never leaves half a log."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(target.suffix + ".tmp")
    temporary.write_text(json.dumps(log.to_json(), indent=2, ensure_ascii=False), encoding="utf-8")
    temporary.replace(target)
