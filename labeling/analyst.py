"""The sliding-window analyst: prepared windows in, one result per window out, whatever the backends do.

Invariant: every window handed to `Analyst.run` comes back exactly once through `on_result`, as
`labelled` (by a model, from the cache, or by the OCR fallback when every backend is down) or `failed`
(an answer that stayed invalid after one repair, or the token budget spent), with the raw answer kept.
An answer never raises out of here; only the window source (decoding) or the result sink can fail a run.

Safety, in the order a request meets it: the cache (a hit makes no request), the token budget, the
requests-per-minute limiter, the backend's circuit breaker, then the request itself; retryable failures
(429, 5xx, timeouts) are retried with exponential backoff and jitter, or after the server's own delay.
At most `concurrency` windows are being worked on, so never more requests than that are in flight.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import pybreaker
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from detection.pipeline.labels import AnswerError, LabelSchema, Prompt, answer_parse
from labeling.backends.base import BackendError, VlmBackend, VlmRequest


@dataclass(frozen=True)
class Limits:
    concurrency: int = 8
    requests_per_minute: float = 600.0
    token_budget: int = 0            # tokens in + out per job; 0: no budget
    attempts: int = 4                # per request, the first included
    backoff_initial: float = 1.0
    backoff_max: float = 30.0
    breaker_failures: int = 5        # consecutive failed requests that open a backend's breaker
    breaker_reset: float = 30.0      # seconds open before one half-open probe is let through

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.requests_per_minute <= 0 or self.attempts < 1 or self.token_budget < 0:
            raise ValueError(f"{self}: concurrency, requests per minute and attempts must be positive, "
                             "the token budget not negative")


@dataclass(frozen=True)
class PreparedWindow:
    index: int
    start: float
    end: float
    frame_times: tuple[float, ...]
    images: tuple[bytes, ...]        # the frames, then the HUD crop; JPEG
    content_hash: str                # of the decoded pixels, not the JPEG bytes
    ocr: dict[str, int | None]
    context: dict[str, Any] = field(default_factory=dict)
    inputs: str = ""                 # the input log's summary of the window; "" when the recording has no log


@dataclass
class WindowResult:
    window: PreparedWindow
    status: str                      # labelled | failed
    label: dict[str, Any] | None
    source: str                      # vlm | cache | ocr | none
    backend: str = ""
    raw: str = ""
    error: str = ""
    cached: bool = False
    flagged: bool = False            # a HUD value off the OCR one by more than the profile's tolerance
    tokens_in: int = 0
    tokens_out: int = 0
    requests: int = 0
    latency_ms: float = 0.0          # a worker takes the prepared window → its result is ready
    own_ms: float = 0.0              # of which not spent waiting on a backend or a limit
    waited_s: float = 0.0            # inside requests, retry waits and the rate limiter


@dataclass
class Stats:
    requests: int = 0
    failed_requests: int = 0
    cache_hits: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    retry_waits: list[float] = field(default_factory=list)


class AnswerCache(Protocol):
    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def put(self, key: str, entry: dict[str, Any]) -> None: ...


class MemoryCache:
    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    async def get(self, key: str) -> dict[str, Any] | None:
        return self.entries.get(key)

    async def put(self, key: str, entry: dict[str, Any]) -> None:
        self.entries[key] = entry


class BudgetSpent(Exception):
    pass


# Said after the prompt file's text when the recording has an input log (never otherwise: a window
# without one gets the prompt file's text unchanged). Its own version, so labels made with the
# summary are stored apart from those made without (`prompt_version_for`) and compared by vlm_compare.
INPUTS_PROMPT_VERSION = "inputs1"
INPUTS_PROMPT = ("\n\nThe player's mouse and keyboard during this clip, from an input log aligned to the video: "
                 "{summary} Use it for intent_matches: does this input fit the tactic you see?")


def prompt_version_for(version: str, *, inputs: bool) -> str:
    """The version labels are stored under: the prompt file's, marked when an input summary was added."""
    return f"{version}+{INPUTS_PROMPT_VERSION}" if inputs else version


