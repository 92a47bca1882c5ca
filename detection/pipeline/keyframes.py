"""Every keyframe of a video file, decoded by several threads at once (the two-pass proposal pass).

A keyframe depends on no other frame, so each thread opens the file on its own and hands its
decoder only every n-th keyframe packet; nothing else is decoded or even parsed. PyAV decodes with
the GIL released, so n threads decode n keyframes at a time, beside the detector's runs. The first
thread also notes every packet's time and size (`packets`): where the encoder spent its bits
between keyframes, for free.
"""
from __future__ import annotations

import threading
from pathlib import Path

import av
import av.error
from av.video.reformatter import VideoReformatter

from detection.pipeline.prefetch import FrameChannel
from detection.pipeline.proposal import Packet
from detection.pipeline.source import VideoDecodeError, VideoSource, VideoSourceError, analysis_frame, check_readable
from detection.pipeline.types import Frame


class KeyframeSource(VideoSource):
    """Keyframes in order, converted like any sampled frame; `fps` is their mean rate."""

    def __init__(self, path: str | Path, *, workers: int = 2, analysis_width: int = 640, depth: int = 4) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.path = Path(path)
        check_readable(self.path)
        try:
            with av.open(str(self.path)) as container:
                if not container.streams.video:
                    raise VideoSourceError(f"{self.path}: no video stream")
                stream = container.streams.video[0]
                rate = stream.average_rate or stream.guessed_rate
                self.stream_fps = float(rate) if rate else 30.0
                self._length = float(container.duration or 0) / av.time_base
        except av.error.FFmpegError as exc:
            raise VideoSourceError(f"{self.path}: not a readable video ({exc})") from exc
        self.workers = workers
        self.analysis_width = analysis_width
        self.depth = depth
        self.keyframes = 0
        self.packets: list[Packet] = []
        self._start(0.0)

    def _start(self, seconds: float) -> None:
        self._stop = threading.Event()
        self._from = seconds
        self.packets = []
        self._turn = 0
        self._channels = [FrameChannel(self.depth, self._stop) for _ in range(self.workers)]
        self._threads = [
            threading.Thread(target=self._decode, args=(worker,), name=f"vodscope-keyframes-{worker}", daemon=True)
            for worker in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()

    def _decode(self, worker: int) -> None:
        channel = self._channels[worker]
        reformatter = VideoReformatter()
        last = 0.0
        try:
            with av.open(str(self.path)) as container:
                stream = container.streams.video[0]
                if self._from > 0 and stream.time_base is not None:
                    # Every worker seeks alike, so all count the same keyframes from the same packet.
                    container.seek(int(self._from / stream.time_base), stream=stream, backward=True)
                index = 0
                for packet in container.demux(stream):
                    if self._stop.is_set():
                        return
                    if worker == 0 and packet.size and packet.pts is not None and packet.time_base is not None:
                        self.packets.append(Packet(float(packet.pts * packet.time_base), packet.size,
                                                   packet.is_keyframe))
                    if packet.size and (not packet.is_keyframe or self._before_start(packet)):
                        continue
                    # The empty packet at the end flushes the decoder's reorder delay.
                    mine = not packet.size or index % self.workers == worker
                    index += bool(packet.size)
                    if not mine:
                        continue
                    for frame in packet.decode():
                        if isinstance(frame, av.VideoFrame) and frame.time is not None:
                            last = float(frame.time)
                            channel.put(analysis_frame(frame, last, stream_fps=self.stream_fps,
                                                       width=self.analysis_width, reformatter=reformatter,
                                                       started_at=None))
        except av.error.FFmpegError as exc:
            message = f"{self.path}: decoding keyframes failed after {last:.2f} s ({exc})"
            channel.put(VideoDecodeError(message, video_time=last))
            return
        channel.put(None)

    def _before_start(self, packet: av.Packet[av.VideoStream]) -> bool:
        if packet.pts is None or packet.time_base is None:
            return False
        return float(packet.pts * packet.time_base) + 0.25 / self.stream_fps < self._from

    def read_frame(self) -> Frame | None:
        # Keyframe k came from worker k mod n: when that one has no more, no later keyframe exists.
        frame = self._channels[self._turn].get()
        if frame is not None:
            self._turn = (self._turn + 1) % self.workers
            self.keyframes += 1
        return frame

    def all_packets(self) -> list[Packet]:
        """Every packet from the start or the last seek on; call once `read_frame` returned None
        (the first thread may still be demuxing the end when another's keyframes ran out)."""
        self._threads[0].join()
        return list(self.packets)

    def seek(self, seconds: float) -> None:
        self._halt()
        self._start(max(0.0, seconds))

    @property
    def fps(self) -> float:
        """Keyframes per second of video so far (the encoder decides where they fall)."""
        return self.keyframes / self._length if self._length else 0.0

    @property
    def duration(self) -> float:
        return self._length

    def _halt(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def close(self) -> None:
        self._halt()
