"""`manage.py live`: the pipeline on a live source until stopped (Ctrl+C or SIGTERM end cleanly).

Confirmed events are saved to the session's Recording as they happen, appended to `--output` as
JSON lines (the event-log format) and broadcast to the dashboard; the game state and the loop's
figures follow once a second. The session is a `live` job like one started from the dashboard
(detection/services/live_run.py runs both), run by this process instead of a worker.
"""
from __future__ import annotations

import json
import logging
import signal
import threading
from argparse import ArgumentParser
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection

from detection.models import SessionType
from detection.services.live import LiveSession, live_heartbeat, live_session_finish, live_session_start
from detection.services.live_job import live_taps
from detection.services.live_run import LiveOptions, LiveRefused, LiveRunner

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Detect game events on a live source (capture device, stream URL, or a file played at real time)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--source", required=True,
                            help="a video file (with --realtime), a device (/dev/video0) or a URL (rtsp://, srt://, udp://, http://)")
        parser.add_argument("--realtime", action="store_true", help="play --source, a file, at real time as if live")
        parser.add_argument("--format", default="", help="FFmpeg input format for a device (v4l2, dshow, ...)")
        parser.add_argument("--detection-fps", type=float, default=5.0, help="frames per second the detector looks at")
        parser.add_argument("--session-type", choices=[c.value for c in SessionType], default=SessionType.STREAM)
        parser.add_argument("--output", default=None, help="append each confirmed event to this file as a JSON line")
        parser.add_argument("--owner", default=None, help="username owning the session's recording (default: the first superuser)")
        parser.add_argument("--title", default="")
        parser.add_argument("--model-version", type=int, default=None, help="registered model version id (default: the active one)")
        parser.add_argument("--speed", type=float, default=1.0,
                            help="with --realtime: play this many times faster than real time (demos, tests)")
        parser.add_argument("--label", action="store_true", help="label live windows with the VLM analyst too")
        parser.add_argument("--label-backend", default="", help="with --label: the backend (default: the first configured)")
        parser.add_argument("--label-model", default="", help="with --label: the backend's model (default: its configured one)")
        parser.add_argument("--forward", action="store_true", help="send events to the stream-producer as they come")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            live = LiveOptions(
                source=options["source"], realtime=options["realtime"], input_format=options["format"],
                detection_fps=options["detection_fps"], speed=options["speed"], session_type=options["session_type"],
                title=options["title"], model_version=options["model_version"], label=options["label"],
                label_backend=options["label_backend"], label_model=options["label_model"], forward=options["forward"])
            live.check()
            owner = self._owner(options["owner"])
            runner = LiveRunner(live)
        except LiveRefused as exc:
            raise CommandError(str(exc)) from exc
        if not live.title:
            live = replace(live, title=f"Live {datetime.now(UTC):%Y-%m-%d %H:%M}")
        session = live_session_start(owner=owner, title=live.title, video_path=runner.video_path,
                                     session_type=live.session_type, source=live.source, params=live.to_params())
        try:
            taps = live_taps(session=session, options=live)
        except LiveRefused as exc:
            live_session_finish(session=session, video_path=runner.video_path, error=str(exc))
            raise CommandError(str(exc)) from exc
        output = Path(options["output"]).open("a", encoding="utf-8") if options["output"] else None
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: runner.stop())
        self.stdout.write(f"live: recording {session.recording.pk}, job {session.job.pk}; stop with Ctrl+C")
        beating = threading.Event()
        heart = threading.Thread(target=self._beat, args=(session, beating), daemon=True)
        heart.start()
        error = ""
        try:
            outcome = runner.run(session, output=output, taps=taps)
            error = outcome.error
        finally:
            beating.set()
            heart.join()
            if output is not None:
                output.close()
            live_session_finish(session=session, video_path=runner.video_path, error=error or "")
        self.stdout.write(json.dumps({"recording": session.recording.pk, "events": outcome.events,
                                      "error": outcome.error, **outcome.stats.to_json(), **outcome.taps}))

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
            raise LiveRefused(f"no user {username!r}" if username else "no superuser to own the session: pass --owner")
        return owner
