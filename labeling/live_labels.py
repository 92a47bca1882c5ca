"""Live labelling: the VLM analyst on a live session's windows, beside the loop, never in its way.

The live loop hands every frame it fed to `LiveLabeller.frames` (cheap: a reference appended). Once a
window's span (`WindowSpec`: N frames over T seconds, one window every `stride` seconds of video) has
passed, its frames go into a bounded queue; when the queue is full the OLDEST waiting window is
dropped and counted, so a slow or failing backend makes labels late or missing, never events.

One thread of its own takes windows from that queue, prepares them (JPEGs, HUD crop) and asks the
analyst on an asyncio loop owned by that thread (the same retries, rate limit and circuit breaker
as batch labelling, with fewer and shorter retries: a label that comes minutes late is no use live).
Each result becomes a `WindowLabel` row of the session (the truth the dashboard's feed polls in
embedded mode) and a `label` message to the `live` group (docs/live.md).

Live windows are never asked twice, so the answer cache is not consulted; OCR of the HUD is left to
the detection pipeline (the 2-core budget goes to detection), so a window no backend answered is
`labelled` from nothing (`source: ocr`, values null) rather than failed.
"""
from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from detection.models import DetectedEvent
from detection.pipeline.event_log import format_timestamp
from detection.pipeline.labels import LabelSchema, label_schema_load, prompt_load
from detection.pipeline.profile import GameProfile, load_profile
from detection.pipeline.types import Frame
from detection.pipeline.windows import PlannedWindow, Window, WindowSpec
from detection.services.live import LiveSession, live_broadcast
from detection.services.live_run import LiveRefused
from labeling.analyst import Analyst, Limits, WindowResult
from labeling.backends.base import backend_create
from labeling.services.vlm_label import backend_config, window_label_store
from labeling.vlm_models import WindowLabel
from labeling.windows import window_prepare

logger = logging.getLogger(__name__)

QUEUE_CAPACITY = 2  # windows waiting for the backend; older ones are dropped
LIVE_LIMITS = Limits(concurrency=1, requests_per_minute=120, attempts=2, backoff_initial=0.5, backoff_max=2.0)


class NoCache:
    """Live windows are seen once: nothing to look up, nothing worth keeping."""

    async def get(self, key: str) -> dict[str, Any] | None:
        return None

    async def put(self, key: str, entry: dict[str, Any]) -> None:
        return None


@dataclass(frozen=True)
class LiveWindow:
    window: Window
    end_captured: datetime | None  # capture time of its last frame: where "window end to label" starts


class WindowCollector:
    """Frames in, complete windows out: a window is complete once a frame at or past its end arrives.

    Holds only the frames of the window being filled (at most its span plus one frame)."""

    def __init__(self, spec: WindowSpec) -> None:
        self.spec = spec
        self.index = 0
        self._held: deque[Frame] = deque()

    def add(self, frame: Frame) -> LiveWindow | None:
        start = self.index * self.spec.stride
        end = start + self.spec.seconds
        if frame.video_time >= start - self.spec.step:
            self._held.append(frame)
        if frame.video_time < end - 1e-6:
            return None
        targets = [start + i * self.spec.step for i in range(self.spec.frames)]
        held = [f for f in self._held if f.video_time < end - 1e-6] or [frame]
        chosen = tuple(_nearest(held, t) for t in targets)
        planned = PlannedWindow(index=self.index, first=0, start=round(start, 3), end=round(end, 3))
        # The next window starts a stride later; a session that jumped ahead (frames dropped) skips the missed ones.
        self.index = max(self.index + 1, math.floor((frame.video_time - self.spec.seconds) / self.spec.stride) + 1)
        next_start = self.index * self.spec.stride
        while self._held and self._held[0].video_time < next_start - self.spec.step:
            self._held.popleft()
        return LiveWindow(window=Window(planned=planned, frames=chosen), end_captured=chosen[-1].real_time)


def _nearest(frames: list[Frame], video_time: float) -> Frame:
    return min(frames, key=lambda frame: abs(frame.video_time - video_time))


