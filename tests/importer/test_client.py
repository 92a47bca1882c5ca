"""The import client against the hosted API over real HTTP, directly and through a fault-injecting proxy."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from rest_framework.authtoken.models import Token

from importer.client import ImportClient
from importer.summary import Counts, verify
from importer.ledger import DbLedger
from importer.models import ImportLedger, Kill, Raid, RaidStateTransition, StreamSession
from importer.plan import SessionPlan, build_session_plan, plan_steps
from importer.sample_log import synthetic_log
from importer.selectors import hosted_snapshot
from importer.transport import ApiResponse, HttpTransport, TransientError
from tests.importer.conftest import FAST, T0

# The client against a live server: nothing in it differs between the modes, so it runs once (embedded).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]


class Crash(Exception):
    """A worker dying between two calls."""


def _plans(events: int = 120) -> list[SessionPlan]:
    # Out of order on purpose: the client sorts sessions by time across recordings.
    starts = [T0 + timedelta(days=2), T0, T0 + timedelta(days=1)]
    return [
        build_session_plan(synthetic_log(started_at=start, events=events, seed=i, source=f"rec{i}.mkv"), source=f"rec{i}.json")
        for i, start in enumerate(starts)
    ]


def _client(url: str, token: str, **options: Any) -> tuple[ImportClient, list[str]]:
    lines: list[str] = []
    return ImportClient(HttpTransport(url, token), DbLedger(), policy=FAST, echo=lines.append, seed=7, **options), lines


def _rows() -> tuple[int, int, int, int]:
    return StreamSession.objects.count(), Raid.objects.count(), Kill.objects.count(), RaidStateTransition.objects.count()


@pytest.fixture
def reference(live_server, django_user_model) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """What a clean import of `_plans()` leaves, in another account of the same server."""
    user = django_user_model.objects.create_user("reference", password="x")
    client, _ = _client(live_server.url, Token.objects.create(user=user).key, mode="atomic")
    assert client.run(_plans()).verification["ok"]
    return hosted_snapshot(owner=user)


def test_atomic_import_then_a_second_run_writes_nothing(live_server, token, owner, reference) -> None:  # type: ignore[no-untyped-def]
    client, _ = _client(live_server.url, token)
    first = client.run(_plans())
    assert [s.status for s in first.sessions] == ["created"] * 3 and all(s.mode == "atomic" for s in first.sessions)
    assert [s.started_at[:10] for s in first.sessions] == ["2026-01-15", "2026-01-16", "2026-01-17"]
    assert first.verification["ok"], first.verification
    assert first.created.raids == sum(len(p.raids) for p in _plans())
    assert hosted_snapshot(owner=owner) == reference
    before = _rows()
    second, _ = _client(live_server.url, token)
    again = second.run(_plans())
    assert again.skipped == 3 and again.created == Counts() and again.verification["ok"]
    assert _rows() == before


def test_individual_calls_when_the_target_has_no_atomic_call(live_server, token, owner, reference, fault_proxy) -> None:  # type: ignore[no-untyped-def]
    proxy = fault_proxy(block_paths=("/api/import/session",))
    client, _ = _client(proxy.url, token)
    summary = client.run(_plans())
    assert [s.mode for s in summary.sessions] == ["individual"] * 3
    assert proxy.config.stats.blocked == 1  # learnt once, not asked again
    assert summary.verification["ok"], summary.verification
    assert hosted_snapshot(owner=owner) == reference
    rerun, _ = _client(proxy.url, token)
    assert rerun.run(_plans()).skipped == 3


def test_dry_run_prints_every_call_and_sends_none(live_server, token, fault_proxy) -> None:  # type: ignore[no-untyped-def]
    proxy = fault_proxy()
    client, lines = _client(proxy.url, token, dry_run=True, mode="individual")
    summary = client.run(_plans()[:1])
    assert proxy.config.stats.calls == 0 and _rows() == (0, 0, 0, 0)
    assert lines[0].startswith('POST /api/session {"session_type": "stream"')
    assert any(line.startswith("POST /api/raid/{raid}/kill {") for line in lines)
    assert lines[-1].startswith("POST /api/session/end")
    assert summary.sessions[0].status == "dry-run"
    atomic, atomic_lines = _client(proxy.url, token, dry_run=True)
    atomic.run(_plans()[:1])
    assert len(atomic_lines) == 1 and atomic_lines[0].startswith('POST /api/import/session {"session": {')


@pytest.mark.parametrize("blocked", [(), ("/api/import/session",)], ids=["atomic", "individual"])
def test_a_target_failing_a_fifth_of_calls_ends_like_a_clean_import(  # type: ignore[no-untyped-def]
    live_server, token, owner, reference, fault_proxy, blocked
) -> None:
    proxy = fault_proxy(failure_rate=0.2, seed=11, block_paths=blocked)
    client, _ = _client(proxy.url, token)
    summary = client.run(_plans())
    assert proxy.config.stats.refused > 0 and proxy.config.stats.dropped > 0
    assert summary.failed == 0 and summary.verification["ok"], summary.to_json()
    assert hosted_snapshot(owner=owner) == reference


@pytest.mark.parametrize("crash_after", [1, 9, 40])
def test_resume_after_a_crash_between_calls(live_server, token, owner, reference, fault_proxy, crash_after) -> None:  # type: ignore[no-untyped-def]
    proxy = fault_proxy(block_paths=("/api/import/session",))
    done: list[str] = []

    def die(key: str) -> None:
        done.append(key)
        if len(done) == crash_after:
            raise Crash(key)

    crashing, _ = _client(proxy.url, token, on_step=die)
    with pytest.raises(Crash):
        crashing.run(_plans())
    assert ImportLedger.objects.filter(status="in_progress").count() == 1
    resumed, _ = _client(proxy.url, token)
    summary = resumed.run(_plans())
    assert [s.status for s in summary.sessions].count("resumed") == 1
    assert hosted_snapshot(owner=owner) == reference
    assert summary.verification["ok"], summary.verification


class DiesAfterSending:
    """Sends the n-th write, then dies before the answer is recorded: the worst moment to crash."""

    def __init__(self, inner: HttpTransport, n: int) -> None:
        self.inner, self.n, self.writes = inner, n, 0
        self.target_key = inner.target_key

    def request(self, method: str, path: str, **kwargs: Any) -> ApiResponse:
        response = self.inner.request(method, path, **kwargs)
        if method == "POST":
            self.writes += 1
            if self.writes == self.n:
                raise Crash(path)
        return response


@pytest.mark.parametrize("n", [2, 3, 5, 12])
def test_resume_after_a_crash_with_the_write_done_but_unrecorded(live_server, token, owner, reference, n) -> None:  # type: ignore[no-untyped-def]
    lines: list[str] = []
    dying = ImportClient(DiesAfterSending(HttpTransport(live_server.url, token), n), DbLedger(), mode="individual",
                         policy=FAST, echo=lines.append)
    with pytest.raises(Crash):
        dying.run(_plans())
    resumed, _ = _client(live_server.url, token, mode="individual")
    summary = resumed.run(_plans())
    assert summary.failed == 0, summary.to_json()
    assert hosted_snapshot(owner=owner) == reference


class NoReadBack:
    """A target like the Rust app: no `GET /api/raid/{id}` (the client's optional read-back)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.target_key = inner, inner.target_key

    def request(self, method: str, path: str, **kwargs: Any) -> ApiResponse:
        if method == "GET" and path.startswith("/api/raid/") and path != "/api/raid/current":
            return ApiResponse(404, {"error": "not found"})
        return self.inner.request(method, path, **kwargs)


def test_lost_kill_answers_reconcile_through_stats_without_the_read_back(live_server, token, owner, fault_proxy) -> None:  # type: ignore[no-untyped-def]
    proxy = fault_proxy(failure_rate=0.25, drop_share=1.0, seed=5, block_paths=("/api/import/session",))
    plans = _plans(events=200)
    client = ImportClient(NoReadBack(HttpTransport(proxy.url, token)), DbLedger(), policy=FAST, echo=lambda _: None, seed=3)
    summary = client.run(plans)
    assert proxy.config.stats.dropped > 10
    assert Kill.objects.count() == sum(p.kill_count for p in plans)
    assert Raid.objects.count() == sum(len(p.raids) for p in plans)
    assert summary.verification["ok"], summary.verification


def test_a_refused_session_fails_with_the_targets_error_and_the_rest_go_on(live_server, token, owner) -> None:  # type: ignore[no-untyped-def]
    good, other = _plans()[:2]
    broken_raid = replace(good.raids[0], outcome="won")
    bad = replace(good, raids=(broken_raid, *good.raids[1:]))
    client, _ = _client(live_server.url, token)
    summary = client.run([bad, other])
    statuses = {s.source: (s.status, s.error) for s in summary.sessions}
    assert statuses["rec1.json"] == ("created", "")
    assert statuses["rec0.json"][0] == "failed" and "outcome: unknown value 'won'" in statuses["rec0.json"][1]
    assert StreamSession.objects.count() == 1


def test_a_session_somebody_else_imported_is_skipped(live_server, token, owner) -> None:  # type: ignore[no-untyped-def]
    plan = _plans()[0]
    StreamSession.objects.create(owner=owner, session_type="stream", started_at=plan.started_at, ended_at=plan.ended_at)
    client, _ = _client(live_server.url, token)
    summary = client.run([plan])
    assert summary.sessions[0].status == "skipped" and Raid.objects.count() == 0


def test_an_unreachable_target_is_retried_then_reported() -> None:
    class Down:
        target_key = "down"

        def request(self, *args: Any, **kwargs: Any) -> ApiResponse:
            raise TransientError("connection refused")

    sleeps: list[float] = []
    client = ImportClient(Down(), DbLedger(), policy=FAST, sleep=sleeps.append, seed=1)
    with pytest.raises(Exception, match="no answer after 10 attempts"):
        client.run(_plans()[:1])
    assert len(sleeps) == 10 and all(0 <= s <= FAST.max_delay for s in sleeps)


@pytest.mark.pure
def test_the_stats_check_reports_a_mismatch() -> None:
    before = {"sessions": 1, "raids": 3, "kills": 5, "outcomes": {"survived": 2, "killed": 1, "mia": 0}}
    after = {"sessions": 2, "raids": 5, "kills": 6, "outcomes": {"survived": 3, "killed": 2, "mia": 0}}
    assert verify(before, after, Counts(sessions=1, raids=2, kills=1, survived=1, killed=1))["ok"]
    wrong = verify(before, after, Counts(sessions=1, raids=2, kills=2, survived=1, killed=1))
    assert not wrong["ok"] and "kills: expected +2, target moved +1" in wrong["message"]


def test_resume_after_a_crash_with_the_atomic_call_written_but_unrecorded(live_server, token, owner, reference) -> None:  # type: ignore[no-untyped-def]
    dying = ImportClient(DiesAfterSending(HttpTransport(live_server.url, token), 2), DbLedger(), policy=FAST, echo=lambda _: None)
    with pytest.raises(Crash):
        dying.run(_plans())
    resumed, _ = _client(live_server.url, token)
    summary = resumed.run(_plans())
    assert [s.status for s in summary.sessions] == ["skipped", "resumed", "created"]
    assert summary.verification["ok"], summary.verification
    assert hosted_snapshot(owner=owner) == reference


@pytest.mark.parametrize("kind", ["raid", "kill", "raid_end", "session_end"])
def test_resume_at_each_kind_of_step_on_a_target_without_read_back(live_server, token, owner, reference, kind) -> None:  # type: ignore[no-untyped-def]
    first = sorted(_plans(), key=lambda p: p.started_at)[0]
    n = next(i for i, step in enumerate(plan_steps(first)) if step.kind == kind) + 1
    dying = ImportClient(NoReadBack(DiesAfterSending(HttpTransport(live_server.url, token), n)), DbLedger(),
                         mode="individual", policy=FAST, echo=lambda _: None)  # fmt: skip
    with pytest.raises(Crash):
        dying.run(_plans())
    resumed = ImportClient(NoReadBack(HttpTransport(live_server.url, token)), DbLedger(), mode="individual", policy=FAST,
                           echo=lambda _: None)  # fmt: skip
    summary = resumed.run(_plans())
    assert summary.failed == 0 and summary.verification["ok"], summary.to_json()
    assert hosted_snapshot(owner=owner) == reference
