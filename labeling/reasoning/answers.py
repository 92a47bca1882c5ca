"""One JSON task for a model: the cache, the request through the guard, the answer checked against its
schema, one repair request when it is not, and never an exception for a bad answer or a backend down.

Invariant: `ask_json` returns an `Outcome` whatever happens (`answer` None and `error` saying why when no
valid answer came); only a valid answer is cached, so a failure is asked again by the next run.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import pybreaker
from jsonschema import Draft202012Validator

from labeling.analyst import AnswerCache
from labeling.backends.base import BackendError, VlmBackend, VlmRequest
from labeling.backends.guard import BudgetSpent, Guard
from labeling.reasoning.prompts import TaskPrompt


@dataclass
class Outcome:
    answer: dict[str, Any] | None
    backend: str
    raw: str = ""
    error: str = ""
    cached: bool = False
    requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0

    @property
    def ok(self) -> bool:
        return self.answer is not None


class InvalidAnswer(ValueError):
    pass


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


def answer_check(text: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON object in a model's answer (a Markdown fence around it is tolerated), valid in `schema`."""
    fenced = _FENCE.match(text)
    body = fenced.group(1) if fenced else text.strip()
    try:
        answer = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(f"not JSON ({exc.msg} at character {exc.pos})") from None
    problems = sorted(
        f"{'/'.join(str(p) for p in error.absolute_path) or 'answer'}: {error.message}"
        for error in Draft202012Validator(schema).iter_errors(answer)
    )
    if problems:
        raise InvalidAnswer("; ".join(problems))
    return dict(answer)


def cache_key(*, task: str, inputs: Any, prompt: TaskPrompt, backend: VlmBackend) -> str:
    """Inputs, prompt version and text, backend, model and the parameters that change an answer."""
    config = backend.config
    parts = [task, inputs, prompt.version, prompt.digest, config.type_key, config.model, config.seed,
             config.max_output_tokens, 0.0]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


async def ask_json(*, guard: Guard, backend: VlmBackend, cache: AnswerCache, key: str, prompt: TaskPrompt,
                   text: str, schema: dict[str, Any], schema_name: str,
                   images: tuple[bytes, ...] = ()) -> Outcome:
    entry = await cache.get(key)
    if entry is not None:
        return Outcome(answer=entry["label"], backend=entry["backend"], raw=entry.get("raw", ""), cached=True)
    outcome = Outcome(answer=None, backend=backend.name)
    request = VlmRequest(system=prompt.system, prompt=text, images=images, schema=schema, schema_name=schema_name)
    try:
        first = outcome.raw = await _ask(guard, backend, request, outcome)
        try:
            outcome.answer = answer_check(first, schema)
        except InvalidAnswer as problem:
            repair = VlmRequest(system=prompt.system, images=(), schema=schema, schema_name=schema_name,
                                prompt=prompt.render_repair(answer=first, problems=str(problem), schema=schema))
            second = await _ask(guard, backend, repair, outcome)
            try:
                outcome.answer = answer_check(second, schema)
            except InvalidAnswer as still:
                outcome.raw = first + "\n---repair---\n" + second
                outcome.error = f"invalid answer after one repair: {still}"
                return outcome
            outcome.raw = second
    except (BackendError, pybreaker.CircuitBreakerError, BudgetSpent) as exc:
        outcome.answer = None
        outcome.error = f"{backend.name}: {exc}"
        return outcome
    await cache.put(key, {"label": outcome.answer, "backend": backend.name, "raw": outcome.raw})
    return outcome


async def _ask(guard: Guard, backend: VlmBackend, request: VlmRequest, outcome: Outcome) -> str:
    outcome.requests += 1
    answer = await guard.ask(backend, request)
    outcome.tokens_in += answer.tokens_in
    outcome.tokens_out += answer.tokens_out
    return answer.text
