"""Decoding ahead in a thread of its own, beside the model and the OCR.

PyAV decodes and swscale converts with the GIL released, and so do onnxruntime's runs: while
the pipeline's thread runs the detector or reads text on one batch, this thread decodes and
converts the next frames. Without it the stages take turns and each leaves cores idle (the
detector's threads between runs, the OCR's single one, the gate's numpy).
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

from detection.pipeline.source import VideoSource
from detection.pipeline.types import Frame

_Item = Frame | Exception | None


class FrameChannel:
    """Frames, then the end (None) or an error, handed in order from a decoding thread to the reader.

    `put` waits for room but gives up once `stop` is set, so a reader that stops early never
    leaves the thread blocked; after the end or an error `get` answers None."""

    def __init__(self, depth: int, stop: threading.Event) -> None:
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=depth)
        self._stop = stop
        self._ended = False

    def put(self, item: _Item) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def get(self) -> Frame | None:
        if self._ended:
            return None
        item = self._queue.get()
        if isinstance(item, Frame):
            return item
        self._ended = True
        if item is not None:
            raise item
        return None


class PrefetchSource(VideoSource):
    """Wraps any source; frames, the end and errors arrive in the order the inner source gave them.

    `depth` bounds the frames held ahead (each keeps its decoded full-resolution frame for OCR,
    about 3 MB at 1080p), so memory stays flat however far the decoder could run ahead.
    """

    def __init__(self, inner: VideoSource, *, depth: int = 12) -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self.inner = inner
        self.depth = depth
        self._busy = 0.0
        self._start()

    def _start(self) -> None:
        self._stop = threading.Event()
        self._channel = FrameChannel(self.depth, self._stop)
        self._thread = threading.Thread(target=self._produce, name="vodscope-decode", daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        item: _Item
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                item = self.inner.read_frame()
            except Exception as exc:  # handed to the reader, raised there after the frames before it
                item = exc
            self._busy += time.perf_counter() - started
            self._channel.put(item)
            if not isinstance(item, Frame):
                return

    def _halt(self) -> None:
        self._stop.set()
        self._thread.join()

    def read_frame(self) -> Frame | None:
        return self._channel.get()

    def seek(self, seconds: float) -> None:
        self._halt()
        self.inner.seek(seconds)
        self._start()

    @property
    def fps(self) -> float:
        return self.inner.fps

    @property
    def duration(self) -> float:
        return self.inner.duration

    @property
    def decode_seconds(self) -> float | None:
        return self._busy

    def skipped_before(self, time: float, seconds: float) -> Iterator[Frame]:
        return self.inner.skipped_before(time, seconds)

    def close(self) -> None:
        self._halt()
        self.inner.close()
