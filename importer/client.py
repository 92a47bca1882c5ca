"""The import client: plans → a stream-producer API, never twice and never lost.

- Duplicate check first (`GET /api/sessions?started_at=T`); a session already there is skipped.
- The atomic `POST /api/import/session` when the target has it (all or nothing, so a lost answer
  is settled by looking the session up); the individual calls when it answers 404.
- Individual calls run in plan order behind a ledger cursor. A call whose answer was lost (5xx,
  timeout, dropped connection) may have been written, so before it is sent again the client reads
  the target: the session by `started_at`, the raid by `/api/raid/current`, kills and transitions
  by the raid's counts (`GET /api/raid/{id}`, Vodscope's own extension) or else by the `/api/stats`
  kill total against the total read before the first write.
- Transient failures retry with exponential backoff and full jitter; a 4xx stops that session with
  the target's error, and the next session goes on.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from importer.contract import format_time, parse_time
from importer.ledger_base import Ledger, LedgerEntry
from importer.plan import SessionPlan, Step, atomic_body, plan_fingerprint, plan_steps
from importer.summary import Counts, ImportSummary, SessionOutcome, stat_total, verify
from importer.transport import ApiResponse, TransientError, Transport


class PermanentError(Exception):
    """The target refused a call (4xx); the message is the target's own error."""


class GaveUp(Exception):
    """Transient failures outlasted the retry policy."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    base_delay: float = 0.25
    max_delay: float = 10.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: clients that failed together do not retry together."""
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


