"""Live forwarding: events sent as they happen end up on the target exactly as a batch import of them would."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from rest_framework.authtoken.models import Token

from detection.pipeline.event_log import EventLog
from importer.client import ImportClient
from importer.ledger import DbLedger
from importer.ledger_base import MemoryLedger
from importer.live import LiveEvent, LiveSender, LiveSteps
from importer.models import Raid, StreamSession
from importer.plan import build_session_plan
from importer.sample_log import synthetic_log
from importer.selectors import hosted_snapshot
from importer.transport import ApiResponse, HttpTransport, TransientError
from tests.importer.conftest import FAST, T0

pytestmark = pytest.mark.django_db(transaction=True)


def _log() -> EventLog:
    return synthetic_log(started_at=T0, events=60, seed=3, source="live.mkv")


def _events(log: EventLog) -> list[LiveEvent]:
    ordered = sorted(log.events, key=lambda e: e.video_offset_seconds)
    return [LiveEvent(e.type, e.data, e.video_offset_seconds) for e in ordered]


def _frames(log: EventLog) -> list[list[LiveEvent]]:
    """The events as a live run hands them over: those of one frame together, in no particular order."""
    batches: dict[float, list[LiveEvent]] = {}
    for event in reversed(_events(log)):
        batches.setdefault(event.video_offset_seconds, []).append(event)
    return [batches[offset] for offset in sorted(batches)]


def _sender(transport: Any, ledger: Any, log: EventLog, *, pause: float = 0.01) -> LiveSender:
    plan = build_session_plan(log, source="live.json")
    steps = LiveSteps(started_at=plan.started_at, session_type=plan.session_type, notes=plan.notes)
    client = ImportClient(transport, ledger, mode="individual", policy=FAST, echo=lambda _: None, seed=5)
    return LiveSender(client, ledger, steps, source="live.json", pause=pause)


@pytest.fixture
def reference(live_server, django_user_model) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """A batch import of the same log, in another account of the same server."""
    user = django_user_model.objects.create_user("reference", password="x")
    client = ImportClient(HttpTransport(live_server.url, Token.objects.create(user=user).key), DbLedger(),
                          policy=FAST, echo=lambda _: None)
    assert client.run([build_session_plan(_log(), source="live.json")]).verification["ok"]
    return hosted_snapshot(owner=user)


def test_events_sent_one_by_one_through_a_flaky_target_equal_a_batch_import(  # type: ignore[no-untyped-def]
    live_server, token, owner, reference, fault_proxy
) -> None:
    proxy = fault_proxy(failure_rate=0.3, seed=4)
    log = _log()
    sender = _sender(HttpTransport(proxy.url, token), DbLedger(), log).start()
    for batch in _frames(log):
        sender.submit(batch)
    stats = sender.close(ended_at=build_session_plan(log, source="live.json").ended_at, timeout=60)
    assert proxy.config.stats.refused > 0 and proxy.config.stats.dropped > 0
    assert stats.waiting == 0 and stats.refused == 0 and stats.sent == stats.queued, stats
    assert hosted_snapshot(owner=owner) == reference


def test_a_target_down_for_a_while_gets_every_event_in_order_afterwards(  # type: ignore[no-untyped-def]
    live_server, token, owner, reference
) -> None:
    class Switch:
        def __init__(self, inner: HttpTransport) -> None:
            self.inner, self.target_key, self.down = inner, inner.target_key, threading.Event()

        def request(self, method: str, path: str, **kwargs: Any) -> ApiResponse:
            if self.down.is_set():
                raise TransientError("connection refused")
            return self.inner.request(method, path, **kwargs)

    log = _log()
    transport = Switch(HttpTransport(live_server.url, token))
    sender = _sender(transport, DbLedger(), log).start()
    frames = _frames(log)
    for batch in frames[:5]:
        sender.submit(batch)
    _wait(lambda: sender.stats.waiting == 0)
    transport.down.set()
    for batch in frames[5:]:
        sender.submit(batch)
    _wait(lambda: sender.stats.target_down_since is not None)
    assert sender.stats.waiting > 0 and "no answer" in sender.stats.last_error
    assert Raid.objects.filter(session__owner=owner).count() <= 1
    transport.down.clear()
    stats = sender.close(ended_at=build_session_plan(log, source="live.json").ended_at, timeout=60)
    assert stats.waiting == 0 and stats.target_down_since is None
    assert hosted_snapshot(owner=owner) == reference


def test_a_forwarder_started_again_carries_on_where_the_target_is(live_server, token, owner, reference) -> None:  # type: ignore[no-untyped-def]
    class DiesAfter:
        """A live process killed after `n` calls reached the target (the last one's answer lost)."""

        def __init__(self, inner: HttpTransport, n: int) -> None:
            self.inner, self.target_key, self.left = inner, inner.target_key, n

        def request(self, method: str, path: str, **kwargs: Any) -> ApiResponse:
            if method == "POST":
                self.left -= 1
                if self.left < 0:
                    self.inner.request(method, path, **kwargs)
                    raise RuntimeError("killed")
            return self.inner.request(method, path, **kwargs)

    log = _log()
    first = _sender(DiesAfter(HttpTransport(live_server.url, token), 12), DbLedger(), log).start()
    for batch in _frames(log):
        first.submit(batch)
    _wait(lambda: "forwarding stopped" in first.stats.last_error)
    second = _sender(HttpTransport(live_server.url, token), DbLedger(), log).start()
    for batch in _frames(log):
        second.submit(batch)
    stats = second.close(ended_at=build_session_plan(log, source="live.json").ended_at, timeout=60)
    assert stats.waiting == 0 and stats.refused == 0, stats
    assert hosted_snapshot(owner=owner) == reference
    # Forwarded live and finished: a batch import of the same session finds it and writes nothing.
    client = ImportClient(HttpTransport(live_server.url, token), DbLedger(), policy=FAST, echo=lambda _: None)
    assert client.run([build_session_plan(log, source="live.json")]).skipped == 1


def test_a_raid_whose_end_went_unseen_stays_open_and_the_next_one_is_reported(  # type: ignore[no-untyped-def]
    live_server, token, owner
) -> None:
    start = {"map_name": "Dam Battlegrounds", "character_type": "PMC", "game_mode": "PVP"}
    events = [
        LiveEvent("raid_start", start, 10.0),
        LiveEvent("kill", {"enemy_type": "scav", "weapon": "AK", "headshot": True}, 20.0),
        LiveEvent("raid_end", {"outcome": None}, 30.0),  # inferred by the state machine: outcome unknown
        LiveEvent("raid_start", start, 60.0),
        LiveEvent("kill", {"enemy_type": "pmc"}, 70.0),
        LiveEvent("kill", {"enemy_type": "boss"}, 200.0),  # after its raid: outside any raid
    ]
    steps = LiveSteps(started_at=T0, session_type="stream", notes="live")
    client = ImportClient(HttpTransport(live_server.url, token), MemoryLedger(), mode="individual", policy=FAST)
    sender = LiveSender(client, MemoryLedger(), steps, source="live").start()
    sender.submit(events[:5])
    sender.submit([LiveEvent("raid_end", {"outcome": "survived", "extract_location": "Gate"}, 90.0), events[5]])
    stats = sender.close(ended_at=T0 + timedelta(minutes=5), timeout=30)
    assert stats.waiting == 0 and stats.not_sent == 5, stats  # unknown end, the second raid's three, the stray kill
    assert any("stays open on the target" in w for w in stats.warnings)
    assert any("an earlier raid is still open" in w for w in stats.warnings)
    assert any("falls outside any raid" in w for w in stats.warnings)
    raid = Raid.objects.get(session__owner=owner)
    assert raid.ended_at is None and raid.kills.count() == 1
    # The target ends no session while a raid is open: the session's end is refused and said so.
    assert StreamSession.objects.get(owner=owner).ended_at is None
    assert stats.refused == 1 and any(w.startswith("session:end refused") for w in stats.warnings)


@pytest.mark.pure
def test_the_steps_follow_the_batch_plans_rules() -> None:
    log = _log()
    plan = build_session_plan(log, source="live.json")
    live = LiveSteps(started_at=plan.started_at, session_type=plan.session_type, notes=plan.notes)
    sender = LiveSender(ImportClient(HttpTransport("http://unused", ""), MemoryLedger()), MemoryLedger(), live, source="x")
    for batch in _frames(log):
        sender.submit(batch)
    live.end(plan.ended_at)
    from importer.plan import plan_steps

    batch = plan_steps(plan)
    assert [(s.key, s.path, s.body) for s in live.steps] == [(s.key, s.path, s.body) for s in batch]
    assert not live.warnings


def _wait(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_recordings_forwarder_sends_to_its_owners_hosted_api_and_records_the_ledger(db) -> None:  # type: ignore[no-untyped-def]
    from importer.live_forward import LiveForwarder
    from importer.models import ImportLedger
    from tests.factories import DetectedEventFactory, RecordingFactory

    recording = RecordingFactory()
    start = {"map_name": "Customs", "character_type": "SCAV", "game_mode": "PVE"}
    DetectedEventFactory(recording=recording, event_type="raid_start", video_offset_seconds=5.0, data=start)
    forwarder = LiveForwarder.for_recording(recording, pause=0.01)  # the events saved so far go first
    forwarder.submit([
        DetectedEventFactory(recording=recording, event_type="kill", video_offset_seconds=9.0, data={"enemy_type": "scav"}),
        DetectedEventFactory(recording=recording, event_type="raid_end", video_offset_seconds=30.0,
                             data={"outcome": "survived", "extract_location": "ZB-1011"}),
    ])
    stats = forwarder.close(ended_at=recording.started_at + timedelta(minutes=1), timeout=30)
    assert stats.waiting == 0 and stats.refused == 0 and stats.sent == 5, stats
    session = StreamSession.objects.get(owner=recording.owner)
    assert session.started_at == recording.started_at and session.ended_at is not None
    raid = Raid.objects.get(session=session)
    assert (raid.map_name, raid.outcome, raid.kills.count()) == ("customs", "survived", 1)
    assert ImportLedger.objects.get(recording_id=recording.pk).status == "done"
