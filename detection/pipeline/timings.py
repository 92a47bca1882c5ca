"""Seconds and counts per pipeline stage: the job's result and the benchmarks print them."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

Stage = Literal["gate", "inference", "ocr", "filter", "look_back"]


@dataclass
class StageTimings:
    """Seconds per stage. `decode_wait` is how long the pipeline waited for frames; `decode` the time
    spent decoding, which a source that decodes in its own thread (`PrefetchSource`) overlaps with
    the other stages, so the stages can add up to more than the wall time."""

    decode: float = 0.0
    decode_wait: float = 0.0
    gate: float = 0.0
    inference: float = 0.0
    ocr: float = 0.0
    filter: float = 0.0
    # Two-pass: decoding and detecting the frames skipped before a stretch that began on a notification
    # (`Run._appeared`), in the pipeline's thread; the detector's runs there are not `inferences`.
    look_back: float = 0.0
    frames: int = 0
    inferences: int = 0
    ocr_reads: int = 0
    looked_back: int = 0  # frames the look-back ran the detector on

    @contextmanager
    def measure(self, stage: Stage) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            setattr(self, stage, getattr(self, stage) + time.perf_counter() - started)

    def to_json(self) -> dict[str, float | int]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in self.__dict__.items()}
