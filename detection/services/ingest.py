"""Registering videos: a server path, a whole folder, or a finished upload becomes a Recording.

Every refusal is an `IngestError` whose message is meant for the person who asked, and no
row is left behind: the Recording is created only after the file was fingerprinted and probed.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from detection.models import Recording, SessionType
from detection.pipeline.probe import ProbeError, probe_video

FINGERPRINT_SAMPLE_BYTES = 4 * 1024 * 1024
NAME_MAX_BYTES = 255
EARLIEST_START = datetime(1900, 1, 1, tzinfo=dt_timezone.utc)
LATEST_START = datetime(3000, 1, 1, tzinfo=dt_timezone.utc)


class IngestError(Exception):
    """Bad input, said in words a user understands."""


class DuplicateRecording(IngestError):
    def __init__(self, recording: Recording) -> None:
        super().__init__(f"already registered as recording #{recording.pk} ({recording.title})")
        self.recording = recording


@dataclass(frozen=True)
class IngestResult:
    path: str
    status: str  # "created", "duplicate" or "error"
    message: str
    recording: Recording | None = None


def allowed_roots() -> list[Path]:
    return [Path(root).resolve() for root in settings.VODSCOPE_ALLOWED_ROOTS]


def resolve_allowed_path(raw: str | os.PathLike[str]) -> Path:
    """The real path (symlinks and `..` resolved) if it lies inside an allowed root and exists."""
    text = str(raw).strip()
    if not text:
        raise IngestError("give the path of a video file or folder on the server")
    if "\x00" in text:
        raise IngestError("a path cannot contain a NUL character")
    check_text_length(text, field="source_path")
    path = Path(text).expanduser()
    if not path.is_absolute():
        raise IngestError(f"{text}: give an absolute path (it must lie under {_roots_text()})")
    check_name_lengths(path)
    try:
        resolved = path.resolve(strict=False)
    except RuntimeError:
        raise IngestError(f"{text}: a symlink loop (the link points back at itself)") from None
    except OSError as exc:
        raise IngestError(f"{text}: cannot be resolved ({exc.strerror or exc})") from None
    # Containment is checked before existence so paths outside the roots reveal nothing about the disk.
    if not any(resolved.is_relative_to(root) for root in allowed_roots()):
        raise IngestError(f"{text}: outside the allowed folders ({_roots_text()})")
    try:
        resolved.stat()
    except FileNotFoundError:
        raise IngestError(f"{text}: no such file or folder") from None
    except OSError as exc:
        raise IngestError(f"{text}: cannot be read ({exc.strerror or exc})") from None
    return resolved


def check_name_lengths(path: Path) -> None:
    """Each name in a path fits the file system's limit (255 bytes), or the OS would refuse it later."""
    for part in path.parts:
        if len(os.fsencode(part)) > NAME_MAX_BYTES:
            raise IngestError(f"{part[:40]}…: a file or folder name is longer than {NAME_MAX_BYTES} bytes")


def _roots_text() -> str:
    return ", ".join(str(root) for root in allowed_roots())


def file_fingerprint(path: Path) -> str:
    """sha256 over the size and the first and last few MB: the same file twice, in milliseconds on 20 GB."""
    size = path.stat().st_size
    digest = hashlib.sha256(f"{size}:".encode())
    with path.open("rb") as handle:
        digest.update(handle.read(FINGERPRINT_SAMPLE_BYTES))
        if size > FINGERPRINT_SAMPLE_BYTES:
            handle.seek(max(FINGERPRINT_SAMPLE_BYTES, size - FINGERPRINT_SAMPLE_BYTES))
            digest.update(handle.read(FINGERPRINT_SAMPLE_BYTES))
    return digest.hexdigest()


def check_video_name(name: str) -> None:
    if Path(name).suffix.lower() not in settings.VODSCOPE_VIDEO_EXTENSIONS:
        allowed = ", ".join(settings.VODSCOPE_VIDEO_EXTENSIONS)
        raise IngestError(f"{Path(name).name}: not a video file (expected {allowed})")


def check_text_length(value: str, *, field: str, model: type[Any] = Recording) -> None:
    """The column's limit, checked here because SQLite would store any length and PostgreSQL would raise."""
    limit = model._meta.get_field(field).max_length
    if limit is not None and len(value) > limit:
        raise IngestError(f"{field}: longer than {limit} characters ({len(value)})")


def check_started_at(started_at: datetime | None) -> None:
    """A start a recording can have: every event's clock time (start + offset) must still be a date."""
    if started_at is not None and not EARLIEST_START <= started_at < LATEST_START:
        raise IngestError(
            f"start time {started_at.isoformat()} is outside {EARLIEST_START:%Y}-{LATEST_START:%Y}; give the real one"
        )


def check_session_type(session_type: str) -> None:
    if session_type not in SessionType.values:
        raise IngestError(f"unknown session type {session_type!r} (use {', '.join(SessionType.values)})")


