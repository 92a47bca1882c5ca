"""Running a live session, the same way for `manage.py live` and for a worker's `live` job.

`LiveOptions` are the session's parameters (the job's `params`, the command's flags), checked in one
place; `LiveRunner` opens the pipeline and the source (refusals raise `LiveRefused` before any row
is written), then runs the loop against a `LiveSession`: each confirmed event saved, broadcast,
written to `output` and handed to the taps; the state and stats once a second, which is also where
a Stop asked from the dashboard (the job's `cancel_requested`) is seen.

Taps (live labelling, forwarding to the stream-producer) see frames and events after they are
saved and must never block: each owns a bounded queue and a thread of its own.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from django.conf import settings

from detection.models import DetectedEvent, SessionType
from detection.pipeline.detector import ModelError
from detection.pipeline.event_log import LoggedEvent, real_time
from detection.pipeline.factory import build_pipeline
from detection.pipeline.live import CaptureSource, LiveLoop, LiveSource, LiveStats, RealtimeFileSource
from detection.pipeline.profile import load_profile
from detection.pipeline.run import Run
from detection.pipeline.run_settings import SettingsError
from detection.pipeline.source import VideoSourceError
from detection.pipeline.types import Event, Frame
from detection.services.live import (
    LiveSession,
    live_events_save,
    live_session_started_at,
    live_status_save,
)
from detection.services.model_versions import ModelVersionError, detect_settings_for, model_ref, model_version_choose

MAX_DETECTION_FPS = 30.0


class LiveRefused(Exception):
    """Options or a source that cannot make a session; the message says why (a 400, a command error)."""


@dataclass(frozen=True)
class LiveOptions:
    source: str
    realtime: bool = False          # `source` is a file played at real time
    input_format: str = ""          # FFmpeg's input format for a device (v4l2, dshow)
    detection_fps: float = 5.0
    speed: float = 1.0              # with `realtime`: this many times faster (demos, tests)
    session_type: str = SessionType.STREAM
    title: str = ""
    model_version: int | None = None
    label: bool = False             # run the VLM analyst on live windows (labeling/live_labels.py)
    label_backend: str = ""         # "" = the first configured backend
    label_model: str = ""
    forward: bool = False           # send events to the stream-producer as they come

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> LiveOptions:
        unknown = sorted(set(params) - {f for f in cls.__dataclass_fields__} - {"live"})
        if unknown:
            raise LiveRefused(f"unknown live options {unknown}")
        try:
            options = cls(**{k: v for k, v in params.items() if k != "live"})
        except TypeError as exc:
            raise LiveRefused(str(exc)) from None
        options.check()
        return options

    def check(self) -> None:
        if not isinstance(self.source, str) or not self.source.strip():
            raise LiveRefused("a source is needed: a file (played at real time), a device or a stream URL")
        for name in ("realtime", "label", "forward"):
            if not isinstance(getattr(self, name), bool):
                raise LiveRefused(f"{name} must be true or false")
        for name, top in (("detection_fps", MAX_DETECTION_FPS), ("speed", 100.0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= top \
                    or not math.isfinite(value):
                raise LiveRefused(f"{name} must be a number above 0 and at most {top:g}")
        if self.session_type not in SessionType.values:
            raise LiveRefused(f"session type {self.session_type!r} is none of {SessionType.values}")
        if self.model_version is not None and (isinstance(self.model_version, bool)
                                                or not isinstance(self.model_version, int)):
            raise LiveRefused("model_version must be a model version's id")

    def to_params(self) -> dict[str, Any]:
        return {**asdict(self), "live": True}

    def detect_params(self) -> dict[str, Any]:
        """What the detection settings take (`DetectSettings.from_params`)."""
        params: dict[str, Any] = {"detection_fps": float(self.detection_fps)}
        if self.model_version is not None:
            params["model_version"] = self.model_version
        return params


class LiveTap(Protocol):
    """Something beside the loop (labels, forwarding) that must never hold it up."""

    def frames(self, batch: list[Frame]) -> None: ...
    def events(self, rows: list[DetectedEvent]) -> None: ...
    def close(self, timeout: float) -> dict[str, Any]: ...


@dataclass
class LiveOutcome:
    stats: LiveStats
    events: int
    error: str
    taps: dict[str, Any] = field(default_factory=dict)


class LiveRunner:
    def __init__(self, options: LiveOptions) -> None:
        """Loads the model and opens the source; raises LiveRefused."""
        self.options = options
        profile = load_profile(settings.VODSCOPE_GAME_PROFILE)
        try:
            version = model_version_choose(version_id=options.model_version, profile=profile)
            detect = detect_settings_for(params=options.detect_params(), model=model_ref(version))
            self.pipeline = build_pipeline(profile, detect, live=True)
        except (ModelVersionError, SettingsError, ModelError) as exc:
            raise LiveRefused(str(exc)) from exc
        self.source, self.video_path = self._open(detect.detection_fps)
        self.loop: LiveLoop | None = None
        self.stopped = False  # stop() was called (Ctrl+C, SIGTERM, the dashboard), not the source ending

    def _open(self, fps: float) -> tuple[LiveSource, str]:
        try:
            if self.options.realtime:
                path = Path(self.options.source).resolve()
                return RealtimeFileSource(path, detection_fps=fps, speed=self.options.speed), str(path)
            folder = Path(settings.MEDIA_ROOT) / "live"
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"live-{datetime.now(UTC):%Y%m%dT%H%M%S%f}.mkv"
            source = CaptureSource(self.options.source, detection_fps=fps,
                                   input_format=self.options.input_format or None, record_to=target)
            return source, str(target)
        except (VideoSourceError, ValueError, OSError) as exc:
            raise LiveRefused(str(exc)) from exc

    def stop(self) -> None:
        """Safe from a signal handler and from another thread: capture stops, what is queued is finished."""
        self.stopped = True
        self.source.stop()

    def run(self, session: LiveSession, *, output: IO[str] | None = None, taps: tuple[LiveTap, ...] = (),
            tap_timeout: float = 5.0) -> LiveOutcome:
        run = self.pipeline.start()
        tally = RaidTally()

        def on_events(events: list[Event]) -> None:
            rows = self._events(session, events, output, tally)
            for tap in taps:
                tap.events(rows)

        def on_frames(batch: list[Frame]) -> None:
            for tap in taps:
                tap.frames(batch)

        self.loop = loop = LiveLoop(source=self.source, run=run, on_events=on_events,
                                    on_frames=on_frames if taps else None)
        loop.on_stats = lambda stats: self._status(session, run, stats, tally)
        try:
            stats = loop.run_until_stopped()
        finally:
            closed = {type(tap).__name__: tap.close(tap_timeout) for tap in taps}
        return LiveOutcome(stats=stats, events=tally.events, error=self.source.error, taps=closed)

    def _events(self, session: LiveSession, events: list[Event], output: IO[str] | None,
                tally: RaidTally) -> list[DetectedEvent]:
        source = self.source
        self._started(session)
        rows = live_events_save(session=session, events=events)
        for event in events:
            tally.add(event)
            if output is not None:
                logged = LoggedEvent(event_id=event.event_id, type=event.type, video_offset_seconds=event.video_time,
                                     data=event.data, timestamp=real_time(source.started_at, event.video_time),
                                     frame_number=event.frame_number, confidence=event.confidence)
                output.write(json.dumps(logged.to_json()) + "\n")
        if output is not None:
            output.flush()  # each line is on disk as soon as its event is confirmed
        return rows

    def _started(self, session: LiveSession) -> None:
        if session.recording.started_at is None and self.source.started_at is not None:
            live_session_started_at(session=session, started_at=self.source.started_at)

    def _status(self, session: LiveSession, run: Run, stats: LiveStats, tally: RaidTally) -> None:
        self._started(session)
        raid = {**run.machine.context, "kills": tally.kills,
                "elapsed_seconds": round(stats.video_time - tally.raid_started, 1) if tally.in_raid else None}
        if live_status_save(session=session, state={"state": run.machine.state, "raid": raid}, stats=stats.to_json()):
            self.stop()  # the dashboard's Stop: ends as SIGTERM does


class RaidTally:
    """The current raid's kills and start, counted from the events as they come."""

    def __init__(self) -> None:
        self.events = 0
        self.kills = 0
        self.in_raid = False
        self.raid_started = 0.0

    def add(self, event: Event) -> None:
        self.events += 1
        if event.type == "raid_start":
            self.in_raid, self.raid_started, self.kills = True, event.video_time, 0
        elif event.type == "raid_end":
            self.in_raid = False
        elif event.type == "kill":
            self.kills += 1
