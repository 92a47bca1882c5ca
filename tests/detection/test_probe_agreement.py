"""One probe: ingest and `manage.py detect` read the same start time from every tricky container."""
from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from detection.pipeline.event_log import format_timestamp
from detection.pipeline.probe import probe_video
from detection.services.ingest import recording_register_path
from tests.detection.pipeline.synthetic import build_model

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
MTIME = datetime(2025, 11, 5, 9, 15, 30, tzinfo=UTC)
# name → ffmpeg metadata options, and the start time both must read (None: the file's modification time)
CONTAINERS: dict[str, tuple[list[str], datetime | None]] = {
    "no-tag.mkv": ([], None),
    "epoch-1970.mkv": (["-metadata", "creation_time=1970-01-01T00:00:00Z"], None),
    "epoch-1904.mkv": (["-metadata", "creation_time=1904-01-01T00:00:00Z"], None),
    "naive.mkv": (["-metadata", "DATE_RECORDED=2026-03-01T18:30:00"], datetime(2026, 3, 1, 18, 30, tzinfo=UTC)),
    "naive-tag-string.mp4": (["-movflags", "use_metadata_tags", "-metadata", "creation_time=2026-03-01T18:45:00"],
                  datetime(2026, 3, 1, 18, 45, tzinfo=UTC)),
    "format-vs-stream.mkv": (["-metadata", "creation_time=2026-03-01T18:00:00Z",
                              "-metadata:s:v:0", "DATE_RECORDED=2026-03-01T17:00:00Z"],
                             datetime(2026, 3, 1, 18, 0, tzinfo=UTC)),
    "placeholder-then-stream.mkv": (["-metadata", "creation_time=1970-01-01T00:00:00Z",
                                     "-metadata:s:v:0", "DATE_RECORDED=2026-03-01T17:00:00+01:00"],
                                    datetime(2026, 3, 1, 16, 0, tzinfo=UTC)),
}


def make_video(path: Path, metadata: list[str], *, seed: int) -> Path:
    subprocess.run(
        [settings.VODSCOPE_FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=160x90:rate=30:decimals={seed % 3}",
         "-t", f"{1 + seed / 10:.1f}", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *metadata,
         str(path)],
        check=True, timeout=60,
    )
    os.utime(path, (MTIME.timestamp(), MTIME.timestamp()))
    return path


def test_ingest_and_the_detect_command_agree_on_every_container(owner, library, tmp_path):  # type: ignore[no-untyped-def]
    videos = {name: make_video(library / name, metadata, seed=i) for i, (name, (metadata, _)) in enumerate(CONTAINERS.items())}
    out = tmp_path / "out"
    call_command("detect", "--video-dir", str(library), "--output", str(out),
                 "--model", str(build_model(tmp_path / "synthetic.onnx")))
    for name, (_, expected) in CONTAINERS.items():
        recording = recording_register_path(owner=owner, path=str(videos[name]))
        log = json.loads((out / f"{Path(name).stem}.events.json").read_text())
        assert recording.started_at == (expected or MTIME), name
        assert log["metadata"]["started_at"] == format_timestamp(recording.started_at), name
        assert log["metadata"]["started_at_source"] == recording.started_at_source, name
        assert probe_video(videos[name]).started_at == recording.started_at, name
