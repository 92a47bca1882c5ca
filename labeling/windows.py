"""What is sent for a window: its frames downscaled, the HUD crop of its last frame, and OCR's HUD values.

Sizes, chosen for what the backends bill (tokens per image, see each backend's `image_tokens`):
- frames at 448 px wide (448x252 for 16:9): one Gemini tile (258 tokens; any side over 384 px is one
  768-px tile until 768), one MiniCPM-V/Qwen-VL 448-px slice (about 64), OpenAI `detail: low` (85).
  A 384-px frame costs Gemini the same 258 and shows less; a 768-px one costs Ollama three slices.
- the HUD crop at its native size up to 768 px wide (864x162 at 1080p becomes 768x144): still one
  Gemini tile, and its digits stay a dozen pixels or more tall where the 448-px frame shrinks them to 6.
So a 5-frame window is 6 images: Gemini 1548 image tokens, Ollama about 512, OpenAI 510.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from detection.pipeline.hud import hud_crop, hud_values
from detection.pipeline.labels import LabelSchema
from detection.pipeline.profile import GameProfile
from detection.pipeline.source import DecodeOptions, FileVideoSource
from detection.pipeline.text import TextReader
from detection.pipeline.windows import Window, WindowPlan, WindowSpec, windows_read
from labeling.analyst import PreparedWindow

FRAME_WIDTH = 448
HUD_MAX_WIDTH = 768
JPEG_QUALITY = 85


@dataclass(frozen=True)
class SentImages:
    frame_size: tuple[int, int]
    hud_size: tuple[int, int]


def jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError(f"could not encode a {image.shape} image as JPEG")
    return bytes(data)


def fit_width(image: np.ndarray, width: int) -> np.ndarray:
    if image.shape[1] <= width:
        return image
    height = max(2, int(round(image.shape[0] * width / image.shape[1])))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def window_prepare(window: Window, *, profile: GameProfile, schema: LabelSchema, reader: TextReader | None,
                   context: dict[str, Any], inputs: str = "") -> PreparedWindow:
    digest = hashlib.blake2b(digest_size=20)
    images: list[bytes] = []
    for frame in window.frames:
        small = fit_width(frame.image, FRAME_WIDTH)
        digest.update(np.ascontiguousarray(small).tobytes())
        images.append(jpeg(small))
    hud = hud_crop(window.frames[-1], profile, schema)
    digest.update(np.ascontiguousarray(hud).tobytes())
    images.append(jpeg(fit_width(hud, HUD_MAX_WIDTH)))
    ocr: dict[str, int | None] = {f.name: None for f in schema.hud_fields}
    if reader is not None:
        ocr = hud_values([line.text for line in reader.read(hud)], schema)
    return PreparedWindow(
        index=window.planned.index,
        start=window.planned.start,
        end=window.planned.end,
        frame_times=tuple(window.frame_times),
        images=tuple(images),
        content_hash=digest.hexdigest(),
        ocr=ocr,
        context=context,
        inputs=inputs,
    )


def windows_prepared(video: Path, plan: WindowPlan, *, spec: WindowSpec, profile: GameProfile, schema: LabelSchema,
                     reader: TextReader | None,
                     context_for: Callable[[float, float], dict[str, Any]],
                     inputs_for: Callable[[float, float], str] | None = None) -> Iterator[PreparedWindow]:
    """Decode once, prepare each planned window as its last frame arrives; the source closes at the end.

    `inputs_for` (labeling.inputlog_services.window_inputs_for) summarises the recording's input log over
    each window; None when there is no log."""
    # B-frames skipped: a window frame is then the next reference frame, a few frames late, with its own PTS.
    source = FileVideoSource(video, detection_fps=spec.fps,
                             options=DecodeOptions(analysis_width=FRAME_WIDTH, skip_nonref=True))
    with source:
        for window in windows_read(source, plan, spec=spec):
            start, end = window.planned.start, window.planned.end
            yield window_prepare(window, profile=profile, schema=schema, reader=reader, context=context_for(start, end),
                                 inputs=inputs_for(start, end) if inputs_for is not None else "")


def video_duration(video: Path) -> float:
    with FileVideoSource(video, detection_fps=1.0) as source:
        return source.duration
