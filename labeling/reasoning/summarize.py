"""Summarise a recording's session with a text model: each raid from its facts, then the whole session.

Raids are summarised concurrently (at most `limits.concurrency` at a time), each request sized to the
context budget (facts trimmed when a raid is huge). The session is chunk-and-summarize: while the raid
summaries (or, a level up, the chunk summaries) do not fit one request, consecutive ones are packed into
chunks that do and each chunk is summarised; the level that fits is the session's summary. A 3-hour
session therefore fits any context window the budget names; each request is at most `context_tokens`
(estimated) including the room kept for the answer.

Deterministic: temperature 0, the backend's seed, inputs in raid order and serialised with sorted keys.
Cached: every request's answer is kept under (task, inputs, prompt version and text, model, parameters), so
a rerun over unchanged inputs makes no request. A raid whose answer stays invalid after one repair (or whose
backend is down) is stored as failed with the raw answer, and the session goes on with a line of its facts
in its place; a failed chunk stands as its parts' titles. Nothing here raises for a model's answer.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.db import transaction

from detection.models import Job, Recording
from labeling.analyst import AnswerCache
from labeling.backend_status import BreakerStatusRecorder
from labeling.backends.base import BackendConfig, VlmBackend, backend_create
from labeling.backends.guard import Guard, Limits
from labeling.reasoning.answers import Outcome, ask_json, cache_key
from labeling.reasoning.chunks import BudgetTooSmall, chunks_packed, facts_fitted, tokens_estimate
from labeling.reasoning.facts import raid_facts, raids_found
from labeling.reasoning.prompts import TaskPrompt, task_prompt_load
from labeling.summary_models import RaidSummary, SessionSummary, SummaryStatus

PROMPT_VERSION = "reasoning_v1"
PLACEHOLDERS = {"raid": frozenset({"raid", "facts", "schema"}),
                "session": frozenset({"count", "scope", "summaries", "schema"})}
SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 80},
        "summary": {"type": "string", "maxLength": 800},
        "highlights": {"type": "array", "items": {"type": "string", "maxLength": 160}, "maxItems": 5},
    },
    "required": ["title", "summary", "highlights"],
    "additionalProperties": False,
}
_SCHEMA_TEXT = json.dumps(SUMMARY_SCHEMA, sort_keys=True)


class NoRaids(ValueError):
    pass


@dataclass(frozen=True)
class ReasoningOptions:
    backend: BackendConfig
    prompt_version: str = PROMPT_VERSION
    context_tokens: int = 4096       # the smallest context window worth naming (Llama 2); Llama 3 has 8192
    answer_tokens: int = 1024        # kept free in every request for the answer (the schema's longest fits)
    limits: Limits = Limits()
    profile: str = "demo"

    def __post_init__(self) -> None:
        if self.answer_tokens < 256 or self.context_tokens < self.answer_tokens + 1024:
            raise ValueError(f"context_tokens {self.context_tokens} must leave at least 1024 tokens of input beside "
                             f"answer_tokens {self.answer_tokens} (itself at least 256)")


@dataclass
class ReasoningResult:
    raids: int = 0
    raids_summarised: int = 0
    raids_failed: int = 0
    cached: int = 0
    session: str = ""                 # ok | failed
    session_error: str = ""
    levels: list[int] = field(default_factory=list)
    requests: int = 0
    failed_requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    largest_request_tokens: int = 0  # estimated, of the prompts sent or answered from the cache
    context_tokens: int = 0
    model: str = ""
    prompt_version: str = ""
    seconds: float = 0.0


def session_summarize(*, recording: Recording, options: ReasoningOptions, cache: AnswerCache, job: Job | None = None,
                      progress: Callable[[int, int], None] | None = None) -> ReasoningResult:
    """Summarise every raid and the session; rows in RaidSummary and SessionSummary. Raises NoRaids (nothing
    to summarise), ProfileError (a bad prompt version) or BudgetTooSmall before any request is made."""
    started = time.monotonic()
    prompt = task_prompt_load(options.profile, options.prompt_version, placeholders=PLACEHOLDERS)
    raids = raids_found(recording=recording, profile=options.profile)
    if not raids:
        raise NoRaids(f"recording {recording.pk}: no raids found (no raid_start or raid_end events); run detection "
                      "first")
    backend = backend_create(replace(options.backend, max_output_tokens=options.answer_tokens))
    reasoner = _Reasoner(recording=recording, options=options, prompt=prompt, backend=backend, cache=cache, job=job,
                         progress=progress, total=len(raids) + 1)
    facts = [facts_fitted(f, fits=reasoner.raid_fits) for f in raid_facts(raids, recording=recording,
                                                                          profile=options.profile)]

    async def run() -> None:
        try:
            await reasoner.run(facts, [(raid.start, raid.end) for raid in raids])
        finally:
            await backend.close()

    async_to_sync(run)()
    BreakerStatusRecorder(reasoner.guard.breakers, job=job).record()  # the admin's backend status: as the run ended
    result = reasoner.result
    stats = reasoner.guard.stats
    result.requests, result.failed_requests = stats.requests, stats.failed_requests
    result.tokens_in, result.tokens_out = stats.tokens_in, stats.tokens_out
    result.seconds = round(time.monotonic() - started, 2)
    return result


class _Reasoner:
    def __init__(self, *, recording: Recording, options: ReasoningOptions, prompt: TaskPrompt, backend: VlmBackend,
                 cache: AnswerCache, job: Job | None, progress: Callable[[int, int], None] | None,
                 total: int) -> None:
        self.recording, self.options, self.prompt, self.backend = recording, options, prompt, backend
        self.cache, self.job, self.progress, self.total = cache, job, progress, total
        self.input_budget = options.context_tokens - options.answer_tokens
        self.guard = Guard(limits=options.limits)
        self.result = ReasoningResult(context_tokens=options.context_tokens, model=backend.name,
                                      prompt_version=prompt.version)
        self.done = 0
        self.failures: list[dict[str, Any]] = []

    # ---- sizes ----
    def _raid_text(self, facts: dict[str, Any]) -> str:
        return self.prompt.render("raid", raid=facts.get("raid"), facts=json.dumps(facts, sort_keys=True),
                                  schema=_SCHEMA_TEXT)

    def _session_text(self, items: list[dict[str, Any]], scope: str) -> str:
        summaries = "\n".join(json.dumps(item, sort_keys=True, ensure_ascii=False) for item in items)
        return self.prompt.render("session", count=len(items), scope=scope, summaries=summaries, schema=_SCHEMA_TEXT)

    def _tokens(self, text: str) -> int:
        return tokens_estimate(self.prompt.system) + tokens_estimate(text)

    def raid_fits(self, facts: dict[str, Any]) -> bool:
        return self._tokens(self._raid_text(facts)) <= self.input_budget

    def _session_fits(self, items: list[dict[str, Any]]) -> bool:
        # Sized with the longer wording of the two (the last level's), so whichever level it becomes fits.
        return self._tokens(self._session_text(items, _scope(items, whole=True))) <= self.input_budget

    # ---- the run ----
    async def run(self, facts: list[dict[str, Any]], spans: list[tuple[float, float]]) -> None:
        limit = asyncio.Semaphore(self.options.limits.concurrency)

        async def one(raid_facts: dict[str, Any], span: tuple[float, float]) -> tuple[dict[str, Any], str]:
            async with limit:
                return await self._raid(raid_facts, span)

        items = self._kept(await asyncio.gather(*(one(f, s) for f, s in zip(facts, spans))))
        inputs_hash = hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()
        await sync_to_async(self._raids_prune, thread_sensitive=True)(len(facts))
        try:
            while not self._session_fits(items):
                chunks = chunks_packed(items, fits=self._session_fits)
                self.result.levels.append(len(chunks))

                async def chunk(parts: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
                    async with limit:
                        return await self._chunk(parts)

                items = self._kept(await asyncio.gather(*(chunk(parts) for parts in chunks)))
        except BudgetTooSmall as exc:
            await self._session_store(Outcome(answer=None, backend=self.backend.name, error=str(exc)), inputs_hash)
            return
        self.result.levels.append(1)
        outcome = await self._ask("session", items, self._session_text(items, _scope(items, whole=True)))
        await self._session_store(outcome, inputs_hash)

    def _kept(self, done: list[tuple[dict[str, Any], str]]) -> list[dict[str, Any]]:
        """The items in input order; their failures recorded in that order too (not as they finished)."""
        self.failures += [{"part": item["part"], "error": error} for item, error in done if error]
        return [item for item, _ in done]

    async def _ask(self, task: str, inputs: Any, text: str) -> Outcome:
        self.result.largest_request_tokens = max(self.result.largest_request_tokens, self._tokens(text))
        key = cache_key(task=task, inputs=inputs, prompt=self.prompt, backend=self.backend)
        outcome = await ask_json(guard=self.guard, backend=self.backend, cache=self.cache, key=key,
                                 prompt=self.prompt, text=text, schema=SUMMARY_SCHEMA, schema_name=f"{task}_summary")
        self.result.cached += outcome.cached
        return outcome

    async def _raid(self, facts: dict[str, Any], span: tuple[float, float]) -> tuple[dict[str, Any], str]:
        """The raid's item for the session, and the error when its summary failed."""
        outcome = await self._ask("raid", facts, self._raid_text(facts))
        await sync_to_async(self._raid_store, thread_sensitive=True)(facts, span, outcome)
        part = f"raid {facts['raid']}"
        if outcome.answer is not None:
            self.result.raids_summarised += 1
            return {"part": part, **outcome.answer}, ""
        self.result.raids_failed += 1
        brief = {k: v for k, v in facts.items() if k not in ("kills", "tactic_runs", "raid")}
        brief["kills"] = len(facts.get("kills") or []) if isinstance(facts.get("kills"), list) \
            else facts["kills"].get("count", 0)
        return {"part": part, "title": f"Raid {facts['raid']} (not summarised)",
                "summary": json.dumps(brief, sort_keys=True)[:800], "highlights": []}, outcome.error

    async def _chunk(self, parts: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
        scope = _scope(parts, whole=False)
        outcome = await self._ask("chunk", parts, self._session_text(parts, scope))
        if outcome.answer is not None:
            return {"part": scope, **outcome.answer}, ""
        return {"part": scope, "title": scope, "summary": "; ".join(p["title"] for p in parts)[:800],
                "highlights": []}, outcome.error

    # ---- rows ----
    def _raid_store(self, facts: dict[str, Any], span: tuple[float, float], outcome: Outcome) -> None:
        RaidSummary.objects.update_or_create(
            recording=self.recording, prompt_version=self.prompt.version, model=self.backend.name,
            raid_index=int(facts["raid"]),
            defaults=dict(job=self.job, start=span[0], end=span[1], facts=facts, summary=outcome.answer,
                          status=SummaryStatus.OK if outcome.ok else SummaryStatus.FAILED,
                          inputs_hash=hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest(),
                          cached=outcome.cached, raw_answer=outcome.raw, error=outcome.error,
                          requests=outcome.requests, tokens_in=outcome.tokens_in, tokens_out=outcome.tokens_out),
        )
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)

    def _raids_prune(self, count: int) -> None:
        """A rerun after detection found fewer raids leaves no summary of a raid that is gone."""
        RaidSummary.objects.filter(recording=self.recording, prompt_version=self.prompt.version,
                                   model=self.backend.name, raid_index__gt=count).delete()

    async def _session_store(self, outcome: Outcome, inputs_hash: str) -> None:
        result = self.result
        result.raids = result.raids_summarised + result.raids_failed
        result.session = SummaryStatus.OK if outcome.ok else SummaryStatus.FAILED
        result.session_error = outcome.error

        @transaction.atomic
        def store() -> None:
            SessionSummary.objects.update_or_create(
                recording=self.recording, prompt_version=self.prompt.version, model=self.backend.name,
                defaults=dict(job=self.job, status=result.session, summary=outcome.answer, raids=result.raids,
                              levels=result.levels, failures=self.failures, context_tokens=result.context_tokens,
                              inputs_hash=inputs_hash, cached=outcome.cached, raw_answer=outcome.raw,
                              error=outcome.error, requests=self.guard.stats.requests,
                              tokens_in=self.guard.stats.tokens_in, tokens_out=self.guard.stats.tokens_out),
            )

        await sync_to_async(store, thread_sensitive=True)()
        if self.progress is not None:
            self.progress(self.total, self.total)


def _scope(items: list[dict[str, Any]], *, whole: bool) -> str:
    """"raid 3 to raid 7" over items that are raids or chunks of them; the whole session says so."""
    first, last = items[0]["part"].split(" to ")[0], items[-1]["part"].split(" to ")[-1]
    span = first if first == last else f"{first} to {last}"
    return f"the whole session, {span}" if whole else span
