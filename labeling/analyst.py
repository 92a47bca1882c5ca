"""The sliding-window analyst: prepared windows in, one result per window out, whatever the backends do.

Invariant: every window handed to `Analyst.run` comes back exactly once through `on_result`, as
`labelled` (by a model, from the cache, or by the OCR fallback when every backend is down) or `failed`
(an answer that stayed invalid after one repair, or the token budget spent), with the raw answer kept.
An answer never raises out of here; only the window source (decoding) or the result sink can fail a run.

Safety, in the order a request meets it: the cache (a hit makes no request), the token budget, the
requests-per-minute limiter, the backend's circuit breaker, then the request itself; retryable failures
(429, 5xx, timeouts) are retried with exponential backoff and jitter, or after the server's own delay:
all but the cache is the analyst's `Guard` (labeling/backends/guard.py), the policy session reasoning uses too.
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

from detection.pipeline.labels import AnswerError, LabelSchema, Prompt, answer_parse
from labeling.backends.base import BackendError, VlmBackend, VlmRequest
from labeling.backends.guard import BudgetSpent, Guard, Limits, Stats

# Limits, Stats and BudgetSpent live with the guard (the policy of every model request) and are re-exported here.
__all__ = ["INPUTS_PROMPT", "INPUTS_PROMPT_VERSION", "Analyst", "AnswerCache", "BudgetSpent", "Limits", "MemoryCache",
           "PreparedWindow", "Stats", "WindowResult", "prompt_version_for", "prompt_with_inputs"]


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
        self.guard = Guard(limits=limits)  # budget, rate limit, breakers, retries: the policy of every model request
        for backend in backends:  # every breaker exists from the start, so the admin's backend status sees them
            self.guard.breaker(backend)

    @property
    def stats(self) -> Stats:
        return self.guard.stats

    @property
    def breakers(self) -> dict[str, pybreaker.CircuitBreaker]:
        return self.guard.breakers

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
        self.guard.limiter_renew()  # a limiter belongs to one event loop

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
        """The answer's text through the guard; its tokens are added to the window's `tokens` too."""
        answer = await self.guard.ask(backend, request)
        tokens[0] += answer.tokens_in
        tokens[1] += answer.tokens_out
        return answer.text

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
