"""What an import did: per session, in total, and whether the target's stats agree."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from importer.contract import OUTCOMES


@dataclass
class Counts:
    sessions: int = 0
    raids: int = 0
    kills: int = 0
    transitions: int = 0
    survived: int = 0
    killed: int = 0
    mia: int = 0

    def add(self, other: Counts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class SessionOutcome:
    source: str
    started_at: str
    status: str  # created, resumed, skipped, failed, dry-run
    mode: str = ""
    created: Counts = field(default_factory=Counts)
    error: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportSummary:
    sessions: list[SessionOutcome] = field(default_factory=list)
    created: Counts = field(default_factory=Counts)
    verification: dict[str, Any] = field(default_factory=dict)

    @property
    def skipped(self) -> int:
        return sum(1 for s in self.sessions if s.status == "skipped")

    @property
    def failed(self) -> int:
        return sum(1 for s in self.sessions if s.status == "failed")

    def to_json(self) -> dict[str, Any]:
        return {
            "created": asdict(self.created),
            "skipped_duplicates": self.skipped,
            "failed": self.failed,
            "sessions": [asdict(s) for s in self.sessions],
            "verification": self.verification,
        }

    def lines(self) -> list[str]:
        c = self.created
        lines = [
            f"{s.status:>8}  {s.started_at}  {s.source}"
            + (f"  ({s.mode})" if s.mode else "")
            + (f"  error: {s.error}" if s.error else "")
            for s in self.sessions
        ]
        lines += [f"          warning: {w}" for s in self.sessions for w in s.warnings]
        lines.append(
            f"created: {c.sessions} sessions, {c.raids} raids, {c.kills} kills, {c.transitions} transitions; "
            f"skipped as duplicates: {self.skipped}; failed: {self.failed}"
        )
        if self.verification:
            lines.append(f"stats check: {self.verification.get('message', '')}")
        return lines


def stat_total(stats: Any, key: str) -> int:
    return int(stats.get(key) or 0) if isinstance(stats, dict) else 0


def _outcomes(stats: Any) -> dict[str, int] | None:
    """`outcomes` when the target gives it (Vodscope does), else summed from `by_map` entries if they carry them."""
    if not isinstance(stats, dict):
        return None
    if isinstance(stats.get("outcomes"), dict):
        return {o: int(stats["outcomes"].get(o, 0)) for o in OUTCOMES}
    maps = stats.get("by_map")
    if isinstance(maps, dict) and maps and all(isinstance(m, dict) and "survived" in m for m in maps.values()):
        return {o: sum(int(m.get(o, 0)) for m in maps.values()) for o in OUTCOMES}
    return None


def verify(before: Any, after: Any, created: Counts) -> dict[str, Any]:
    """The target's stats must have moved by exactly what this run wrote from the reviewed logs."""
    expected = {"sessions": created.sessions, "raids": created.raids, "kills": created.kills}
    actual = {key: stat_total(after, key) - stat_total(before, key) for key in expected}
    old, new = _outcomes(before), _outcomes(after)
    if old is not None and new is not None:
        expected.update({o: getattr(created, o) for o in OUTCOMES})
        actual.update({o: new[o] - old[o] for o in OUTCOMES})
    mismatches = {k: {"expected": v, "actual": actual[k]} for k, v in expected.items() if actual[k] != v}
    if mismatches:
        message = "MISMATCH " + ", ".join(
            f"{k}: expected +{m['expected']}, target moved +{m['actual']}" for k, m in mismatches.items()
        )
    else:
        message = "ok (" + ", ".join(f"{k} +{v}" for k, v in expected.items()) + ")"
    return {"ok": not mismatches, "expected": expected, "actual": actual, "message": message}
