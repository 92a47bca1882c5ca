"""ffprobe as a function: the metadata a Recording needs, or a ProbeError that says what is wrong."""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

from django.conf import settings

# OBS and other muxers write an epoch placeholder when they do not know the time.
_PLACEHOLDER_YEARS = {1904, 1970}
_VFR_SAMPLE_PACKETS = 300
_TIMEOUT = 120


class ProbeError(Exception):
    pass


@dataclass(frozen=True)
class ProbeResult:
    duration_seconds: float
    avg_fps: float
    is_vfr: bool
    width: int
    height: int
    codec: str
    container: str
    creation_time: datetime | None


def _ffprobe(path: Path, *args: str) -> tuple[dict[str, Any], str]:
    cmd = [settings.VODSCOPE_FFPROBE, "-v", "error", "-print_format", "json", *args, str(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_TIMEOUT, check=False)
    except FileNotFoundError as exc:
        raise ProbeError(f"ffprobe is not installed ({settings.VODSCOPE_FFPROBE!r} not found)") from exc
    except subprocess.TimeoutExpired as exc:
        raise ProbeError(f"ffprobe took longer than {_TIMEOUT}s on {path.name}") from exc
    stderr = proc.stderr.strip()
    if proc.returncode != 0:
        reason = stderr.splitlines()[-1] if stderr else f"exit status {proc.returncode}"
        raise ProbeError(f"not a readable video ({reason})")
    try:
        return json.loads(proc.stdout or "{}"), stderr
    except json.JSONDecodeError as exc:
        raise ProbeError("ffprobe printed something that is not JSON") from exc


def _fraction(text: str | None) -> float:
    try:
        value = Fraction(text or "0")
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(value)


def parse_creation_time(tags: dict[str, Any]) -> datetime | None:
    raw = tags.get("creation_time") or tags.get("CREATION_TIME") or tags.get("DATE_RECORDED")
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.year in _PLACEHOLDER_YEARS:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt_timezone.utc)
    return value


def _sampled_vfr(path: Path) -> bool:
    """Frame intervals from the first packets: a constant-rate stream has (near) equal gaps."""
    data, _ = _ffprobe(
        path, "-select_streams", "v:0", "-read_intervals", f"%+#{_VFR_SAMPLE_PACKETS}", "-show_entries", "packet=pts_time"
    )
    times = sorted(float(p["pts_time"]) for p in data.get("packets", []) if p.get("pts_time") not in (None, "N/A"))
    gaps = [b - a for a, b in zip(times, times[1:]) if b > a]
    if len(gaps) < 10:
        return False
    gaps.sort()
    typical = gaps[len(gaps) // 2]
    # Millisecond timestamps (MKV) make 30 fps gaps 33/34 ms: only clearly different gaps count.
    irregular = sum(1 for gap in gaps if abs(gap - typical) > max(0.25 * typical, 0.002))
    return irregular > len(gaps) * 0.05


def _last_video_time(path: Path, from_seconds: float) -> float | None:
    data, _ = _ffprobe(
        path, "-select_streams", "v:0", "-read_intervals", f"{max(from_seconds, 0):.3f}%", "-show_entries", "packet=pts_time"
    )
    times = [float(p["pts_time"]) for p in data.get("packets", []) if p.get("pts_time") not in (None, "N/A")]
    return max(times) if times else None


def _container_name(path: Path, format_name: str) -> str:
    names = format_name.split(",")
    extension = path.suffix.lower().lstrip(".")
    return extension if extension in names else names[0]


def probe_video(path: Path) -> ProbeResult:
    data, _ = _ffprobe(path, "-show_format", "-show_streams")
    fmt = data.get("format") or {}
    video = next((s for s in data.get("streams", []) if s.get("codec_type") == "video"), None)
    if video is None or video.get("disposition", {}).get("attached_pic"):
        raise ProbeError("no video stream in the file")
    duration = _fraction(fmt.get("duration")) or _fraction(video.get("duration"))
    if duration <= 0:
        raise ProbeError("the file declares no duration: it looks truncated or is still being written")
    avg_fps = _fraction(video.get("avg_frame_rate"))
    real_fps = _fraction(video.get("r_frame_rate"))
    fps = avg_fps or real_fps
    if fps <= 0:
        raise ProbeError("the video stream has no frame rate")
    # A complete file has frames up to its declared end; a cut-off one stops early.
    tail_from = duration - max(10.0, 3.0 * 250 / fps)
    last = _last_video_time(path, tail_from)
    tolerance = max(1.0, 0.01 * duration)
    if last is None or last + tolerance < duration:
        ends = f"{last:.1f}s" if last is not None else "no frames"
        raise ProbeError(f"the file is truncated: video ends at {ends} of its declared {duration:.1f}s")
    is_vfr = bool(avg_fps and real_fps and abs(avg_fps - real_fps) / real_fps > 0.01) or _sampled_vfr(path)
    tags = {**(video.get("tags") or {}), **(fmt.get("tags") or {})}
    return ProbeResult(
        duration_seconds=duration,
        avg_fps=round(fps, 3),
        is_vfr=is_vfr,
        width=int(video.get("width") or 0),
        height=int(video.get("height") or 0),
        codec=str(video.get("codec_name") or ""),
        container=_container_name(path, str(fmt.get("format_name") or "")),
        creation_time=parse_creation_time(tags),
    )
