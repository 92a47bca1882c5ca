"""A recording's frame as an image file, taken once with the pipeline's own video source at the frame's PTS."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import imagehash
import numpy as np
from PIL import Image

from detection.pipeline.source import DecodeOptions, FileVideoSource, VideoSourceError

from .items import DatasetError

# Far above any stream's rate (the source's sampling grid is not used here: raw frames are read after a seek).
_EVERY_FRAME = 1000.0
JPEG_QUALITY = 95
# Decoding this much video to reach the next frame is cheaper than a seek, which decodes a GOP.
_WALK_SECONDS = 4.0


@dataclass(frozen=True)
class ExtractedFrame:
    path: Path
    width: int
    height: int
    video_time: float
    phash: str


def extract_frame(video: Path, *, frame_number: int, out: Path) -> ExtractedFrame:
    """Frame `frame_number` (the pipeline's numbering: round(pts × stream rate)) written as JPEG to `out`.

    The frame whose PTS is nearest to number / rate, so a variable-rate stream gives the frame the
    pipeline numbered so, not the one after it."""
    extracted = extract_frames(video, frames=[(frame_number, out)])
    if frame_number not in extracted:
        raise DatasetError(f"{video}: no frame {frame_number} (the video is shorter)")
    return extracted[frame_number]


def extract_frames(video: Path, *, frames: Sequence[tuple[int, Path]]) -> dict[int, ExtractedFrame]:
    """Each (frame number, JPEG path) of `frames` taken as `extract_frame` takes one, in one walk
    through the video: a seek only where the next frame is behind or far ahead, so frames a few
    seconds apart cost one decode of the stretch, not one seek and GOP each. Frame numbers past
    the video's end are left out of the answer."""
    extracted: dict[int, ExtractedFrame] = {}
    try:
        with FileVideoSource(video, detection_fps=_EVERY_FRAME, options=DecodeOptions(analysis_width=0)) as source:
            assert isinstance(source, FileVideoSource)
            rate = source.stream_fps
            position: float | None = None
            pending: av.VideoFrame | None = None
            for frame_number, out in sorted(frames):
                target = frame_number / rate
                if position is None or target < position or target - position > _WALK_SECONDS:
                    source.seek(max(0.0, target - 1.0 / rate))
                    pending = None
                best: tuple[float, float, np.ndarray] | None = None
                for raw in _frames_from(pending, source.raw_frames()):
                    if raw.time is None:
                        continue
                    position = float(raw.time)
                    distance = abs(position - target)
                    if best is None or distance < best[0]:
                        best = (distance, position, raw.to_ndarray(format="bgr24"))
                    if position > target:
                        pending = raw  # the next request may want this very frame
                        break
                else:
                    pending = None
                if best is not None and best[0] <= 1.0 / rate:
                    extracted[frame_number] = _write(out, video_time=best[1], image=best[2])
    except VideoSourceError as exc:
        raise DatasetError(f"{video}: {exc}") from None
    return extracted


def _frames_from(pending: av.VideoFrame | None, rest: Iterator[av.VideoFrame]) -> Iterator[av.VideoFrame]:
    if pending is not None:
        yield pending
    yield from rest


def _write(out: Path, *, video_time: float, image: np.ndarray) -> ExtractedFrame:
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
        raise DatasetError(f"{out}: cannot write the frame image")
    height, width = image.shape[:2]
    return ExtractedFrame(path=out, width=width, height=height, video_time=video_time, phash=image_phash(out))


def image_phash(path: Path) -> str:
    """64-bit perceptual hash as 16 hex digits: near-duplicate frames differ in a few bits."""
    with Image.open(path) as image:
        return str(imagehash.phash(image))
