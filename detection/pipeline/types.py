"""The data that flows between pipeline stages: frozen, small, no Django."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame, BGR. `video_time` comes from the stream's PTS, never from a frame counter.

    `image` is what the gate and the detector look at: a file source gives a reduced copy of a
    large frame (boxes are normalised, so they mean the same at any size). It is given as `picture`:
    the array, or the conversion that makes it, run once on first use, with `size` (its width and
    height) beside it. A file source converts that late because the gate decides from `luma` alone,
    and most sampled frames are passed over by the gate and never looked at. `full` is the frame at
    full resolution, for OCR crops and thumbnails: converted once, on first use, by `full_image`
    when the source gives one; without one it is `image` itself.

    `stretch`: the start and end (video time) of the unbroken run of samples the frame belongs to
    when the source reads the video in pieces (two-pass spans); None when the video goes on.

    `news_in`: seconds until new content is known to appear in the frame's stretch (two-pass: a burst
    of the encoder's bits), 0 on the first frame at or after it; None when the source knows of none.
    """

    picture: np.ndarray | Callable[[], np.ndarray] = field(repr=False)
    number: int
    video_time: float
    real_time: datetime | None = None
    full_image: Callable[[], np.ndarray] | None = field(default=None, repr=False)
    stretch: tuple[float, float] | None = None
    news_in: float | None = None
    size: tuple[int, int] | None = None
    luma: Luma | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if callable(self.picture) and self.size is None:
            raise ValueError("a frame converted on first use needs its size")

    @cached_property
    def image(self) -> np.ndarray:
        # cached_property writes the instance __dict__ directly, which a frozen dataclass allows.
        picture = self.picture
        return picture if isinstance(picture, np.ndarray) else picture()

    @cached_property
    def full(self) -> np.ndarray:
        return self.image if self.full_image is None else self.full_image()

    @property
    def width(self) -> int:
        return self.size[0] if self.size is not None else int(self.image.shape[1])

    @property
    def height(self) -> int:
        return self.size[1] if self.size is not None else int(self.image.shape[0])


# Video-range luma (16-235) to the grey levels of the full-range BGR picture swscale converts it to.
_VIDEO_TO_FULL_RANGE = np.clip(np.round((np.arange(256) - 16) * 255 / 219), 0, 255).astype(np.uint8)


@dataclass(frozen=True, eq=False)
class Luma:
    """A decoded frame's luma plane at full resolution: a view into the decoder's picture, not a copy.
    `video_range`: its levels run from 16 to 235 (most video), not 0 to 255."""

    plane: np.ndarray
    video_range: bool

    def as_grey(self, levels: np.ndarray) -> np.ndarray:
        """`levels`, taken from `plane`, on the scale of the grey levels `cv2.COLOR_BGR2GRAY` gives of the BGR
        picture. Within a level or two for BT.601 video; BT.709 weighs the colours otherwise (pure red: 55
        against 76), so saturated colours move its thumbnail less. The gate compares thumbnails of one kind
        only, so a change is still a change."""
        return _VIDEO_TO_FULL_RANGE[levels] if self.video_range else levels


@dataclass(frozen=True)
class Box:
    """Normalised to the frame (0..1), so a box means the same thing at any resolution."""

    x0: float
    y0: float
    x1: float
    y1: float

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        return (
            max(0, int(self.x0 * width)),
            max(0, int(self.y0 * height)),
            min(width, int(round(self.x1 * width))),
            min(height, int(round(self.y1 * height))),
        )

    def iou(self, other: Box) -> float:
        ix = max(0.0, min(self.x1, other.x1) - max(self.x0, other.x0))
        iy = max(0.0, min(self.y1, other.y1) - max(self.y0, other.y0))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    @property
    def area(self) -> float:
        return max(0.0, self.x1 - self.x0) * max(0.0, self.y1 - self.y0)

    def to_json(self) -> list[float]:
        return [round(self.x0, 4), round(self.y0, 4), round(self.x1, 4), round(self.y1, 4)]


# The whole frame: a region that is every pixel.
WHOLE_FRAME = Box(0.0, 0.0, 1.0, 1.0)


@dataclass(frozen=True)
class Detection:
    label: str
    confidence: float
    box: Box


@dataclass(frozen=True)
class Observation:
    """What one sampled frame shows: the full-screen class (if any) and the overlays (kill notifications)."""

    frame_number: int
    video_time: float
    screen: Detection | None
    overlays: tuple[Detection, ...] = ()


@dataclass(frozen=True)
class Event:
    event_id: str
    type: str
    video_time: float
    frame_number: int
    confidence: float
    data: dict[str, Any]
    evidence: dict[str, Any] = field(default_factory=dict)
    thumbnail: bytes = b""  # small JPEG of the confirming frame


@dataclass(frozen=True)
class Rejection:
    """An observed screen that would make an impossible transition: not an event, kept for review."""

    key: str
    from_state: str
    observed_screen: str
    video_time: float
    frame_number: int
    confidence: float
    reason: str


@dataclass(frozen=True)
class Uncertain:
    """A frame the detector was unsure about (a box inside the uncertainty band): worth a reviewer's box for
    training. `label` and `confidence` are its least sure box's; `detections` all it saw there (the proposal)."""

    frame_number: int
    video_time: float
    label: str
    confidence: float
    detections: tuple[Detection, ...]
