"""Forwarding a live session's events to the stream-producer as they are saved (issue 15).

The live process makes one `LiveForwarder.for_recording(recording)` when a session starts, hands it
each batch of saved events with `submit` (never blocks: the target may be down) and calls `close`
when the session stops. The rules and the protocol are importer/live.py's; this module only binds
them to the recording's owner's import target (their stream-producer, or Vodscope's hosted API),
the database ledger and Django's per-thread connection.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection
from django.utils import timezone

from detection.models import DetectedEvent, Recording
from importer.client import ImportClient, RetryPolicy
from importer.ledger import DbLedger
from importer.live import ForwardStats, LiveEvent, LiveSender, LiveSteps
from importer.runner import transport_for

# A live call waits little before the sender's own pause takes over: the steps behind it are waiting.
LIVE_RETRY = RetryPolicy(attempts=3, base_delay=0.25, max_delay=1.0)


def _live_event(event: DetectedEvent) -> LiveEvent:
    return LiveEvent(type=event.event_type, data=dict(event.data or {}), video_offset_seconds=event.video_offset_seconds)


class LiveForwarder:
    def __init__(self, sender: LiveSender) -> None:
        self.sender = sender

    @classmethod
    def for_recording(cls, recording: Recording, *, session_type: str | None = None, pause: float = 2.0) -> LiveForwarder:
        """Starts forwarding; the recording's events saved so far are queued first (a restarted live
        process carries on where the ledger says the target is)."""
        ledger = DbLedger()
        client = ImportClient(transport_for(recording.owner), ledger, mode="individual", policy=LIVE_RETRY)
        steps = LiveSteps(started_at=recording.started_at or timezone.now(),
                          session_type=session_type or recording.session_type, notes=f"live: {recording.title}")
        sender = LiveSender(client, ledger, steps, source=recording.title, recording_id=recording.pk, pause=pause,
                            on_thread_exit=lambda: connection.close())  # the sender thread's own
        forwarder = cls(sender)
        forwarder.submit(recording.events.order_by("video_offset_seconds", "pk"))
        sender.start()
        return forwarder

    def submit(self, events: Iterable[DetectedEvent]) -> None:
        self.sender.submit([_live_event(e) for e in events])

    def stats(self) -> ForwardStats:
        return self.sender.stats

    def close(self, *, ended_at: datetime | None = None, timeout: float = 30.0) -> ForwardStats:
        return self.sender.close(ended_at=ended_at or timezone.now(), timeout=timeout)
