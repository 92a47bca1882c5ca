"""Resumable browser uploads (tus-like): create → append chunks at an offset → the last chunk makes a Recording.

Bytes go straight from the request stream to a `.part` file in small pieces, so a 20 GB MKV
never sits in memory. The file on disk is the truth for the offset: a request cut off half way
keeps what arrived, and the browser asks for the offset and resumes from there.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from detection.models import Recording, SessionType, Upload
from detection.services.ingest import (
    IngestError,
    check_session_type,
    check_started_at,
    check_text_length,
    check_video_name,
    recording_from_file,
)

COPY_BLOCK = 1024 * 1024
# An upload nobody resumed for this long is given up, bytes and row, when the next one starts.
ABANDONED_AFTER = timedelta(days=7)


class ChunkStream(Protocol):
    """Where a chunk's bytes come from: the request itself (HttpRequest reads its body piecewise) or a file."""

    def read(self, size: int, /) -> bytes: ...


class UploadOffsetMismatch(IngestError):
    def __init__(self, expected: int, given: int) -> None:
        super().__init__(f"chunk starts at byte {given} but the server has {expected} bytes; resume from {expected}")
        self.expected = expected


class UploadBusy(IngestError):
    pass


def _partial_dir() -> Path:
    folder = Path(settings.VODSCOPE_UPLOAD_DIR) / "partial"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def upload_create(
    *,
    owner: Any,
    filename: str,
    size: int,
    session_type: str = SessionType.STREAM,
    started_at: datetime | None = None,
    notes: str = "",
) -> Upload:
    name = Path(str(filename)).name.strip()
    if not name:
        raise IngestError("the upload needs a file name")
    check_video_name(name)
    check_text_length(name, field="filename", model=Upload)
    check_text_length(notes, field="notes", model=Upload)
    if size <= 0:
        raise IngestError(f"{name}: the file is empty (0 bytes)")
    limit = settings.VODSCOPE_MAX_UPLOAD_BYTES
    if size > limit:
        raise IngestError(f"{name}: {size} bytes is larger than the {limit} bytes allowed (VODSCOPE_MAX_UPLOAD_BYTES)")
    check_session_type(session_type)
    check_started_at(started_at)
    upload_purge_abandoned()
    upload_id = uuid.uuid4()
    temp_path = _partial_dir() / f"{upload_id}.part"
    # The row first: a row the database refuses must not leave an orphan `.part` behind.
    upload = Upload.objects.create(
        id=upload_id,
        owner=owner,
        filename=name,
        size_bytes=size,
        temp_path=str(temp_path),
        session_type=session_type,
        started_at=started_at,
        notes=notes,
    )
    try:
        temp_path.touch()
    except OSError as exc:
        upload.delete()
        raise IngestError(f"{name}: the server cannot store uploads right now ({exc.strerror or exc})") from None
    return upload


def upload_offset(*, upload: Upload) -> int:
    path = Path(upload.temp_path)
    return path.stat().st_size if path.exists() else 0


def upload_append(*, upload: Upload, offset: int, stream: ChunkStream, length: int | None) -> Recording | None:
    """Append one chunk; returns the Recording once the last byte arrived, else None."""
    path = Path(upload.temp_path)
    if not path.exists():
        raise IngestError(f"{upload.filename}: the partial upload is gone; start the upload again")
    with path.open("ab") as handle:
        # A file lock, not a row lock: a slow chunk must not hold SQLite's single write lock.
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UploadBusy(f"{upload.filename}: another request is writing this upload; retry shortly") from None
        current = os.fstat(handle.fileno()).st_size
        if offset != current:
            raise UploadOffsetMismatch(current, offset)
        remaining = upload.size_bytes - current
        if length is not None and length > remaining:
            raise IngestError(f"chunk of {length} bytes goes past the declared size ({remaining} bytes left)")
        try:
            _copy(stream, handle, limit=remaining if length is None else length)
        finally:
            # Whatever arrived before a cut-off stays, and the next offset request reports it.
            upload.received_bytes = os.fstat(handle.fileno()).st_size
            Upload.objects.filter(pk=upload.pk).update(received_bytes=upload.received_bytes, updated_at=timezone.now())
        if upload.received_bytes < upload.size_bytes:
            return None
        return upload_finish(upload=upload)


def _copy(stream: ChunkStream, handle: BinaryIO, *, limit: int) -> None:
    left = limit
    try:
        while left > 0:
            block = stream.read(min(COPY_BLOCK, left))
            if not block:
                break
            handle.write(block)
            left -= len(block)
    finally:
        handle.flush()
        os.fsync(handle.fileno())


def upload_finish(*, upload: Upload) -> Recording:
    """Move the complete file into media, then register it; on any refusal the bytes and the upload go away."""
    temp = Path(upload.temp_path)
    relative = default_storage.generate_filename(
        timezone.now().strftime("uploads/%Y/%m/") + upload.filename
    )
    relative = default_storage.get_available_name(relative)
    final = Path(settings.MEDIA_ROOT) / relative
    final.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(temp, final)
    try:
        recording = recording_from_file(
            owner=upload.owner,
            file_path=final,
            title=upload.filename,
            session_type=upload.session_type,
            started_at=upload.started_at,
            notes=upload.notes,
            uploaded_name=relative,
        )
    except IngestError:
        final.unlink(missing_ok=True)
        upload.delete()
        raise
    upload.delete()
    return recording


def upload_discard(*, upload: Upload) -> None:
    Path(upload.temp_path).unlink(missing_ok=True)
    upload.delete()


def upload_purge_abandoned(*, older_than: timedelta = ABANDONED_AFTER) -> int:
    stale = list(Upload.objects.filter(updated_at__lt=timezone.now() - older_than))
    for upload in stale:
        upload_discard(upload=upload)
    return len(stale)