def prompt_with_inputs(prompt: str, window: PreparedWindow) -> str:
    return prompt + INPUTS_PROMPT.format(summary=window.inputs) if window.inputs else prompt


class Analyst:
    def __init__(self, *, backends: list[VlmBackend], schema: LabelSchema, prompt: Prompt, limits: Limits,
                 cache: AnswerCache, params: dict[str, Any] | None = None) -> None:
        if not backends:
            raise ValueError("the analyst needs at least one backend")
        self.backends = backends
        self.schema = schema
        self.prompt = prompt
        self.limits = limits
        self.cache = cache
        self.params = dict(params or {})
        self.stats = Stats()
        self.limiter = self._limiter()
        self.breakers = {
            # The failure that trips a breaker is raised as itself, so a retryable one is retried (and refused).
            b.name: pybreaker.CircuitBreaker(fail_max=limits.breaker_failures, reset_timeout=limits.breaker_reset,
                                             name=b.name, throw_new_error_on_trip=False)
            for b in backends
        }

    def _limiter(self) -> AsyncLimiter:
        """Spread over the minute: a bucket of one second's share (at least one request), not a burst of the
        whole minute's, which a server counting per second would refuse."""
        rpm = self.limits.requests_per_minute
        return AsyncLimiter(rpm / 60, 1.0) if rpm >= 60 else AsyncLimiter(1, 60 / rpm)

    def cache_key(self, window: PreparedWindow, backend: VlmBackend) -> str:
        parts = [window.content_hash, self.prompt.version, self.prompt.digest, backend.type_key,
                 backend.config.model, backend.config.seed, backend.config.max_output_tokens, self.params,
                 window.context]
        if window.inputs:  # appended only when present: keys of windows without a log stay what they were
            parts += [INPUTS_PROMPT_VERSION, INPUTS_PROMPT, window.inputs]
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()

    async def run(self, windows: Iterator[PreparedWindow],
                  on_result: Callable[[WindowResult], Awaitable[None]]) -> None:
        """Label every window `windows` yields (prepared in a thread of its own, decoding beside the requests)."""
        queue: asyncio.Queue[PreparedWindow | None] = asyncio.Queue(maxsize=2 * self.limits.concurrency)
        self.limiter = self._limiter()  # a limiter belongs to one event loop

        async def produce() -> None:
            try:
                while (window := await asyncio.to_thread(next, windows, None)) is not None:
                    await queue.put(window)
            finally:
                for _ in range(self.limits.concurrency):
                    await queue.put(None)

        async def work() -> None:
            while (window := await queue.get()) is not None:
                await on_result(await self.label(window))

        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(produce())
                for _ in range(self.limits.concurrency):
                    group.create_task(work())
        except ExceptionGroup as failed:
            # The decoder's or the sink's own error (a VideoDecodeError, a DatabaseError), not a wrapper:
            # callers catch those by type and say what went wrong.
            raise failed.exceptions[0] from None

    async def label(self, window: PreparedWindow) -> WindowResult:
        started = time.monotonic()
        result = await self._label(window)
        result.latency_ms = (time.monotonic() - started) * 1000
        result.own_ms = max(0.0, result.latency_ms - result.waited_s * 1000)
        return result

    async def _label(self, window: PreparedWindow) -> WindowResult:
        waited = 0.0
        for backend in self.backends:
            entry = await self.cache.get(self.cache_key(window, backend))
            if entry is not None:
                self.stats.cache_hits += 1
                return self._labelled(window, entry["label"], source="cache", backend=entry["backend"],
                                      raw=entry.get("raw", ""), cached=True)
        request = VlmRequest(
            system=self.prompt.system,
            prompt=prompt_with_inputs(self.prompt.render(self.schema, frame_times=list(window.frame_times),
                                                         seconds=window.end - window.start, context=window.context),
                                      window),
            images=window.images,
            schema=self.schema.json_schema(),
        )
        down: list[str] = []
        tokens = [0, 0]
        requests = 0
        for backend in self.backends:
            try:
                started = time.monotonic()
                try:
                    requests += 1
                    text = await self._ask(backend, request, tokens)
                    try:
                        label = answer_parse(text, self.schema)
                    except AnswerError as problem:
                        requests += 1
                        repair = VlmRequest(system=self.prompt.system, images=(), schema=request.schema,
                                            prompt=self.prompt.render_repair(self.schema, answer=text,
                                                                             problems=str(problem)))
                        repaired = await self._ask(backend, repair, tokens)
                        try:
                            label = answer_parse(repaired, self.schema)
                        except AnswerError as still:
                            return self._failed(window, backend=backend.name, raw=text + "\n---repair---\n" + repaired,
                                                error=f"invalid answer after one repair: {still}",
                                                tokens=tokens, requests=requests, waited=waited)
                finally:
                    waited += time.monotonic() - started
            except BudgetSpent as exc:
                return self._failed(window, backend=backend.name, error=str(exc), tokens=tokens,
                                    requests=requests - 1, waited=waited)
            except (BackendError, pybreaker.CircuitBreakerError) as exc:
                down.append(f"{backend.name}: {exc}")
                continue
            await self.cache.put(self.cache_key(window, backend), {"label": label, "backend": backend.name, "raw": text})
            result = self._labelled(window, label, source="vlm", backend=backend.name, raw=text)
            result.tokens_in, result.tokens_out, result.requests, result.waited_s = *tokens, requests, waited
            return result
        fallback = self.schema.fallback(window.ocr, why="no model answered; HUD values from OCR")
        result = self._labelled(window, fallback, source="ocr", backend="", raw="")
        result.error = "; ".join(down)
        result.tokens_in, result.tokens_out, result.requests, result.waited_s = *tokens, requests, waited
        return result

    async def _ask(self, backend: VlmBackend, request: VlmRequest, tokens: list[int]) -> str:
        breaker = self.breakers[backend.name]
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.limits.attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: isinstance(exc, BackendError) and exc.retryable),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                if self.limits.token_budget and self.stats.tokens_in + self.stats.tokens_out >= self.limits.token_budget:
                    raise BudgetSpent(f"token budget of {self.limits.token_budget} spent")
                # An open breaker refuses here (CircuitBreakerError, not retried): no request, no rate slot.
                with breaker.calling():
                    async with self.limiter:
                        self.stats.requests += 1
                        self.stats.in_flight += 1
                        self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
                        try:
                            answer = await backend.ask(request)
                        except BackendError:
                            self.stats.failed_requests += 1
                            raise
                        except Exception as exc:  # a client choking on a malformed response: that backend failed
                            self.stats.failed_requests += 1
                            raise BackendError(f"{backend.name}: {type(exc).__name__}: {exc}", retryable=False) from exc
                        finally:
                            self.stats.in_flight -= 1
                tokens[0] += answer.tokens_in
                tokens[1] += answer.tokens_out
                self.stats.tokens_in += answer.tokens_in
                self.stats.tokens_out += answer.tokens_out
                return answer.text
        raise AssertionError("tenacity reraises the last failure")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, BackendError) and exc.retry_after is not None:
            delay = min(exc.retry_after, self.limits.backoff_max)
        else:
            delay = wait_exponential_jitter(initial=self.limits.backoff_initial, max=self.limits.backoff_max,
                                           jitter=self.limits.backoff_initial)(state)
        self.stats.retry_waits.append(delay)
        return delay

    def _labelled(self, window: PreparedWindow, label: dict[str, Any], *, source: str, backend: str, raw: str,
                  cached: bool = False) -> WindowResult:
        flagged = source != "ocr" and any(
            window.ocr.get(f.name) is not None and label.get(f.name) is not None
            and abs(int(label[f.name]) - int(window.ocr[f.name] or 0)) > self.schema.review_tolerance
            for f in self.schema.hud_fields
        )
        return WindowResult(window=window, status="labelled", label=label, source=source, backend=backend, raw=raw,
                            cached=cached, flagged=flagged)

    def _failed(self, window: PreparedWindow, *, backend: str, error: str, tokens: list[int], requests: int,
                waited: float, raw: str = "") -> WindowResult:
        return WindowResult(window=window, status="failed", label=None, source="none", backend=backend, raw=raw,
                            error=error, tokens_in=tokens[0], tokens_out=tokens[1], requests=requests, waited_s=waited)
