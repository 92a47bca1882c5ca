"""Score an event log against ground truth: per type precision, recall, timing error, field accuracy.

Matching (the spec's rule): same `type`, offsets within ±`tolerance` seconds, one to one.
Pairs are taken closest-in-time first (ties: the pair whose data agrees more), so an
event is never matched twice. Percentile p95 interpolates linearly between ranks
(numpy's default). Plain Python; the `evaluate` command is a thin wrapper.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from detection.pipeline.event_log import EventLog, LoggedEvent

TOLERANCE_SECONDS = 2.0
# The data fields scored per event type (the spec's event table), with the names people read.
FIELDS: dict[str, tuple[str, ...]] = {
    "state_transition": ("from_state", "to_state"),
    "raid_start": ("map_name", "character_type", "game_mode"),
    "kill": ("enemy_type", "weapon", "headshot"),
    "raid_end": ("outcome", "extract_location", "killed_by"),
}
FIELD_LABELS = {
    "map_name": "map", "character_type": "character", "game_mode": "mode", "enemy_type": "enemy type",
    "weapon": "weapon", "headshot": "headshot", "outcome": "outcome", "extract_location": "extract",
    "killed_by": "killed by", "from_state": "from state", "to_state": "to state",
}


@dataclass(frozen=True)
class FieldScore:
    correct: int
    total: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None


@dataclass(frozen=True)
class TypeScore:
    type: str
    truth: int
    detected: int
    matched: int
    timing_median: float | None
    timing_p95: float | None
    fields: dict[str, FieldScore] = field(default_factory=dict)

    @property
    def precision(self) -> float | None:
        return self.matched / self.detected if self.detected else None

    @property
    def recall(self) -> float | None:
        return self.matched / self.truth if self.truth else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return None if p is None or r is None or p + r == 0 else 2 * p * r / (p + r)


@dataclass(frozen=True)
class Evaluation:
    tolerance: float
    types: list[TypeScore]
    overall: TypeScore

    def to_json(self) -> dict[str, Any]:
        def score(s: TypeScore) -> dict[str, Any]:
            record = {k: v for k, v in asdict(s).items() if k != "fields"}
            record.update(precision=_r(s.precision), recall=_r(s.recall), f1=_r(s.f1),
                          timing_median=_r(s.timing_median), timing_p95=_r(s.timing_p95))
            record["fields"] = {name: {"correct": f.correct, "total": f.total, "accuracy": _r(f.accuracy)} for name, f in s.fields.items()}
            return record

        return {"tolerance_seconds": self.tolerance, "types": {s.type: score(s) for s in self.types}, "overall": score(self.overall)}

    def table(self) -> str:
        head = f"{'type':<18}{'truth':>6}{'found':>6}{'match':>6}{'prec':>7}{'recall':>7}{'f1':>7}{'t med':>8}{'t p95':>8}"
        lines = [head, "-" * len(head)]
        for s in [*self.types, self.overall]:
            lines.append(f"{s.type:<18}{s.truth:>6}{s.detected:>6}{s.matched:>6}{_pct(s.precision):>7}{_pct(s.recall):>7}"
                         f"{_pct(s.f1):>7}{_sec(s.timing_median):>8}{_sec(s.timing_p95):>8}")
        lines += ["", f"{'field (of matched events)':<32}{'correct':>8}{'of':>6}{'accuracy':>10}"]
        for s in self.types:
            for name, f in s.fields.items():
                label = f"{FIELD_LABELS.get(name, name)} ({s.type})"
                lines.append(f"{label:<32}{f.correct:>8}{f.total:>6}{_pct(f.accuracy):>10}")
        lines.append(f"(matched: same type, within ±{self.tolerance:g} s, one to one; times in seconds)")
        return "\n".join(lines)


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}"


def _sec(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def same_value(truth: Any, found: Any) -> bool:
    if isinstance(truth, str) and isinstance(found, str):
        return truth.strip().casefold() == found.strip().casefold()
    return bool(truth == found)


def _agreement(truth: LoggedEvent, found: LoggedEvent) -> int:
    return sum(same_value(v, found.data.get(k)) for k, v in truth.data.items())


def match_events(truth: list[LoggedEvent], found: list[LoggedEvent], tolerance: float) -> list[tuple[LoggedEvent, LoggedEvent]]:
    """One-to-one pairs of the same type within the tolerance, closest first."""
    candidates = []
    for i, t in enumerate(truth):
        for j, f in enumerate(found):
            gap = abs(t.video_offset_seconds - f.video_offset_seconds)
            if t.type == f.type and gap <= tolerance + 1e-9:
                candidates.append((gap, -_agreement(t, f), i, j))
    candidates.sort()
    used_t: set[int] = set()
    used_f: set[int] = set()
    pairs = []
    for _, _, i, j in candidates:
        if i not in used_t and j not in used_f:
            used_t.add(i)
            used_f.add(j)
            pairs.append((truth[i], found[j]))
    return pairs


def _score(kind: str, truth: list[LoggedEvent], found: list[LoggedEvent], pairs: list[tuple[LoggedEvent, LoggedEvent]]) -> TypeScore:
    gaps = [abs(t.video_offset_seconds - f.video_offset_seconds) for t, f in pairs]
    names = FIELDS.get(kind, ())
    fields = {}
    for name in names:
        scored = [(t, f) for t, f in pairs if name in t.data]
        if scored or any(name in t.data for t in truth):
            fields[name] = FieldScore(sum(same_value(t.data[name], f.data.get(name)) for t, f in scored), len(scored))
    return TypeScore(kind, len(truth), len(found), len(pairs), percentile(gaps, 50), percentile(gaps, 95), fields)


def evaluate(truth: EventLog, found: EventLog, *, tolerance: float = TOLERANCE_SECONDS) -> Evaluation:
    kinds = list(dict.fromkeys([*FIELDS, *(e.type for e in truth.events), *(e.type for e in found.events)]))
    scores, all_pairs = [], []
    for kind in kinds:
        t = [e for e in truth.events if e.type == kind]
        f = [e for e in found.events if e.type == kind]
        if not t and not f:
            continue
        pairs = match_events(t, f, tolerance)
        all_pairs += pairs
        scores.append(_score(kind, t, f, pairs))
    gaps = [abs(t.video_offset_seconds - f.video_offset_seconds) for t, f in all_pairs]
    overall = TypeScore("all", sum(s.truth for s in scores), sum(s.detected for s in scores), len(all_pairs),
                        percentile(gaps, 50), percentile(gaps, 95))
    return Evaluation(tolerance, scores, overall)
