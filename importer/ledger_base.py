"""The import ledger's interface, and an in-memory one for dry runs and pure tests."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from importer.plan import SessionPlan


@dataclass
class LedgerEntry:
    target_key: str
    started_at: datetime
    mode: str
    fingerprint: str
    status: str = "in_progress"
    next_step: int = 0
    remote_ids: dict[str, int] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    error: str = ""


class Ledger(Protocol):
    def get(self, target_key: str, started_at: datetime) -> LedgerEntry | None: ...

    def start(self, target_key: str, plan: SessionPlan, *, mode: str, fingerprint: str) -> LedgerEntry:
        """A fresh entry (replacing any earlier one for this target and session)."""
        ...

    def save(self, entry: LedgerEntry) -> None: ...

    def finish(self, entry: LedgerEntry, *, status: str, error: str = "") -> None: ...


class MemoryLedger:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, datetime], LedgerEntry] = {}

    def get(self, target_key: str, started_at: datetime) -> LedgerEntry | None:
        entry = self.entries.get((target_key, started_at))
        return copy.deepcopy(entry) if entry is not None else None

    def start(self, target_key: str, plan: SessionPlan, *, mode: str, fingerprint: str) -> LedgerEntry:
        entry = LedgerEntry(target_key=target_key, started_at=plan.started_at, mode=mode, fingerprint=fingerprint)
        self.save(entry)
        return entry

    def save(self, entry: LedgerEntry) -> None:
        self.entries[(entry.target_key, entry.started_at)] = copy.deepcopy(entry)

    def finish(self, entry: LedgerEntry, *, status: str, error: str = "") -> None:
        entry.status, entry.error = status, error
        self.save(entry)