class ImportClient:
    def __init__(
        self,
        transport: Transport,
        ledger: Ledger,
        *,
        mode: str = "auto",
        dry_run: bool = False,
        policy: RetryPolicy | None = None,
        echo: Callable[[str], None] = print,
        on_step: Callable[[str], None] | None = None,
        on_session: Callable[[int, int, SessionOutcome], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        if mode not in ("auto", "atomic", "individual"):
            raise ValueError(f"mode {mode!r}: use auto, atomic or individual")
        self.transport = transport
        self.ledger = ledger
        self.mode = mode
        self.dry_run = dry_run
        self.policy = policy or RetryPolicy()
        self.echo = echo
        self.on_step = on_step or (lambda key: None)
        self.on_session = on_session or (lambda done, total, outcome: None)
        self.sleep = sleep
        self.rng = random.Random(seed)
        self.atomic_supported: bool | None = {"auto": None, "atomic": True, "individual": False}[mode]

    # --- a whole run ------------------------------------------------------------------
    def run(self, plans: list[SessionPlan]) -> ImportSummary:
        summary = ImportSummary()
        ordered = sorted(plans, key=lambda p: p.started_at)
        before = None if self.dry_run else self._read("/api/stats").data
        for done, plan in enumerate(ordered, start=1):
            outcome = self.import_session(plan)
            summary.sessions.append(outcome)
            summary.created.add(outcome.created)
            self.on_session(done, len(ordered), outcome)
        if not self.dry_run:
            summary.verification = verify(before, self._read("/api/stats").data, summary.created)
        return summary

    def import_session(self, plan: SessionPlan) -> SessionOutcome:
        started = format_time(plan.started_at)
        outcome = SessionOutcome(source=plan.source, started_at=started, status="created", warnings=list(plan.warnings))
        if self.dry_run:
            outcome.status, outcome.mode = "dry-run", ("individual" if self.mode == "individual" else "atomic")
            self._print_dry_run(plan)
            return outcome
        try:
            self._import(plan, outcome)
        except (PermanentError, GaveUp) as exc:
            outcome.status, outcome.error = "failed", str(exc)
            entry = self.ledger.get(self.transport.target_key, plan.started_at)
            if entry is not None:
                self.ledger.finish(entry, status="failed", error=str(exc))
        return outcome

    def _import(self, plan: SessionPlan, outcome: SessionOutcome) -> None:
        key, fingerprint = self.transport.target_key, plan_fingerprint(plan)
        entry = self.ledger.get(key, plan.started_at)
        if self._sessions_at(plan.started_at):
            if entry is None or entry.status == "done" or (entry.mode == "atomic" and entry.status == "failed"):
                outcome.status = "skipped"
            elif entry.mode == "live":
                raise PermanentError(
                    "this session was forwarded live and its forwarding stopped part way; "
                    "remove that session on the target and import again"
                )
            elif entry.mode == "atomic":
                # The atomic call went out in an earlier run and the session is there: all of it is,
                # by the contract, and it was written before this run's baseline (nothing created now).
                self.ledger.finish(entry, status="done")
                outcome.status, outcome.mode = "resumed", "atomic"
            elif entry.fingerprint != fingerprint:
                raise PermanentError(
                    "the reviewed log changed since a half-finished import of this session; "
                    "remove that session on the target and import again"
                )
            else:
                outcome.status = "resumed"
                self._individual(plan, entry, outcome, resumed=True)
            return
        if self.atomic_supported is not False:
            entry = self.ledger.start(key, plan, mode="atomic", fingerprint=fingerprint)
            if self._atomic(plan, entry, outcome):
                return
        entry = self.ledger.start(key, plan, mode="individual", fingerprint=fingerprint)
        self.record_baseline(entry)
        self.ledger.save(entry)
        self._individual(plan, entry, outcome, resumed=False)

    # --- the atomic call --------------------------------------------------------------
    def _atomic(self, plan: SessionPlan, entry: LedgerEntry, outcome: SessionOutcome) -> bool:
        """True when the session is on the target; False when the target lacks the atomic call."""
        body = atomic_body(plan)
        response = self._write("POST", "/api/import/session", body, reconcile=lambda: self._find_session(plan))
        if response.status in (200, 201):
            self.ledger.finish(entry, status="done")
            outcome.mode, outcome.created = "atomic", _plan_counts(plan)
            return True
        if response.status == 404:
            self.atomic_supported = False
            return False
        if response.status == 409:
            self.ledger.finish(entry, status="done")
            outcome.status = "skipped"
            return True
        raise PermanentError(f"POST /api/import/session: {response.status} {response.error}")

    # --- individual calls ---------------------------------------------------------------
    def _individual(self, plan: SessionPlan, entry: LedgerEntry, outcome: SessionOutcome, *, resumed: bool) -> None:
        outcome.mode = "individual"
        steps = plan_steps(plan)
        # Only the step a crashed run was on can be in doubt; written then, it is in the baseline.
        maybe_written = resumed
        for index in range(entry.next_step, len(steps)):
            if self.send_step(plan, steps, index, entry, maybe_written=maybe_written):
                _count(outcome.created, steps[index])
            maybe_written = False
            self.ledger.save(entry)
            self.on_step(steps[index].key)
        self.ledger.finish(entry, status="done")

    def send_step(self, plan: SessionPlan, steps: list[Step], index: int, entry: LedgerEntry, *, maybe_written: bool) -> bool:
        """Put step `index` on the target once; True when this call wrote it, False when it was already there.

        `maybe_written`: an earlier attempt may have sent it, so the target is read back before anything
        is sent. Records a session's or raid's remote id and the cursor in `entry` (the caller saves it).
        Raises PermanentError on a refusal, GaveUp when the target stayed unreachable.
        """
        step = steps[index]
        ids = dict(entry.remote_ids)
        path = step.path.replace("{raid}", str(ids.get(f"raid:{step.raid_index}", "")))
        found = self._reconcile(plan, steps, index, ids, entry) if maybe_written else None
        created = False
        if found is not None:
            remote_id: int | None = found
        else:
            response = self._write(
                step.method,
                path,
                step.body,
                reconcile=lambda: self._reconcile(plan, steps, index, ids, entry),
                assume_sent=maybe_written,
            )
            if response.status >= 400:
                raise PermanentError(f"{step.method} {path}: {response.status} {response.error}")
            remote_id = _id(response.data)
            created = not (isinstance(response.data, dict) and response.data.get("earlier"))
        if step.kind in ("session", "raid") and remote_id is not None:
            entry.remote_ids = {**ids, step.key: remote_id}
        entry.next_step = index + 1
        return created

    def record_baseline(self, entry: LedgerEntry) -> None:
        """The target's kill total before the first write: how a lost kill is found without a read-back."""
        entry.baseline = {"kills": stat_total(self._read("/api/stats").data, "kills")}

    def _reconcile(
        self, plan: SessionPlan, steps: list[Step], index: int, ids: dict[str, int], entry: LedgerEntry
    ) -> int | None:
        """The remote id (or 0) when step `index` is already on the target, None when it is not."""
        step = steps[index]
        raid_id = ids.get(f"raid:{step.raid_index}")
        if step.kind == "session":
            return self._find_session(plan)
        if step.kind == "session_end":
            found = self._sessions_at(plan.started_at)
            return int(found[0]["id"]) if found and found[0].get("ended_at") else None
        if step.kind == "raid":
            current = self._read("/api/raid/current")
            if current.status == 200 and _same_time(current.data.get("started_at"), step.at):
                return int(current.data["id"])
            return None
        detail = self._read(f"/api/raid/{raid_id}")
        if detail.status == 200 and isinstance(detail.data, dict) and "kill_count" in detail.data:
            if step.kind == "raid_end":
                return 0 if detail.data.get("ended_at") else None
            field_name, kind = ("kill_count", "kill") if step.kind == "kill" else ("transition_count", "transition")
            done = sum(1 for s in steps[:index] if s.kind == kind and s.raid_index == step.raid_index)
            return 0 if int(detail.data[field_name]) > done else None
        if step.kind == "kill":
            done = sum(1 for s in steps[:index] if s.kind == "kill")
            total = stat_total(self._read("/api/stats").data, "kills")
            return 0 if total > int(entry.baseline.get("kills", 0)) + done else None
        # Without a read-back, a raid end is resent (a 409 "already ended" then settles it) and a
        # transition is resent: the contract gives no way to see it, and it feeds no stat.
        return None

    # --- calls with retries -------------------------------------------------------------
    def _write(
        self,
        method: str,
        path: str,
        body: dict[str, Any],
        *,
        reconcile: Callable[[], int | None],
        assume_sent: bool = False,
    ) -> ApiResponse:
        """Send until answered; an earlier attempt found written by reading back answers `_reconciled`.

        `assume_sent`: a crashed run may have sent this call (the caller has just reconciled it).
        """
        maybe_written = assume_sent
        lost_here = False  # did one of this call's own attempts go unanswered?
        for attempt in range(self.policy.attempts):
            if maybe_written and attempt > 0:
                found = reconcile()
                if found is not None:
                    return _reconciled(found, earlier=not lost_here)
            try:
                response = self.transport.request(method, path, body=body)
            except TransientError:
                maybe_written = lost_here = True
            else:
                if response.status < 400:
                    return response
                if response.status < 500:
                    found = reconcile() if maybe_written else None
                    if found is None and maybe_written and response.status == 409 and path.endswith("/end"):
                        found = 0  # with no read-back, "already ended" says a lost attempt did it
                    return response if found is None else _reconciled(found, earlier=not lost_here)
                maybe_written = lost_here = True
            self.sleep(self.policy.delay(attempt, self.rng))
        found = reconcile() if maybe_written else None
        if found is not None:
            return _reconciled(found, earlier=not lost_here)
        raise GaveUp(f"{method} {path}: no answer after {self.policy.attempts} attempts")

    def _read(self, path: str, params: dict[str, str] | None = None) -> ApiResponse:
        for attempt in range(self.policy.attempts):
            try:
                response = self.transport.request("GET", path, params=params)
            except TransientError:
                pass
            else:
                if response.status < 500:
                    return response
            self.sleep(self.policy.delay(attempt, self.rng))
        raise GaveUp(f"GET {path}: no answer after {self.policy.attempts} attempts")

    def _sessions_at(self, started_at: Any) -> list[dict[str, Any]]:
        response = self._read("/api/sessions", {"started_at": format_time(started_at)})
        if response.status != 200 or not isinstance(response.data, list):
            raise PermanentError(f"GET /api/sessions: {response.status} {response.error}")
        return response.data

    def _find_session(self, plan: SessionPlan) -> int | None:
        found = self._sessions_at(plan.started_at)
        return int(found[0]["id"]) if found else None

    def _print_dry_run(self, plan: SessionPlan) -> None:
        import json

        if self.mode == "individual":
            for step in plan_steps(plan):
                self.echo(f"{step.method} {step.path} {json.dumps(step.body)}")
        else:
            self.echo(f"POST /api/import/session {json.dumps(atomic_body(plan))}")


def _reconciled(remote_id: int, *, earlier: bool) -> ApiResponse:
    """Stands in for the answer a lost attempt never gave (200, as no 201 was seen).

    `earlier`: the write was a crashed run's, so it is in this run's baseline, not its count.
    """
    return ApiResponse(200, {"id": remote_id, "reconciled": True, "earlier": earlier})


def _id(data: Any) -> int | None:
    if isinstance(data, dict):
        value = data.get("id", data.get("session_id"))
        return int(value) if value is not None else None
    return None


def _same_time(raw: Any, moment: Any) -> bool:
    return isinstance(raw, str) and moment is not None and parse_time(raw, name="started_at") == moment


def _count(counts: Counts, step: Step) -> None:
    if step.kind == "session":
        counts.sessions += 1
    elif step.kind == "raid":
        counts.raids += 1
    elif step.kind == "kill":
        counts.kills += 1
    elif step.kind == "transition":
        counts.transitions += 1
    elif step.kind == "raid_end":
        outcome = step.body["outcome"]
        setattr(counts, outcome, getattr(counts, outcome) + 1)


def _plan_counts(plan: SessionPlan) -> Counts:
    return Counts(1, len(plan.raids), plan.kill_count, plan.transition_count, **plan.outcomes())
