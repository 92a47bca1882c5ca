"""The analyst's safety: every window ends labelled or failed, whatever the backends answer."""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pybreaker
import pytest

from detection.pipeline.labels import label_schema_load, prompt_load
from labeling.analyst import Analyst, Limits, MemoryCache, PreparedWindow, WindowResult
from labeling.backends.base import BackendConfig, BackendError, VlmAnswer, VlmBackend, VlmRequest
from tests.labeling.fake_vlm import GOOD_LABEL

pytestmark = pytest.mark.pure
GOOD = json.dumps(GOOD_LABEL)
FAST = Limits(concurrency=8, requests_per_minute=100_000, attempts=3, backoff_initial=0.001, backoff_max=0.01)


class Scripted(VlmBackend):
    """Answers `script(n, request)` after `delay` seconds: a text, or raises the BackendError it returns."""

    type_key = "scripted"

    def __init__(self, script: Callable[[int, VlmRequest], str | BackendError] | None = None, *, delay: float = 0.0,
                 model: str = "m") -> None:
        super().__init__(BackendConfig(type_key="scripted", model=model))
        self.script = script or (lambda n, request: GOOD)
        self.delay = delay
        self.calls: list[VlmRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def ask(self, request: VlmRequest) -> VlmAnswer:
        n = len(self.calls)
        self.calls.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        outcome = self.script(n, request)
        if isinstance(outcome, BackendError):
            raise outcome
        return VlmAnswer(text=outcome, tokens_in=100, tokens_out=10)

    async def models(self) -> list[str]:
        return [self.config.model]

    def image_tokens(self, width: int, height: int) -> int:
        return 1


def windows(count: int) -> list[PreparedWindow]:
    return [PreparedWindow(index=i, start=2.0 * i, end=2.0 * i + 2, frame_times=(2.0 * i,), images=(b"jpeg",),
                           content_hash=f"hash{i}", ocr={"health": 70, "shield": 40}) for i in range(count)]


def run(backends: list[VlmBackend], items: list[PreparedWindow], *, limits: Limits = FAST,
        cache: MemoryCache | None = None) -> tuple[Analyst, list[WindowResult]]:
    schema = label_schema_load("demo")
    analyst = Analyst(backends=backends, schema=schema, prompt=prompt_load("demo", schema.default_prompt),
                      limits=limits, cache=cache or MemoryCache())
    results: list[WindowResult] = []

    async def collect(result: WindowResult) -> None:
        results.append(result)

    asyncio.run(analyst.run(iter(items), collect))
    assert sorted(r.window.index for r in results) == [w.index for w in items], "a window lost or duplicated"
    return analyst, results


def test_never_more_in_flight_than_the_limit():
    backend = Scripted(delay=0.02)
    analyst, results = run([backend], windows(40), limits=Limits(concurrency=3, requests_per_minute=100_000))
    assert backend.max_in_flight == 3 and analyst.stats.max_in_flight == 3
    assert all(r.status == "labelled" and r.source == "vlm" for r in results)


def test_the_default_limit_is_eight():
    backend = Scripted(delay=0.02)
    run([backend], windows(40), limits=Limits(requests_per_minute=100_000))
    assert backend.max_in_flight == 8


def test_retries_honour_the_servers_delay_then_succeed():
    backend = Scripted(lambda n, r: BackendError("429", retryable=True, status=429, retry_after=0.05) if n < 2 else GOOD)
    analyst, [result] = run([backend], windows(1), limits=Limits(attempts=3, backoff_initial=5, backoff_max=1))
    assert result.status == "labelled" and len(backend.calls) == 3
    assert analyst.stats.retry_waits == [0.05, 0.05]


def test_retries_back_off_exponentially_without_a_server_delay():
    backend = Scripted(lambda n, r: BackendError("503", retryable=True, status=503) if n < 3 else GOOD)
    analyst, [result] = run([backend], windows(1), limits=Limits(attempts=4, backoff_initial=0.01, backoff_max=0.5))
    waits = analyst.stats.retry_waits
    assert result.status == "labelled" and len(waits) == 3
    assert 0.01 <= waits[0] <= 0.02 and 0.02 <= waits[1] <= 0.03 and 0.04 <= waits[2] <= 0.05  # + up to 0.01 jitter


def test_invalid_answer_gets_one_repair():
    backend = Scripted(lambda n, r: '{"health": 73, "shield": ' if n == 0 else GOOD)
    _, [result] = run([backend], windows(1))
    assert result.status == "labelled" and result.label == GOOD_LABEL and len(backend.calls) == 2
    repair = backend.calls[1]
    assert repair.images == () and "not JSON" in repair.prompt and '{"health": 73, "shield": ' in repair.prompt


def test_still_invalid_after_the_repair_is_failed_with_the_raw_answer():
    backend = Scripted(lambda n, r: json.dumps({**GOOD_LABEL, "tactic": "dancing"}))
    _, [result] = run([backend], windows(1))
    assert result.status == "failed" and result.label is None and len(backend.calls) == 2
    assert "dancing" in result.raw and "invalid answer after one repair" in result.error


def test_breaker_opens_after_repeated_failures_and_probes_half_open():
    down = True
    backend = Scripted(lambda n, r: BackendError("503", retryable=True, status=503) if down else GOOD)
    limits = Limits(concurrency=1, requests_per_minute=100_000, attempts=1, breaker_failures=3, breaker_reset=0.2)
    analyst, results = run([backend], windows(6), limits=limits)
    assert len(backend.calls) == 3 and analyst.stats.requests == 3, "an open breaker makes no request"
    assert all(r.source == "ocr" for r in results)
    assert analyst.breakers[backend.name].current_state == pybreaker.STATE_OPEN
    down = False
    time.sleep(0.25)
    more = windows(8)[6:]
    results2: list[WindowResult] = []

    async def collect(result: WindowResult) -> None:
        results2.append(result)

    asyncio.run(analyst.run(iter(more), collect))
    assert all(r.source == "vlm" for r in results2) and len(backend.calls) == 5
    assert analyst.breakers[backend.name].current_state == pybreaker.STATE_CLOSED


def test_fallback_to_the_next_backend_then_to_ocr():
    first = Scripted(lambda n, r: BackendError("down", retryable=True), model="first")
    second = Scripted(model="second")
    _, results = run([first, second], windows(3))
    assert all(r.status == "labelled" and r.backend == "scripted:second" for r in results)
    both_down = [Scripted(lambda n, r: BackendError("401", retryable=False, status=401), model=m) for m in "ab"]
    _, results = run(both_down, windows(2))
    for result in results:
        assert result.status == "labelled" and result.source == "ocr"
        assert result.label is not None and result.label["tactic"] == "unknown"
        assert (result.label["health"], result.label["shield"]) == (70, 40)
        assert "scripted:a: 401" in result.error


def test_cache_makes_a_rerun_request_nothing():
    cache = MemoryCache()
    backend = Scripted()
    run([backend], windows(5), cache=cache)
    assert len(backend.calls) == 5
    analyst, results = run([backend], windows(5), cache=cache)
    assert len(backend.calls) == 5 and analyst.stats.requests == 0
    assert all(r.cached and r.source == "cache" and r.label == GOOD_LABEL for r in results)


def test_cache_key_changes_with_the_model_and_the_prompt():
    schema = label_schema_load("demo")
    prompt = prompt_load("demo", schema.default_prompt)
    [window] = windows(1)
    keys = set()
    for model in ("a", "b"):
        analyst = Analyst(backends=[Scripted(model=model)], schema=schema, prompt=prompt, limits=FAST, cache=MemoryCache())
        keys.add(analyst.cache_key(window, analyst.backends[0]))
    edited = type(prompt)(version=prompt.version, system=prompt.system + " ", user=prompt.user, repair=prompt.repair)
    analyst = Analyst(backends=[Scripted(model="a")], schema=schema, prompt=edited, limits=FAST, cache=MemoryCache())
    keys.add(analyst.cache_key(window, analyst.backends[0]))
    assert len(keys) == 3


def test_token_budget_stops_requests_and_fails_the_rest():
    backend = Scripted()
    limits = Limits(concurrency=1, requests_per_minute=100_000, token_budget=250)
    analyst, results = run([backend], windows(5), limits=limits)
    assert len(backend.calls) == 3  # 110 tokens each: the third starts under 250
    assert [r.status for r in sorted(results, key=lambda r: r.window.index)] == ["labelled"] * 3 + ["failed"] * 2
    assert "token budget of 250 spent" in results[-1].error


def test_rate_limit_spaces_requests():
    backend = Scripted()
    started = time.monotonic()
    run([backend], windows(6), limits=Limits(requests_per_minute=120))  # 2 a second, burst of 2
    assert time.monotonic() - started >= 1.5


def test_a_vlm_value_far_from_ocr_is_flagged():
    backend = Scripted(lambda n, r: json.dumps({**GOOD_LABEL, "health": 95}))
    _, [result] = run([backend], windows(1))
    assert result.flagged  # OCR read 70


def test_thirty_percent_bad_answers_lose_nothing():
    def script(n: int, request: VlmRequest) -> str | BackendError:
        if n % 10 in (1, 4):
            return "not json at all"
        if n % 10 == 7:
            return BackendError("500", retryable=True, status=500)
        return GOOD

    _, results = run([Scripted(script)], windows(60))
    assert {r.status for r in results} <= {"labelled", "failed"}
    assert sum(r.status == "labelled" for r in results) > 30


def test_a_client_choking_on_a_response_is_that_backends_failure_not_the_jobs():
    class Choking(Scripted):
        async def ask(self, request: VlmRequest) -> VlmAnswer:
            raise ValueError("validation error for ChatCompletion")

    _, [result] = run([Choking(model="bad"), Scripted(model="good")], windows(1))
    assert result.status == "labelled" and result.backend == "scripted:good"


def test_a_decoding_failure_ends_the_run_with_its_own_error():
    from detection.pipeline.source import VideoDecodeError

    def source():  # type: ignore[no-untyped-def]
        yield from windows(2)
        raise VideoDecodeError("v.mkv: decoding failed after 4.00 s of video", video_time=4.0)

    schema = label_schema_load("demo")
    analyst = Analyst(backends=[Scripted()], schema=schema, prompt=prompt_load("demo", schema.default_prompt),
                      limits=FAST, cache=MemoryCache())

    async def ignore(result: WindowResult) -> None:
        return None

    with pytest.raises(VideoDecodeError, match="decoding failed after 4.00 s"):
        asyncio.run(analyst.run(source(), ignore))
