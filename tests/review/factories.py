"""Factories for review tests (unit and browser) and a tiny real video made with ffmpeg's testsrc."""
from __future__ import annotations

import subprocess
from pathlib import Path

import factory
import yaml

from detection.models import DetectedEvent, Recording
from detection.pipeline.profile import PROFILES_DIR
from tests import factories as core

KILL_DATA = {"enemy_type": "scav", "weapon": "AKM", "headshot": False}


class RecordingFactory(core.RecordingFactory):
    """A processed 4-second 320x180 clip: the size of the test video below."""

    title = factory.Sequence(lambda n: f"Session {n}")
    duration_seconds = 4.0
    avg_fps = 25.0
    width = 320
    height = 180
    codec = "h264"
    container = "mov,mp4,m4a,3gp,3g2,mj2"
    status = Recording.Status.PROCESSED


class EventFactory(core.DetectedEventFactory):
    recording = factory.SubFactory(RecordingFactory)
    event_id = factory.Sequence(lambda n: f"ev-{n:05d}")
    event_type = "kill"
    video_offset_seconds = factory.Sequence(lambda n: float(n % 4) + 0.5)
    confidence = 0.95
    data = factory.LazyFunction(lambda: dict(KILL_DATA))


def make_events(recording: Recording, count: int, *, duration: float | None = None) -> list[DetectedEvent]:
    """`count` events spread over the recording, types and confidences mixed; one bulk insert."""
    span = duration or recording.duration_seconds or 4.0
    types = [("kill", KILL_DATA), ("state_transition", {"from_state": "stash", "to_state": "pre_raid"}),
             ("raid_start", {"map_name": "customs", "character_type": "pmc", "game_mode": "pve"}),
             ("raid_end", {"outcome": "survived", "extract_location": "crossroads"})]  # fmt: skip
    events = []
    for i in range(count):
        event_type, data = types[i % len(types)] if i % 3 else types[0]
        events.append(
            DetectedEvent(
                recording=recording,
                event_id=f"bulk-{i:05d}",
                event_type=event_type,
                data=dict(data),
                video_offset_seconds=round(span * i / max(count, 1), 3),
                confidence=0.55 if i % 5 == 0 else 0.93,
            )
        )
    return DetectedEvent.objects.bulk_create(events)


def make_test_video(path: Path, *, seconds: float = 4.0, fps: int = 25, size: str = "320x180") -> Path:
    """A real H.264 file (MP4 with faststart, or MKV by suffix) with AAC audio, for playback and Range tests."""
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = ["-movflags", "+faststart"] if path.suffix == ".mp4" else []
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc=duration={seconds}:size={size}:rate={fps}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", str(fps),
         "-c:a", "aac", "-shortest", *extra, str(path)],
        check=True,
    )  # fmt: skip
    return path


def write_second_game_profile(path: Path) -> Path:
    """The demo profile with another event vocabulary: other enemies, a `distance` on kills, a `loot` type.

    Nothing in the code names these: pages, forms, API and export must take them from the file.
    """
    document = yaml.safe_load((PROFILES_DIR / "demo.yaml").read_text(encoding="utf-8"))
    document["name"] = "second-game"
    document["vocabularies"]["enemy_types"] = ["ZOMBIE", "WRAITH", "LICH"]
    document["events"]["kill"]["fields"]["distance"] = {"label": "Distance", "choices": ["near", "far"]}
    document["events"]["loot"] = {"label": "Loot found", "fields": {"item": {"label": "Item", "kind": "text"}}}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path
