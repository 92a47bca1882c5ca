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
        self._reference_grey: np.ndarray | None = None
        self._reference: list[np.ndarray] | None = None
        self._reused = 0
        self.inferences = 0
        self.reuses = 0

    def _grey(self, frame: Frame) -> np.ndarray:
        height = max(8, self.size * frame.height // max(1, frame.width))
        # Every n-th pixel first: area-averaging a whole 1080p frame costs more than the rest of the gate.
        step = max(1, frame.width // (self.size * 4))
        small = cv2.resize(frame.image[::step, ::step], (self.size, height), interpolation=cv2.INTER_AREA)
        grey: np.ndarray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        return grey

    def _thumbnails(self, grey: np.ndarray) -> list[np.ndarray]:
        height = grey.shape[0]
        thumbs = []
        for box in self.regions:
            x0, y0, x1, y1 = box.pixels(self.size, height)
            thumbs.append(grey[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)].astype(np.int16))
        return thumbs

    def changed(self, frame: Frame) -> bool:
        grey = self._grey(frame)
        thumbs = self._thumbnails(grey)
        reference = self._reference
        stale = self._reused >= self.max_reuse
        if reference is None or stale or any(
            float(np.mean(np.abs(now - then) > self.pixel_delta)) > self.threshold for now, then in zip(thumbs, reference)
        ):
            self._reference_grey, self._reference = grey, thumbs
            self._reused = 0
            self.inferences += 1
            return True
        self._reused += 1
        self.reuses += 1
        return False

    def reset(self) -> None:
        self._reference_grey = self._reference = None
        self._reused = 0

    def state(self) -> GateState:
        return GateState(self._reference_grey, self._reused)

    def restore(self, state: GateState) -> None:
        grey = state.reference
        self._reference_grey, self._reused = grey, state.reused
        self._reference = None if grey is None else self._thumbnails(grey)
