"""`manage.py live`: the pipeline on a live source until stopped (Ctrl+C or SIGTERM end cleanly).

Confirmed events are saved to the session's Recording as they happen, appended to `--output` as
JSON lines (the event-log format) and broadcast to the dashboard; the game state and the loop's
figures follow once a second.
"""
from __future__ import annotations

import json
import logging
import signal
import threading
from argparse import ArgumentParser
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection

from detection.models import SessionType
from detection.pipeline.detector import ModelError
from detection.pipeline.event_log import LoggedEvent, real_time
from detection.pipeline.factory import build_pipeline
from detection.pipeline.live import CaptureSource, LiveLoop, LiveSource, LiveStats, RealtimeFileSource
from detection.pipeline.profile import load_profile
from detection.pipeline.run import Run
from detection.pipeline.run_settings import SettingsError
from detection.pipeline.source import VideoSourceError
from detection.pipeline.types import Event
from detection.services.live import (
    LiveSession,
    live_events_save,
    live_heartbeat,
    live_session_finish,
    live_session_start,
    live_session_started_at,
    live_status_save,
)
from detection.services.model_versions import ModelVersionError, detect_settings_for, model_ref, model_version_choose

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Detect game events on a live source (capture device, stream URL, or a file played at real time)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--source", required=True,
                            help="a video file (with --realtime), a device (/dev/video0) or a URL (rtsp://, srt://, udp://, http://)")
        parser.add_argument("--realtime", action="store_true", help="play --source, a file, at real time as if live")
        parser.add_argument("--format", default=None, help="FFmpeg input format for a device (v4l2, dshow, ...)")
        parser.add_argument("--detection-fps", type=float, default=5.0, help="frames per second the detector looks at")
        parser.add_argument("--session-type", choices=[c.value for c in SessionType], default=SessionType.STREAM)
        parser.add_argument("--output", default=None, help="append each confirmed event to this file as a JSON line")
        parser.add_argument("--owner", default=None, help="username owning the session's recording (default: the first superuser)")
        parser.add_argument("--title", default=None)
        parser.add_argument("--model-version", type=int, default=None, help="registered model version id (default: the active one)")
        parser.add_argument("--speed", type=float, default=1.0,
                            help="with --realtime: play this many times faster than real time (demos, tests)")

    def handle(self, *args: Any, **options: Any) -> None:
        profile = load_profile(settings.VODSCOPE_GAME_PROFILE)
        params: dict[str, Any] = {"detection_fps": options["detection_fps"]}
        if options["model_version"] is not None:
            params["model_version"] = options["model_version"]
        try:
            version = model_version_choose(version_id=params.get("model_version"), profile=profile)
            detect = detect_settings_for(params=params, model=model_ref(version))
            pipeline = build_pipeline(profile, detect, live=True)
        except (ModelVersionError, SettingsError, ModelError) as exc:
            raise CommandError(str(exc)) from exc
        owner = self._owner(options["owner"])
        source, video_path = self._source(options, detect.detection_fps)
        session = live_session_start(
            owner=owner, title=options["title"] or f"Live {datetime.now(UTC):%Y-%m-%d %H:%M}", video_path=video_path,
            session_type=options["session_type"], source=options["source"], params=params)
        output = Path(options["output"]).open("a", encoding="utf-8") if options["output"] else None
        run = pipeline.start()
        tally = RaidTally()
        loop = LiveLoop(source=source, run=run,
                        on_events=lambda events: self._events(session, source, events, output, tally))
        loop.on_stats = lambda stats: self._status(session, run, stats, tally, loop)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: loop.stop())
        self.stdout.write(f"live: recording {session.recording.pk}, job {session.job.pk}; stop with Ctrl+C")
        beating = threading.Event()
        heart = threading.Thread(target=self._beat, args=(session, beating), daemon=True)
        heart.start()
        try:
            stats = loop.run_until_stopped()
        finally:
            beating.set()
            heart.join()
            if output is not None:
                output.close()
            live_session_finish(session=session, video_path=video_path, error=source.error)
        self.stdout.write(json.dumps({"recording": session.recording.pk, "events": tally.events,
                                      "error": source.error, **stats.to_json()}))

    @staticmethod
    def _beat(session: LiveSession, stop: threading.Event) -> None:
        try:
            while not stop.wait(settings.VODSCOPE_JOB_HEARTBEAT_SECONDS):
                try:
                    live_heartbeat(session=session)
                except DatabaseError as exc:  # a missed beat is retried at the next; the session goes on
                    logger.warning("live heartbeat not saved: %s", exc)
        finally:
            connection.close()  # this thread's own database connection

    def _owner(self, username: str | None) -> Any:
        users = get_user_model().objects
        owner = users.filter(username=username).first() if username else users.filter(is_superuser=True).order_by("pk").first()
        if owner is None:
            raise CommandError(f"no user {username!r}" if username else "no superuser to own the session: pass --owner")
        return owner

    def _source(self, options: dict[str, Any], fps: float) -> tuple[LiveSource, str]:
        try:
            if options["realtime"]:
                path = Path(options["source"]).resolve()
                return RealtimeFileSource(path, detection_fps=fps, speed=options["speed"]), str(path)
            folder = Path(settings.MEDIA_ROOT) / "live"
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"live-{datetime.now(UTC):%Y%m%dT%H%M%S}.mkv"
            source = CaptureSource(options["source"], detection_fps=fps, input_format=options["format"], record_to=target)
            return source, str(target)
        except (VideoSourceError, ValueError) as exc:
            raise CommandError(str(exc)) from exc

    def _events(self, session: LiveSession, source: LiveSource, events: list[Event], output: IO[str] | None,
                tally: RaidTally) -> None:
        if session.recording.started_at is None and source.started_at is not None:
            live_session_started_at(session=session, started_at=source.started_at)
        live_events_save(session=session, events=events)
        for event in events:
            tally.add(event)
            if output is not None:
                logged = LoggedEvent(event_id=event.event_id, type=event.type, video_offset_seconds=event.video_time,
                                     data=event.data, timestamp=real_time(source.started_at, event.video_time),
                                     frame_number=event.frame_number, confidence=event.confidence)
                output.write(json.dumps(logged.to_json()) + "\n")
        if output is not None:
            output.flush()  # each line is on disk as soon as its event is confirmed

    def _status(self, session: LiveSession, run: Run, stats: LiveStats, tally: RaidTally, loop: LiveLoop) -> None:
        raid = {**run.machine.context, "kills": tally.kills,
                "elapsed_seconds": round(stats.video_time - tally.raid_started, 1) if tally.in_raid else None}
        if live_status_save(session=session, state={"state": run.machine.state, "raid": raid}, stats=stats.to_json()):
            loop.stop()  # the dashboard's Stop: ends as SIGTERM does


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
        elif event.type == "kill":
            self.kills += 1
        elif event.type == "raid_end":
            self.in_raid = False

