"""A run's checkpoint: everything a resumed run needs to go on exactly as the unbroken run would.

Taken only when the run is quiet (no screen or overlay being counted, no reading pending), so
what is half-done needs no place here. The JSON is what a Job row keeps; numbers are written
unrounded (JSON floats round-trip exactly), the gate's thumbnail as zlib-compressed base64.
"""
from __future__ import annotations

import base64
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detection.pipeline.assembly import RecentEvent
from detection.pipeline.gate import GateState
from detection.pipeline.probes import NEVER, ProbeState
from detection.pipeline.types import Box, Detection


@dataclass(frozen=True)
class ScreenWatch:
    """A held screen the detector names `detected` but whose words named `read` (or that a text probe found): its
    words are read again every `probe_seconds` (last at `checked`), since the next screen may look the same to the
    detector."""

    detected: str
    read: str
    checked: float


class CheckpointError(ValueError):
    """The stored checkpoint is not one this version can resume from; the message names the key."""


@dataclass(frozen=True)
class Checkpoint:
    video_time: float  # the last frame looked at; a resumed run starts with the next one
    machine: Mapping[str, Any] = field(default_factory=dict)  # the state machine's own snapshot
    screen: str | None = None  # the screen filter's current screen
    next_track: int = 1  # the overlay filter's next track number (events of a track carry it)
    # The detector's last answer and the gate's reference: frames that change nothing reuse it.
    detections: tuple[Detection, ...] = ()
    gate: GateState = GateState()
    probes: ProbeState = ProbeState()
    recent: tuple[RecentEvent, ...] = ()  # for the repeat check of the next overlay events
    watch: ScreenWatch | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "video_time": self.video_time,
            "machine": dict(self.machine),
            "current": self.screen,
            "next_track": self.next_track,
            "detections": [_detection_json(d) for d in self.detections],
            "gate": _gate_json(self.gate),
            "probes": {"last_time": self.probes.last_time, "found": [_detection_json(d) for d in self.probes.found]},
            "recent_events": [
                {"event_id": e.event_id, "type": e.type, "video_time": e.video_time, "data": e.data} for e in self.recent
            ],
            "watch": None if self.watch is None else {"detected": self.watch.detected, "read": self.watch.read,
                                                      "checked": self.watch.checked},
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Checkpoint:
        """Keys a checkpoint of an earlier version lacks take their starting values."""
        try:
            probes = raw.get("probes") or {}
            watch = raw.get("watch")
            return cls(
                video_time=float(raw["video_time"]),
                machine=dict(raw.get("machine") or {}),
                screen=None if raw.get("current") is None else str(raw["current"]),
                next_track=int(raw.get("next_track", 1)),
                detections=tuple(_detection(d) for d in raw.get("detections") or ()),
                gate=_gate(raw.get("gate") or {}),
                probes=ProbeState(float(probes.get("last_time", NEVER)),
                                  tuple(_detection(d) for d in probes.get("found") or ())),
                recent=tuple(
                    RecentEvent(str(e["event_id"]), str(e["type"]), float(e["video_time"]), dict(e["data"]))
                    for e in raw.get("recent_events") or ()
                ),
                watch=None if watch is None else ScreenWatch(str(watch["detected"]), str(watch["read"]),
                                                             float(watch["checked"])),
            )
        except (KeyError, TypeError, ValueError, zlib.error) as exc:
            raise CheckpointError(f"checkpoint cannot be resumed from: {exc!r}") from exc


def _detection_json(detection: Detection) -> dict[str, Any]:
    box = detection.box
    return {"label": detection.label, "confidence": detection.confidence, "box": [box.x0, box.y0, box.x1, box.y1]}


def _detection(raw: Mapping[str, Any]) -> Detection:
    return Detection(str(raw["label"]), float(raw["confidence"]), Box(*(float(v) for v in raw["box"])))


def _gate_json(state: GateState) -> dict[str, Any]:
    reference = state.reference
    if reference is None:
        return {"reused": state.reused}
    packed = base64.b64encode(zlib.compress(np.ascontiguousarray(reference, dtype=np.uint8).tobytes())).decode()
    return {"reused": state.reused, "shape": list(reference.shape), "reference": packed}


def _gate(raw: Mapping[str, Any]) -> GateState:
    if "reference" not in raw:
        return GateState(reused=int(raw.get("reused", 0)))
    shape = tuple(int(n) for n in raw["shape"])
    pixels = np.frombuffer(zlib.decompress(base64.b64decode(raw["reference"])), dtype=np.uint8)
    return GateState(pixels.reshape(shape).copy(), int(raw["reused"]))
