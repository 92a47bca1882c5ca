"""Live events → the stream-producer API as they happen: in order, never twice, never lost.

- Each confirmed event becomes the individual call a batch import would make for it, under the
  batch plan's rules (importer/plan.py): names normalised, times are the session's start plus the
  event's video offset, a kill outside a raid or a raid without its map, character or mode is
  reported and not sent. The calls are appended to one list of steps that only grows.
- One sender thread sends the steps in order through `ImportClient.send_step`, so a lost answer
  is settled by reading the target back, exactly as in a batch import, and nothing is sent twice.
  The cursor and the remote ids live in the import ledger: a forwarder started again for the same
  session carries on after the last step the target has.
- While the target is down the steps wait, in order; the sender retries the step it is on every
  `pause` seconds (reading the target back first) for as long as the session lives.
- A step the target refuses (4xx) is reported and skipped; when it was a raid's start, the rest of
  that raid is skipped with it (it has no raid to go to).
- A raid whose end was not seen (the state machine's inferred end, outcome unknown) stays open on
  the target: the contract has no end without an outcome. Raids after it are reported and not
  sent while it is open; review the session and import it afterwards.
- `close()` adds the session's end and waits up to `timeout` seconds for the list to drain; what is
  left is counted in the stats, never dropped silently.

Pure Python: the transport, the ledger and the clock come in, so tests drive it with a fake target.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from detection.pipeline.event_log import real_time
from importer import contract
from importer.client import GaveUp, ImportClient, PermanentError
from importer.contract import format_time
from importer.ledger_base import Ledger, LedgerEntry
from importer.plan import EVENT_ORDER, SessionPlan, Step, map_name

log = logging.getLogger(__name__)

LIVE_MODE = "live"
_OUTCOME_ALIASES = {"killed_in_action": "killed", "missing_in_action": "mia", "extracted": "survived"}
# The raid_active transition and raid_start come from the same frame; rounding may split them.
_START_SLACK = timedelta(seconds=2)


@dataclass(frozen=True)
class LiveEvent:
    type: str
    data: Mapping[str, Any]
    video_offset_seconds: float


@dataclass
class ForwardStats:
    queued: int = 0
    sent: int = 0
    refused: int = 0
    not_sent: int = 0  # events the plan's rules keep back (see `warnings`)
    waiting: int = 0
    target_down_since: float | None = None
    last_error: str = ""
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "sent": self.sent,
            "refused": self.refused,
            "not_sent": self.not_sent,
            "waiting": self.waiting,
            "target_down": self.target_down_since is not None,
            "last_error": self.last_error,
            "warnings": self.warnings[-20:],
        }


def _lower(raw: object) -> str | None:
    value = str(raw or "").strip().lower()
    return value or None


class LiveSteps:
    """The growing list of calls for one live session, built one event at a time."""

    def __init__(self, *, started_at: datetime, session_type: str, notes: str) -> None:
        self.started_at = started_at.replace(microsecond=0)
        self.steps: list[Step] = [
            Step("session", "session", "POST", "/api/session",
                 {"session_type": session_type, "notes": notes, "started_at": format_time(self.started_at)},
                 at=self.started_at)
        ]
        self.warnings: list[str] = []
        self.kept_back = 0  # events the rules keep from the target (pre-raid menus are not among them)
        self._raids = 0
        self._open: int | None = None  # the raid this session's calls go to
        self._left_open: int | None = None  # a raid whose end went unseen: still open on the target
        self._skipping = False  # the current raid is not sent: its events are not either
        self._raid_counts: dict[str, int] = {}
        self._last_outside: tuple[str, datetime] | None = None
        self.ended = False

    def add(self, event: LiveEvent) -> list[Step]:
        """The calls for `event` (none when the rules keep it back: the reason is in `warnings`)."""
        if self.ended:
            return self._refuse(f"{event.type} after the session ended")
        at = real_time(self.started_at, event.video_offset_seconds) or self.started_at
        where = f"{event.type} at {event.video_offset_seconds:.1f} s"
        handler = {
            "raid_start": self._raid_start,
            "state_transition": self._transition,
            "kill": self._kill,
            "raid_end": self._raid_end,
        }.get(event.type)
        if handler is None:
            return self._refuse(f"{where}: unknown event type")
        return handler(event.data, at, where)

    def end(self, ended_at: datetime) -> list[Step]:
        self.ended = True
        return self._append(Step("session:end", "session_end", "POST", "/api/session/end",
                                 {"timestamp": format_time(max(ended_at, self.started_at))}, at=ended_at))

    def _raid_start(self, data: Mapping[str, Any], at: datetime, where: str) -> list[Step]:
        if self._open is not None and not self._skipping:
            self._left_open = self._open
            self.warnings.append(f"{where}: the raid before it has no raid_end; it stays open on the target")
        index, self._raids = self._raids, self._raids + 1
        self._open, self._skipping = index, True
        fields = {"map_name": map_name(data.get("map_name")), "character_type": _lower(data.get("character_type")),
                  "game_mode": _lower(data.get("game_mode"))}
        missing = [name for name, value in fields.items() if not value]
        if missing:
            return self._refuse(f"{where}: missing {', '.join(missing)}; this raid is not forwarded")
        if self._left_open is not None:
            return self._refuse(f"{where}: an earlier raid is still open on the target (its end was not seen); "
                                "this raid is not forwarded")
        self._skipping = False
        steps = [Step(f"raid:{index}", "raid", "POST", "/api/raid", {**fields, "timestamp": format_time(at)}, index, at)]
        if self._last_outside and self._last_outside[0] == "raid_active" and at - self._last_outside[1] <= _START_SLACK:
            steps.append(self._transition_step(index, "raid_active", at))
        self._last_outside = None
        return self._append(*steps)

    def _transition(self, data: Mapping[str, Any], at: datetime, where: str) -> list[Step]:
        to_state = _lower(data.get("to_state"))
        if to_state not in contract.STATES:
            return self._refuse(f"{where}: unknown to_state {data.get('to_state')!r}")
        if self._open is None:
            self._last_outside = (to_state, at)
            return []
        if self._skipping:
            return self._refuse(None)
        return self._append(self._transition_step(self._open, to_state, at))

    def _kill(self, data: Mapping[str, Any], at: datetime, where: str) -> list[Step]:
        if self._open is None:
            return self._refuse(f"{where} falls outside any raid")
        if self._skipping:
            return self._refuse(None)
        enemy = _lower(data.get("enemy_type"))
        if not enemy:
            return self._refuse(f"{where}: enemy_type missing")
        weapon = str(data.get("weapon") or "").strip() or None
        body = {"enemy_type": enemy, "weapon": weapon, "headshot": bool(data.get("headshot")), "timestamp": format_time(at)}
        return self._append(self._inner(self._open, "kill", "/api/raid/{raid}/kill", body, at))

    def _raid_end(self, data: Mapping[str, Any], at: datetime, where: str) -> list[Step]:
        if self._open is None:
            return self._refuse(f"{where} has no raid_start")
        index, skipping = self._open, self._skipping
        self._open, self._skipping = None, False
        if skipping:
            return self._refuse(None)
        outcome = _lower(data.get("outcome"))
        outcome = _OUTCOME_ALIASES.get(outcome or "", outcome)
        if outcome not in contract.OUTCOMES:
            self._left_open = index
            return self._refuse(f"{where}: outcome {data.get('outcome')!r} unknown (its end screen was not seen); "
                                "the raid stays open on the target until the session is reviewed and imported")
        body = {"outcome": outcome, "extract_location": _lower(data.get("extract_location")) if outcome == "survived" else None,
                "timestamp": format_time(at)}
        return self._append(Step(f"raid:{index}:end", "raid_end", "POST", "/api/raid/{raid}/end", body, index, at))

    def _transition_step(self, raid: int, to_state: str, at: datetime) -> Step:
        return self._inner(raid, "transition", "/api/raid/{raid}/transition",
                           {"to_state": to_state, "timestamp": format_time(at)}, at)

    def _inner(self, raid: int, kind: str, path: str, body: dict[str, Any], at: datetime) -> Step:
        key = f"raid:{raid}:{kind}"
        number = self._raid_counts.get(key, 0)
        self._raid_counts[key] = number + 1
        return Step(f"{key}:{number}", kind, "POST", path, body, raid, at)

    def _append(self, *steps: Step) -> list[Step]:
        self.steps.extend(steps)
        return list(steps)

    def _refuse(self, warning: str | None) -> list[Step]:
        self.kept_back += 1
        if warning:
            self.warnings.append(warning)
        return []


class LiveSender:
    """Sends a LiveSteps list in order from its own thread; see the module docstring for the rules."""

    def __init__(
        self,
        client: ImportClient,
        ledger: Ledger,
        steps: LiveSteps,
        *,
        source: str,
        recording_id: int | None = None,
        pause: float = 2.0,
        on_thread_exit: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.live = steps
        self.pause = pause
        self.clock = clock
        self.on_thread_exit = on_thread_exit
        self.stats = ForwardStats()
        self._plan = SessionPlan(source=source, session_type=str(steps.steps[0].body["session_type"]),
                                 started_at=steps.started_at, ended_at=steps.started_at, notes="", raids=(),
                                 event_count=0, recording_id=recording_id)
        self._wake = threading.Condition()
        self._stopping = False
        self._refused_raids: set[int] = set()
        self._refusals: list[str] = []
        self._cursor = 0
        self._thread = threading.Thread(target=self._run, name="live-forward", daemon=True)

    def start(self) -> LiveSender:
        self._thread.start()
        return self

    def submit(self, events: list[LiveEvent]) -> None:
        """Never blocks on the target: the calls are queued and the sender woken.

        Events of one frame come in one call (a raid's end and its last transition share a time): they
        are taken in the batch plan's order, the raid's own events before its end.
        """
        with self._wake:
            for event in sorted(events, key=lambda e: (e.video_offset_seconds, EVENT_ORDER.get(e.type, 9))):
                self.live.add(event)
            self._sync_counts()
            self._wake.notify()

    def close(self, *, ended_at: datetime, timeout: float = 30.0) -> ForwardStats:
        with self._wake:
            self.live.end(ended_at)
            self._sync_counts()
            self._wake.notify()
        deadline = self.clock() + timeout
        with self._wake:
            while self._thread.is_alive() and self._pending() and self.clock() < deadline:
                self._wake.wait(timeout=min(0.2, max(0.0, deadline - self.clock())))
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout=max(0.0, deadline - self.clock()) + 5.0)
        with self._wake:
            self._sync_counts()
            return self.stats

    # --- the sender thread ---------------------------------------------------------------
    def _run(self) -> None:
        try:
            entry, maybe_written = self._entry()
            while True:
                with self._wake:
                    self._cursor = entry.next_step
                    self._sync_counts()
                    self._wake.notify_all()
                    while not self._stopping and entry.next_step >= len(self.live.steps):
                        self._wake.wait()
                    if self._stopping:
                        break
                    steps = list(self.live.steps)
                maybe_written = self._send(steps, entry, maybe_written=maybe_written)
            if entry.next_step >= len(self.live.steps) and self.live.ended:
                self.ledger.finish(entry, status="done")
        except Exception as exc:  # the session goes on without forwarding; the dashboard says why
            log.exception("live forwarding stopped")
            with self._wake:
                self.stats.last_error = f"forwarding stopped: {exc}"
        finally:
            with self._wake:
                self._wake.notify_all()
            self.on_thread_exit()

    def _entry(self) -> tuple[LedgerEntry, bool]:
        """The ledger entry, and whether its next step may already be on the target (a forwarder before
        this one got that far, then stopped before recording it)."""
        key = self.client.transport.target_key
        entry = self.ledger.get(key, self.live.started_at)
        if entry is not None and entry.mode != LIVE_MODE:
            raise PermanentError("a session with this start is already being imported in batch; nothing is forwarded")
        resumed = entry is not None
        if entry is None:
            entry = self.ledger.start(key, self._plan, mode=LIVE_MODE, fingerprint=LIVE_MODE)
        if not entry.baseline:
            while True:
                try:
                    self.client.record_baseline(entry)
                    break
                except GaveUp as exc:
                    if not self._down(str(exc)):
                        raise
            self.ledger.save(entry)
        return entry, resumed

    def _send(self, steps: list[Step], entry: LedgerEntry, *, maybe_written: bool) -> bool:
        """Sends the step at the cursor; the answer: may the next attempt's step have been written already?"""
        index = entry.next_step
        step = steps[index]
        if step.raid_index is not None and step.raid_index in self._refused_raids:
            entry.next_step = index + 1
            self._count(refused=True)
            self.ledger.save(entry)
            return False
        try:
            self.client.send_step(self._plan, steps, index, entry, maybe_written=maybe_written)
        except GaveUp as exc:
            self._down(str(exc))
            return True  # it may have been written: read the target back before sending it again
        except PermanentError as exc:
            if step.kind == "raid":
                self._refused_raids.add(int(step.raid_index or 0))
            entry.next_step = index + 1
            with self._wake:
                self.stats.last_error = str(exc)
                self._refusals.append(f"{step.key} refused by the target: {exc}")
            self._count(refused=True)
        else:
            self._count(refused=False)
        self.ledger.save(entry)
        return False

    def _down(self, error: str) -> bool:
        """Note the target is unreachable and wait `pause` (or until woken); False once closing."""
        with self._wake:
            if self.stats.target_down_since is None:
                self.stats.target_down_since = self.clock()
            self.stats.last_error = error
            if not self._stopping:
                self._wake.wait(timeout=self.pause)
            return not self._stopping

    def _count(self, *, refused: bool) -> None:
        with self._wake:
            if refused:
                self.stats.refused += 1
            else:
                self.stats.sent += 1
                self.stats.target_down_since = None
            self._sync_counts()
            self._wake.notify_all()

    def _pending(self) -> bool:
        return self._cursor < len(self.live.steps)

    def _sync_counts(self) -> None:
        self.stats.queued = len(self.live.steps)
        self.stats.not_sent = self.live.kept_back
        self.stats.waiting = len(self.live.steps) - self._cursor
        self.stats.warnings = self.live.warnings + self._refusals
