"""Video for the player, with HTTP Range so seeking a multi-GB file is instant.

Only bytes asked for are read, in chunks; one `bytes=` range per request (what
browsers send for media); several ranges get the whole file with 200, which RFC 9110 allows.
"""
from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Iterator
from pathlib import Path

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_http_methods

from detection.models import Recording
from review.selectors import recording_for_review

CHUNK_BYTES = 1024 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CONTENT_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".mkv": "video/x-matroska", ".webm": "video/webm"}


class RangeNotSatisfiable(ValueError):
    pass


def recording_playable_path(recording: Recording) -> Path | None:
    """The proxy when one exists (the original stays untouched), else the original file."""
    for candidate in (recording.proxy_path, recording.source_path):
        if candidate and os.path.isfile(candidate):
            return Path(candidate)
    if recording.uploaded_file and os.path.isfile(recording.uploaded_file.path):
        return Path(recording.uploaded_file.path)
    return None


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive, or None to send the whole file. Raises RangeNotSatisfiable."""
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # several ranges or another unit: ignoring Range is allowed
    first_raw, last_raw = match.groups()
    if not first_raw and not last_raw:
        return None
    if not first_raw:  # suffix: the last N bytes
        length = int(last_raw)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - length), size - 1
    first = int(first_raw)
    last = min(int(last_raw), size - 1) if last_raw else size - 1
    if first >= size or (last_raw and int(last_raw) < first):
        raise RangeNotSatisfiable(header)
    return first, last


def file_chunks(path: Path, first: int, length: int, chunk: int = CHUNK_BYTES) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(first)
        remaining = length
        while remaining > 0:
            data = handle.read(min(chunk, remaining))
            if not data:
                return
            remaining -= len(data)
            yield data


def content_type_for(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def range_response(request: HttpRequest, path: Path) -> HttpResponseBase:
    size = path.stat().st_size
    content_type = content_type_for(path)
    header = request.headers.get("Range", "")
    response: HttpResponseBase
    try:
        wanted = parse_range(header, size) if header else None
    except RangeNotSatisfiable:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response
    if wanted is None:
        response = FileResponse(path.open("rb"), content_type=content_type)
        response["Content-Length"] = str(size)
    else:
        first, last = wanted
        length = last - first + 1
        response = StreamingHttpResponse(file_chunks(path, first, length), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
        response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_http_methods(["GET", "HEAD"])
def recording_video(request: HttpRequest, pk: int) -> HttpResponseBase:
    recording = recording_for_review(user=request.user, pk=pk)
    path = recording_playable_path(recording)
    if path is None:
        raise Http404("This recording's video file is missing")
    return range_response(request, path)
