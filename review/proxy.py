"""Browser-playable proxies: MP4 beside the media root, the original never touched.

H.264 (with AAC/MP3 audio or none) only needs a new container: `-c copy` takes
seconds even for hours of footage. Anything else is transcoded.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings

from detection.models import Job, Recording
from project.jobs.runner import JobProgress
from project.jobs.services import job_create
from review.video import recording_playable_path

COPYABLE_VIDEO = {"h264"}
COPYABLE_AUDIO = {"aac", "mp3"}


class ProxyError(RuntimeError):
    pass


def recording_proxy_request(*, recording: Recording, user: Any) -> Job:
    """One proxy job at a time per recording: asking again returns the one under way."""
    active = Job.objects.filter(recording=recording, kind=Job.Kind.PROXY, status__in=Job.ACTIVE_STATUSES).first()
    if active is not None:
        return active
    return job_create(kind=Job.Kind.PROXY, recording=recording, created_by=user)


def probe_codecs(path: Path) -> tuple[str, list[str]]:
    """(video codec, audio codecs) as ffprobe names them."""
    completed = subprocess.run(
        [settings.VODSCOPE_FFPROBE, "-v", "error", "-show_entries", "stream=codec_type,codec_name", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise ProxyError(f"ffprobe failed on {path.name}: {completed.stderr.strip()[-500:]}")
    streams = json.loads(completed.stdout or "{}").get("streams", [])
    video = next((s.get("codec_name", "") for s in streams if s.get("codec_type") == "video"), "")
    audio = [s.get("codec_name", "") for s in streams if s.get("codec_type") == "audio"]
    if not video:
        raise ProxyError(f"{path.name} has no video stream")
    return video, audio


def proxy_command(source: Path, target: Path, *, video: str, audio: list[str]) -> list[str]:
    copy = video in COPYABLE_VIDEO and all(a in COPYABLE_AUDIO for a in audio)
    codecs = ["-c", "copy"] if copy else ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "160k"]
    return [
        settings.VODSCOPE_FFMPEG, "-hide_banner", "-nostdin", "-y", "-i", str(source),
        "-map", "0:v:0", "-map", "0:a?", *codecs, "-movflags", "+faststart",
        "-progress", "pipe:1", "-nostats", "-loglevel", "error", str(target),
    ]  # fmt: skip


def recording_proxy_make(*, recording: Recording, progress: JobProgress | None = None) -> dict[str, Any]:
    source = _original_path(recording)
    video, audio = probe_codecs(source)
    folder = Path(settings.MEDIA_ROOT) / "proxies"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"recording-{recording.pk}.mp4"
    partial = target.with_suffix(".part.mp4")
    command = proxy_command(source, partial, video=video, audio=audio)
    total_us = int((recording.duration_seconds or 0) * 1_000_000)
    # stderr goes to a file: a chatty ffmpeg filling a second pipe would block the progress reader.
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            assert process.stdout is not None
            for line in process.stdout:
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and value.isdigit() and progress is not None:
                    progress.update(int(value), total_us or None, "Making a browser proxy")
            if process.wait() != 0:
                errors.seek(0)
                raise ProxyError(f"ffmpeg failed: {errors.read().strip()[-800:]}")
        except BaseException:
            process.kill()
            process.wait()
            partial.unlink(missing_ok=True)
            raise
    os.replace(partial, target)
    Recording.objects.filter(pk=recording.pk).update(proxy_path=str(target))
    remuxed = "copy" in command
    return {"proxy_path": str(target), "remuxed": remuxed, "video_codec": video, "size_bytes": target.stat().st_size}


def proxy_job_handle(job: Job, progress: JobProgress) -> dict[str, Any]:
    """The proxy job's handler (registered in review.apps)."""
    if job.recording is None:
        raise ProxyError("a proxy job needs a recording")
    return recording_proxy_make(recording=job.recording, progress=progress)


def _original_path(recording: Recording) -> Path:
    original = Recording(pk=recording.pk, source_path=recording.source_path, uploaded_file=recording.uploaded_file)
    path = recording_playable_path(original)  # proxy_path left empty: always the original
    if path is None:
        raise ProxyError(f"recording {recording.pk} has no readable video file")
    return path
