"""Live labelling beside the live loop: windows cut from the frames fed, labelled by a real backend client
(the fake VLM server), stored as the session's rows; a slow backend drops labels, never events."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from detection.pipeline.live import LiveLoop, LiveSource
from detection.pipeline.types import Event, Frame
from detection.pipeline.windows import WindowSpec
from detection.services.live import live_session_start
from labeling.live_labels import LiveLabeller, WindowCollector
from labeling.vlm_models import WindowLabel
from tests.labeling.fake_vlm import GOOD_LABEL, FakeVlm

FPS = 5.0


def frame(n: int, *, start: datetime) -> Frame:
    image = np.full((180, 320, 3), n % 255, dtype=np.uint8)  # each frame's own pixels
    return Frame(picture=image, number=n * 6, video_time=n / FPS, real_time=start + timedelta(seconds=n / FPS))


class InstantSource(LiveSource):
    """`count` frames at 5 fps of video, handed over as fast as they are taken (nothing dropped)."""

    type_key = "test"

    def __init__(self, count: int) -> None:
        super().__init__(detection_fps=FPS, capacity=10_000)
        self.count = count

    def _capture(self) -> Iterator[Frame]:
        self.started_at = datetime.now(UTC)
        for n in range(self.count):
            yield frame(n, start=self.started_at)


class EveryTenthFrame:
    """A stand-in pipeline run: one event per ten frames."""

    def __init__(self) -> None:
        self.fed = 0
        self.new: list[Event] = []

    def feed(self, batch: Sequence[Frame]) -> None:
        for item in batch:
            self.fed += 1
            if self.fed % 10 == 0:
                self.new.append(Event(f"kill-{item.number}", "kill", item.video_time, item.number, 0.9, {}))

    def take_new_events(self) -> list[Event]:
        taken, self.new = self.new, []
        return taken

    def finish(self) -> None:
        return None


def test_windows_are_cut_from_the_frames_fed_at_their_stride() -> None:
    collector = WindowCollector(WindowSpec(frames=5, seconds=2.0, stride=2.0))
    start = datetime.now(UTC)
    windows = [w for n in range(31) if (w := collector.add(frame(n, start=start))) is not None]
    assert [(w.window.planned.start, w.window.planned.end) for w in windows] == [(0, 2), (2, 4), (4, 6)]
    assert [f.video_time for f in windows[1].window.frames] == [2.0, 2.4, 2.8, 3.2, 3.6]
    assert windows[1].end_captured == start + timedelta(seconds=3.6)


@pytest.mark.django_db(transaction=True)  # the labeller's thread writes its rows on a connection of its own
def test_a_slow_backend_drops_labels_and_every_event_still_arrives(owner, settings) -> None:  # type: ignore[no-untyped-def]
    session = live_session_start(owner=owner, title="Live", video_path="/tmp/live.mkv", session_type="stream",
                                 source="test", params={})
    events: list[Event] = []
    with FakeVlm(delay=0.4) as server:
        settings.VODSCOPE_VLM_URLS = {"ollama": server.url}
        labeller = LiveLabeller.for_session(session=session, backend="ollama", model="test-model")
        stats = LiveLoop(source=InstantSource(100), run=EveryTenthFrame(), on_events=events.extend,
                         on_frames=labeller.frames).run_until_stopped()
        closed: dict[str, Any] = labeller.close(timeout=5)["labels"]
    assert stats.frames == 100 and len(events) == 10  # the loop never waited for a label
    offered = labeller.collector.index
    assert offered == 9  # 20 s of video: windows end at 2, 4, …, 18 s
    assert closed["dropped"] >= 1 and closed["labelled"] >= 1
    assert closed["labelled"] + closed["failed"] + closed["dropped"] == offered
    rows = list(WindowLabel.objects.filter(job=session.job).order_by("window_index"))
    assert len(rows) == closed["labelled"] + closed["failed"]
    assert rows[0].recording == session.recording and rows[0].label is not None
    assert rows[0].label["tactic"] == GOOD_LABEL["tactic"] and rows[0].source == WindowLabel.Source.VLM