def recording_from_file(
    *,
    owner: Any,
    file_path: Path,
    title: str,
    session_type: str = SessionType.STREAM,
    started_at: datetime | None = None,
    notes: str = "",
    source_path: str = "",
    uploaded_name: str = "",
) -> Recording:
    """Fingerprint, refuse duplicates, probe, then create the row: nothing is written unless all passed."""
    check_session_type(session_type)
    check_started_at(started_at)
    check_text_length(notes, field="notes")
    check_text_length(title, field="title")
    check_text_length(source_path, field="source_path")
    try:
        stat = file_path.stat()
        if stat.st_size == 0:
            raise IngestError(f"{title}: the file is empty (0 bytes)")
        fingerprint = file_fingerprint(file_path)
    except OSError as exc:
        raise IngestError(f"{title}: cannot be read ({exc.strerror or exc})") from None
    existing = Recording.objects.filter(owner=owner, fingerprint=fingerprint).first()
    if existing is not None:
        raise DuplicateRecording(existing)
    try:
        probe = probe_video(file_path, ffprobe=settings.VODSCOPE_FFPROBE)
    except ProbeError as exc:
        raise IngestError(f"{title}: {exc}") from exc
    if probe.truncation:
        raise IngestError(f"{title}: {probe.truncation}")
    if started_at is not None:
        source, start = Recording.StartedAtSource.USER, started_at
    else:
        source, start = Recording.StartedAtSource(probe.started_at_source.value), probe.started_at
    try:
        with transaction.atomic():
            return Recording.objects.create(
                owner=owner,
                title=title,
                source_path=source_path,
                uploaded_file=uploaded_name,
                size_bytes=stat.st_size,
                fingerprint=fingerprint,
                duration_seconds=probe.duration,
                avg_fps=probe.fps,
                is_vfr=probe.is_vfr,
                width=probe.width,
                height=probe.height,
                codec=probe.codec,
                container=probe.container,
                started_at=start,
                started_at_source=source,
                session_type=session_type,
                notes=notes,
                status=Recording.Status.READY,
            )
    except IntegrityError:
        # Two requests raced on the same file; the other one won.
        raise DuplicateRecording(Recording.objects.get(owner=owner, fingerprint=fingerprint)) from None


def recording_register_path(
    *,
    owner: Any,
    path: str | os.PathLike[str],
    session_type: str = SessionType.STREAM,
    started_at: datetime | None = None,
    notes: str = "",
) -> Recording:
    resolved = resolve_allowed_path(path)
    if resolved.is_dir():
        raise IngestError(f"{path}: is a folder; register it as a folder to add every video in it")
    check_video_name(resolved.name)
    return recording_from_file(
        owner=owner,
        file_path=resolved,
        title=resolved.name,
        session_type=session_type,
        started_at=started_at,
        notes=notes,
        source_path=str(resolved),
    )


def folder_videos(folder: Path) -> list[Path]:
    """Videos directly in the folder, oldest first (OBS names sort the same way, mtime breaks no ties)."""
    try:
        entries = list(folder.iterdir())
    except OSError as exc:
        raise IngestError(f"{folder}: cannot list this folder ({exc.strerror or exc})") from None
    videos = [
        entry
        for entry in entries
        if entry.suffix.lower() in settings.VODSCOPE_VIDEO_EXTENSIONS and not entry.name.startswith(".")
    ]
    return sorted(videos, key=lambda entry: (_creation_time(entry), entry.name))


def _creation_time(path: Path) -> float:
    try:
        stat = path.stat()
    except OSError:
        # A broken or looping link sorts last; registering it reports why, and the others still register.
        return float("inf")
    return float(getattr(stat, "st_birthtime", stat.st_mtime))


def recording_register_folder(
    *,
    owner: Any,
    path: str | os.PathLike[str],
    session_type: str = SessionType.STREAM,
    notes: str = "",
) -> list[IngestResult]:
    """One result per video, in creation order; a bad file is reported and the others still register."""
    folder = resolve_allowed_path(path)
    if not folder.is_dir():
        raise IngestError(f"{path}: is a file, not a folder")
    videos = folder_videos(folder)
    if not videos:
        raise IngestError(f"{path}: no videos in this folder (looked for {', '.join(settings.VODSCOPE_VIDEO_EXTENSIONS)})")
    results = []
    for video in videos:
        try:
            recording = recording_register_path(owner=owner, path=video, session_type=session_type, notes=notes)
        except DuplicateRecording as exc:
            results.append(IngestResult(str(video), "duplicate", str(exc), exc.recording))
        except IngestError as exc:
            results.append(IngestResult(str(video), "error", str(exc)))
        else:
            results.append(IngestResult(str(video), "created", f"registered as #{recording.pk}", recording))
    return results


def recording_register_any(
    *,
    owner: Any,
    path: str,
    session_type: str = SessionType.STREAM,
    started_at: datetime | None = None,
    notes: str = "",
) -> list[IngestResult]:
    """A file or a folder, whichever the path names: what the page's single path box calls."""
    resolved = resolve_allowed_path(path)
    if resolved.is_dir():
        return recording_register_folder(owner=owner, path=path, session_type=session_type, notes=notes)
    recording = recording_register_path(
        owner=owner, path=path, session_type=session_type, started_at=started_at, notes=notes
    )
    return [IngestResult(str(resolved), "created", f"registered as #{recording.pk}", recording)]


def recording_update(
    *,
    recording: Recording,
    started_at: datetime | None = None,
    session_type: str | None = None,
    notes: str | None = None,
    title: str | None = None,
) -> Recording:
    """What a user may change after ingest; a new start time is marked as theirs."""
    fields = []
    if started_at is not None:
        check_started_at(started_at)
        recording.started_at = started_at
        recording.started_at_source = Recording.StartedAtSource.USER
        fields += ["started_at", "started_at_source"]
    if session_type is not None:
        check_session_type(session_type)
        recording.session_type = session_type
        fields.append("session_type")
    if notes is not None:
        check_text_length(notes, field="notes")
        recording.notes = notes
        fields.append("notes")
    if title is not None:
        if not title.strip():
            raise IngestError("the title cannot be empty")
        check_text_length(title.strip(), field="title")
        recording.title = title.strip()
        fields.append("title")
    if fields:
        recording.save(update_fields=[*fields, "updated_at"])
    return recording
