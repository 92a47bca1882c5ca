"""The change gate (Frigate's motion gating, aimed at the profile's regions).

If no region the detector cares about has changed since the last inference, the last
detections still hold and the model does not run.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from detection.pipeline.types import Box, Frame


@dataclass(frozen=True, eq=False)
class GateState:
    """What the gate compares the next frame with: the grey thumbnail seen at the last inference
    (None: nothing yet) and how many frames have reused that inference since."""

    reference: np.ndarray | None = None
    reused: int = 0


class Gate(ABC):
    @abstractmethod
    def changed(self, frame: Frame) -> bool:
        """True when the model must look at this frame; False when its last answer still holds."""

    @abstractmethod
    def reset(self) -> None: ...

    def state(self) -> GateState:
        """For a checkpoint: a resumed run's gate must decide as the unbroken run's would."""
        return GateState()

    def restore(self, state: GateState) -> None:
        self.reset()


class AlwaysGate(Gate):
    """No gating: every sampled frame goes to the model (the gate-off arm of the recall check)."""

    def changed(self, frame: Frame) -> bool:
        return True

    def reset(self) -> None:
        return None


class RegionChangeGate(Gate):
    """Compares a small grey thumbnail of each region with the one seen at the last inference.

    A region counts as changed when more than `threshold` (a fraction) of its thumbnail's
    pixels moved by more than `pixel_delta` grey levels: a small notification or a new
    screen's key element is a change, compression noise is not. `max_reuse` bounds how many
    frames in a row may reuse one answer.
    """

    def __init__(
        self, regions: Iterable[Box], *, threshold: float, pixel_delta: int = 20, max_reuse: int = 50, size: int = 96
    ) -> None:
        self.regions = tuple(regions)
        self.threshold = threshold
        self.pixel_delta = pixel_delta
        self.max_reuse = max_reuse
        self.size = size
        self._reference: np.ndarray | None = None
        self._reused = 0
        self._corners: dict[int, list[tuple[int, int, int, int, int]]] = {}
        self.inferences = 0
        self.reuses = 0

    def _grey(self, frame: Frame) -> np.ndarray:
        """The frame's grey thumbnail, from its luma plane where the source gives one: a frame the gate passes
        over is then never converted to BGR."""
        luma = frame.luma
        pixels = frame.image if luma is None else luma.plane
        height = max(8, self.size * pixels.shape[0] // max(1, pixels.shape[1]))
        # Every n-th pixel first: area-averaging a whole 1080p frame costs more than the rest of the gate. No
        # coarser than six times the thumbnail (a 640-px frame whole; a 1080p plane's every 3rd pixel): every
        # 5th pixel of a 1080p plane left thumbnail pixels up to 38 levels off the area-averaged ones.
        step = max(1, pixels.shape[1] // (self.size * 6))
        sampled = pixels[::step, ::step]
        grey = cv2.cvtColor(sampled, cv2.COLOR_BGR2GRAY) if luma is None else np.ascontiguousarray(sampled)
        # Halved by area while over twice the thumbnail's width: OpenCV averages a whole ratio several
        # times faster than an odd one (640 to 96 px: 0.46 ms), so the odd last step works on a small image.
        while grey.shape[1] >= 4 * self.size and grey.shape[0] >= 2:
            grey = cv2.resize(grey, (grey.shape[1] // 2, grey.shape[0] // 2), interpolation=cv2.INTER_AREA)
        small: np.ndarray = cv2.resize(grey, (self.size, height), interpolation=cv2.INTER_AREA)
        return small if luma is None else luma.as_grey(small)

    def _region_corners(self, height: int) -> list[tuple[int, int, int, int, int]]:
        """Each region's rows and columns in a thumbnail `height` high (at least one pixel each way) and its area."""
        if height not in self._corners:
            corners = []
            for box in self.regions:
                x0, y0, x1, y1 = box.pixels(self.size, height)
                x1, y1 = min(max(x1, x0 + 1), self.size), min(max(y1, y0 + 1), height)
                if x1 > x0 and y1 > y0:  # a region past the frame's edge shows nothing
                    corners.append((x0, y0, x1, y1, (x1 - x0) * (y1 - y0)))
            self._corners[height] = corners
        return self._corners[height]

    def _moved(self, grey: np.ndarray, reference: np.ndarray) -> bool:
        # One difference image and its integral image: each region's count of moved pixels is then four
        # lookups, where a numpy pass per region cost more than the rest of the gate together.
        moved = (cv2.absdiff(grey, reference) > self.pixel_delta).astype(np.uint8)
        sums = cv2.integral(moved)
        return any(
            (int(sums[y1, x1]) - int(sums[y0, x1]) - int(sums[y1, x0]) + int(sums[y0, x0])) / area > self.threshold
            for x0, y0, x1, y1, area in self._region_corners(grey.shape[0])
        )

    def changed(self, frame: Frame) -> bool:
        grey = self._grey(frame)
        reference = self._reference
        stale = self._reused >= self.max_reuse
        if reference is None or stale or reference.shape != grey.shape or self._moved(grey, reference):
            self._reference = grey
            self._reused = 0
            self.inferences += 1
            return True
        self._reused += 1
        self.reuses += 1
        return False

    def reset(self) -> None:
        self._reference = None
        self._reused = 0

    def state(self) -> GateState:
        return GateState(self._reference, self._reused)

    def restore(self, state: GateState) -> None:
        self._reference, self._reused = state.reference, state.reused
