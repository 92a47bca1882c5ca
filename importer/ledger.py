"""The import ledger in the database: a resumed import (CLI or job, any machine) picks up here."""
from __future__ import annotations

from datetime import datetime

from importer.ledger_base import LedgerEntry
from importer.models import ImportLedger
from importer.plan import SessionPlan


def _entry(row: ImportLedger) -> LedgerEntry:
    return LedgerEntry(
        target_key=row.target_key,
        started_at=row.session_started_at,
        mode=row.mode,
        fingerprint=row.fingerprint,
        status=row.status,
        next_step=row.next_step,
        remote_ids=dict(row.remote_ids),
        baseline=dict(row.baseline),
        error=row.error,
    )


class DbLedger:
    def get(self, target_key: str, started_at: datetime) -> LedgerEntry | None:
        row = ImportLedger.objects.filter(target_key=target_key, session_started_at=started_at).first()
        return _entry(row) if row is not None else None

    def start(self, target_key: str, plan: SessionPlan, *, mode: str, fingerprint: str) -> LedgerEntry:
        row, _ = ImportLedger.objects.update_or_create(
            target_key=target_key,
            session_started_at=plan.started_at,
            defaults={
                "mode": mode,
                "fingerprint": fingerprint,
                "source": plan.source[:1024],
                "recording_id": plan.recording_id,
                "status": ImportLedger.Status.IN_PROGRESS,
                "next_step": 0,
                "remote_ids": {},
                "baseline": {},
                "error": "",
            },
        )
        return _entry(row)

    def save(self, entry: LedgerEntry) -> None:
        ImportLedger.objects.filter(target_key=entry.target_key, session_started_at=entry.started_at).update(
            next_step=entry.next_step, remote_ids=entry.remote_ids, baseline=entry.baseline, status=entry.status
        )

    def finish(self, entry: LedgerEntry, *, status: str, error: str = "") -> None:
        entry.status, entry.error = status, error
        ImportLedger.objects.filter(target_key=entry.target_key, session_started_at=entry.started_at).update(
            status=status, error=error, next_step=entry.next_step, remote_ids=entry.remote_ids
        )