class LiveLabeller:
    def __init__(self, *, session: LiveSession, analyst: Analyst, profile: GameProfile, schema: LabelSchema,
                 spec: WindowSpec, capacity: int = QUEUE_CAPACITY) -> None:
        self.session = session
        self.analyst = analyst
        self.profile = profile
        self.schema = schema
        self.spec = spec
        # The job in the key: two sessions on the same file keep their own rows.
        self.spec_key = f"live{session.job.pk}:{spec.frames}x{spec.seconds:g}/{spec.stride:g}"
        self.capacity = capacity
        self.collector = WindowCollector(spec)
        self.dropped = 0
        self.labelled = 0
        self.failed = 0
        self._waiting: deque[LiveWindow] = deque()
        self._ready = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._work, name=f"live-labels-{session.job.pk}", daemon=True)
        self._thread.start()

    @classmethod
    def for_session(cls, *, session: LiveSession, backend: str = "", model: str = "",
                    spec: WindowSpec = WindowSpec()) -> LiveLabeller:
        """The backend asked for (default: the first configured) with its configured model unless `model`;
        raises LiveRefused when it cannot be made."""
        key = backend or next(iter(settings.VODSCOPE_VLM_BACKENDS), "")
        try:
            client = backend_create(backend_config(key, model=model))
            profile = load_profile(settings.VODSCOPE_GAME_PROFILE)
            schema = label_schema_load(profile.name)
            prompt = prompt_load(profile.name, schema.default_prompt)
        except (ImproperlyConfigured, ValueError, OSError) as exc:
            raise LiveRefused(f"live labels: {exc}") from exc
        analyst = Analyst(backends=[client], schema=schema, prompt=prompt, limits=LIVE_LIMITS, cache=NoCache(),
                          params={"frames": spec.frames, "seconds": spec.seconds, "live": True})
        return cls(session=session, analyst=analyst, profile=profile, schema=schema, spec=spec)

    # The loop's side (LiveTap): never blocks.

    def frames(self, batch: list[Frame]) -> None:
        for frame in batch:
            complete = self.collector.add(frame)
            if complete is not None:
                self._offer(complete)

    def events(self, rows: list[DetectedEvent]) -> None:
        return None  # labels follow the frames; events need nothing from here

    def _offer(self, window: LiveWindow) -> None:
        with self._ready:
            if len(self._waiting) >= self.capacity:
                self._waiting.popleft()
                self.dropped += 1
            self._waiting.append(window)
            self._ready.notify()

    def close(self, timeout: float) -> dict[str, Any]:
        """Windows still waiting are labelled if the backend answers within `timeout` seconds, else dropped."""
        with self._ready:
            self._closing = True
            self._ready.notify_all()
        self._thread.join(timeout)
        with self._ready:
            self.dropped += len(self._waiting)
            self._waiting.clear()
        return {"labels": {"labelled": self.labelled, "failed": self.failed, "dropped": self.dropped}}

    # The labeller's own thread.

    def _take(self) -> LiveWindow | None:
        with self._ready:
            self._ready.wait_for(lambda: self._waiting or self._closing)
            return self._waiting.popleft() if self._waiting else None

    def _work(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            while (live := self._take()) is not None:
                try:
                    prepared = window_prepare(live.window, profile=self.profile, schema=self.schema, reader=None,
                                              context={})
                    result = loop.run_until_complete(self.analyst.label(prepared))
                    self._store(result, live)
                except Exception:  # whatever it was (a database hiccup, an image it cannot encode): one window lost,
                    # never the rest of the session's labels
                    logger.exception("live label for window %s lost", live.window.planned.index)
        finally:
            for backend in self.analyst.backends:
                loop.run_until_complete(backend.close())
            loop.close()
            connection.close()  # this thread's own database connection

    def _store(self, result: WindowResult, live: LiveWindow) -> None:
        window_label_store(result, video=Path(self.session.recording.source_path), recording=self.session.recording,
                           job=self.session.job, prompt_version=self.analyst.prompt.version, spec_key=self.spec_key)
        if result.status == WindowLabel.Status.LABELLED:
            self.labelled += 1
        else:
            self.failed += 1
        row = WindowLabel.objects.filter(job=self.session.job, spec=self.spec_key,
                                         window_index=result.window.index).first()
        if row is not None:
            live_broadcast(label_message(row, end_captured=live.end_captured, dropped=self.dropped))


def label_message(row: WindowLabel, *, end_captured: datetime | None = None, dropped: int | None = None) -> dict[str, Any]:
    """A `label` message (docs/live.md). `window_end_at` is the capture time of the window's last frame:
    from the row's session start when not given."""
    if end_captured is None and row.recording is not None and row.recording.started_at is not None:
        end_captured = row.recording.started_at + timedelta(seconds=row.frames[-1] if row.frames else row.end)
    message: dict[str, Any] = {
        "type": "label", "id": row.pk, "job": row.job_id, "recording": row.recording_id,
        "window": row.window_index, "start": row.start, "end": row.end, "frames": row.frames,
        "window_end_at": format_timestamp(end_captured), "status": row.status, "source": row.source,
        "backend": row.backend, "label": row.label, "flagged": row.flagged, "latency_ms": row.latency_ms,
    }
    if dropped is not None:
        message["dropped"] = dropped
    if row.status == WindowLabel.Status.FAILED:
        message["error"] = row.error
    return message
