"""ffprobe as a function: the one reading of a container's metadata that ingest and `manage.py detect` share.

Start time, in this order: the container's (format) `creation_time` tag, then the video
stream's; `DATE_RECORDED` where `creation_time` is missing. Muxers write an epoch
placeholder (1904 for QuickTime, 1970 for Unix) when they do not know the time: such a tag
counts as absent. A time without a zone is UTC, as ffmpeg writes it. Without a usable tag the
file's modification time stands in, so both callers fall back the same way.
"""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any

from detection.pipeline.source import VideoSourceError

# OBS and other muxers write an epoch placeholder when they do not know the time.
PLACEHOLDER_YEARS = frozenset({1904, 1970})
START_TAGS = ("creation_time", "date_recorded")
_VFR_SAMPLE_PACKETS = 300
_TIMEOUT_SECONDS = 120


class ProbeError(VideoSourceError):
    """The file is not a video ffprobe can read; the message says why, without the path."""


class StartSource(StrEnum):
    CONTAINER = "container"
    MTIME = "mtime"


@dataclass(frozen=True)
class VideoInfo:
    duration: float
    fps: float
    is_vfr: bool
    width: int
    height: int
    codec: str
    container: str
    creation_time: datetime | None
    modified_at: datetime
    last_video_time: float | None  # the last video packet's time: short of `duration` in a cut-off file

    @property
    def started_at(self) -> datetime:
        """When the first frame was recorded: the container's tag, else the file's modification time."""
        return self.creation_time or self.modified_at

    @property
    def started_at_source(self) -> StartSource:
        return StartSource.CONTAINER if self.creation_time is not None else StartSource.MTIME

    @property
    def truncation(self) -> str:
        """Why the file looks cut off, or "" when its frames reach its declared end."""
        tolerance = max(1.0, 0.01 * self.duration)
        if self.last_video_time is not None and self.last_video_time + tolerance >= self.duration:
            return ""
        ends = f"{self.last_video_time:.1f}s" if self.last_video_time is not None else "no frames"
        return f"the file is truncated: video ends at {ends} of its declared {self.duration:.1f}s"


def probe_video(path: str | Path, *, ffprobe: str = "ffprobe") -> VideoInfo:
    target = Path(path)
    try:
        stat = target.stat()
    except FileNotFoundError:
        raise ProbeError("no such file") from None
    except OSError as exc:
        raise ProbeError(f"cannot be read ({exc.strerror or exc})") from None
    if not target.is_file():
        raise ProbeError("not a file")
    if stat.st_size == 0:
        raise ProbeError("zero-length file")
    data = _ffprobe(target, ffprobe, "-show_format", "-show_streams")
    fmt = data.get("format") or {}
    video = next((s for s in data.get("streams", []) if s.get("codec_type") == "video"), None)
    if video is None or (video.get("disposition") or {}).get("attached_pic"):
        raise ProbeError("no video stream in the file")
    duration = _fraction(fmt.get("duration")) or _fraction(video.get("duration"))
    if duration <= 0:
        raise ProbeError("zero-length recording: the file declares no duration (truncated or still being written?)")
    avg_fps, real_fps = _fraction(video.get("avg_frame_rate")), _fraction(video.get("r_frame_rate"))
    fps = avg_fps or real_fps
    if fps <= 0:
        raise ProbeError("the video stream has no frame rate")
    tail_from = duration - max(10.0, 3.0 * 250 / fps)
    return VideoInfo(
        duration=duration,
        fps=round(fps, 3),
        is_vfr=bool(avg_fps and real_fps and abs(avg_fps - real_fps) / real_fps > 0.01) or _sampled_vfr(target, ffprobe),
        width=int(video.get("width") or 0),
        height=int(video.get("height") or 0),
        codec=str(video.get("codec_name") or ""),
        container=_container_name(target, str(fmt.get("format_name") or "")),
        creation_time=creation_time(fmt.get("tags") or {}, video.get("tags") or {}),
        modified_at=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
        last_video_time=_last_video_time(target, ffprobe, tail_from),
    )


def creation_time(*tag_sets: dict[str, Any]) -> datetime | None:
    """The first usable start tag, tag sets in order of precedence (format before stream)."""
    for tags in tag_sets:
        lowered = {str(key).lower(): value for key, value in tags.items()}
        for name in START_TAGS:
            moment = _parse_moment(lowered.get(name))
            if moment is not None:
                return moment
    return None


def _parse_moment(raw: object) -> datetime | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.year in PLACEHOLDER_YEARS:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _ffprobe(path: Path, ffprobe: str, *args: str) -> dict[str, Any]:
    command = [ffprobe, "-v", "error", "-print_format", "json", *args, str(path)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT_SECONDS, check=False)
    except FileNotFoundError:
        raise ProbeError(f"ffprobe is not installed ({ffprobe!r} not found)") from None
    except subprocess.TimeoutExpired:
        raise ProbeError(f"ffprobe took longer than {_TIMEOUT_SECONDS}s") from None
    stderr = result.stderr.strip()
    if result.returncode != 0:
        reason = stderr.splitlines()[-1] if stderr else f"exit status {result.returncode}"
        raise ProbeError(f"not a readable video ({reason})")
    try:
        document = json.loads(result.stdout or "{}")
    except json.JSONDecodeError:
        raise ProbeError("ffprobe printed something that is not JSON") from None
    return document if isinstance(document, dict) else {}


def _fraction(text: object) -> float:
    try:
        return float(Fraction(str(text or "0")))
    except (ValueError, ZeroDivisionError):
        return 0.0


def _packet_times(path: Path, ffprobe: str, interval: str) -> list[float]:
    data = _ffprobe(path, ffprobe, "-select_streams", "v:0", "-read_intervals", interval, "-show_entries", "packet=pts_time")
    return [float(p["pts_time"]) for p in data.get("packets", []) if p.get("pts_time") not in (None, "N/A")]


def _sampled_vfr(path: Path, ffprobe: str) -> bool:
    """Frame intervals from the first packets: a constant-rate stream has (near) equal gaps."""
    times = sorted(_packet_times(path, ffprobe, f"%+#{_VFR_SAMPLE_PACKETS}"))
    gaps = sorted(b - a for a, b in zip(times, times[1:]) if b > a)
    if len(gaps) < 10:
        return False
    typical = gaps[len(gaps) // 2]
    # Millisecond timestamps (MKV) make 30 fps gaps 33/34 ms: only clearly different gaps count.
    irregular = sum(1 for gap in gaps if abs(gap - typical) > max(0.25 * typical, 0.002))
    return irregular > len(gaps) * 0.05


def _last_video_time(path: Path, ffprobe: str, from_seconds: float) -> float | None:
    times = _packet_times(path, ffprobe, f"{max(from_seconds, 0):.3f}%")
    return max(times) if times else None


def _container_name(path: Path, format_name: str) -> str:
    names = format_name.split(",")
    extension = path.suffix.lower().lstrip(".")
    return extension if extension in names else names[0]
