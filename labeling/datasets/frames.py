"""A recording's frame as an image file, taken once with the pipeline's own video source at the frame's PTS."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import imagehash
import numpy as np
from PIL import Image

from detection.pipeline.source import DecodeOptions, FileVideoSource, VideoSourceError

from .items import DatasetError

# Far above any stream's rate (the source's sampling grid is not used here: raw frames are read after a seek).
_EVERY_FRAME = 1000.0
JPEG_QUALITY = 95


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
    try:
        with FileVideoSource(video, detection_fps=_EVERY_FRAME, options=DecodeOptions(analysis_width=0)) as source:
            assert isinstance(source, FileVideoSource)
            target = frame_number / source.stream_fps
            source.seek(max(0.0, target - 1.0 / source.stream_fps))
            best: tuple[float, float, np.ndarray] | None = None
            for raw in source.raw_frames():
                if raw.time is None:
                    continue
                distance = abs(float(raw.time) - target)
                if best is None or distance < best[0]:
                    best = (distance, float(raw.time), raw.to_ndarray(format="bgr24"))
                if float(raw.time) > target:
                    break
    except VideoSourceError as exc:
        raise DatasetError(f"frame {frame_number}: {exc}") from None
    if best is None or best[0] > 1.0 / source.stream_fps:
        raise DatasetError(f"{video}: no frame {frame_number} (the video is shorter)")
    _, video_time, image = best
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
        raise DatasetError(f"{out}: cannot write the frame image")
    height, width = image.shape[:2]
    return ExtractedFrame(path=out, width=width, height=height, video_time=video_time, phash=image_phash(out))


def image_phash(path: Path) -> str:
    """64-bit perceptual hash as 16 hex digits: near-duplicate frames differ in a few bits."""
    with Image.open(path) as image:
        return str(imagehash.phash(image))
