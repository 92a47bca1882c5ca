"""Is a backend usable? Reachable, its model present, one tiny request answered in the label schema (a VLM:
one small image) or in a one-field JSON schema (the text model of session reasoning: text only, no image)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np
from asgiref.sync import async_to_sync

from detection.pipeline.labels import AnswerError, answer_parse, label_schema_load, prompt_load
from labeling.backends.base import BackendConfig, BackendError, VlmBackend, VlmRequest, backend_create, text_request
from labeling.reasoning.answers import InvalidAnswer, answer_check
from labeling.windows import jpeg


@dataclass(frozen=True)
class BackendCheck:
    backend: str
    ok: bool
    message: str


TEXT_CHECK_SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"],
                     "additionalProperties": False}
TEXT_CHECK_PROMPT = 'Answer with the JSON object {"ok": true} and nothing else.'

AskChecked = Callable[[VlmBackend], Awaitable[BackendCheck]]


def backend_check(config: BackendConfig, *, profile: str = "demo") -> BackendCheck:
    """A VLM: reachable, its model present, a one-image request answered in the profile's label schema."""
    return async_to_sync(_check)(config, lambda backend: _one_image_asked(backend, profile))


def text_backend_check(config: BackendConfig) -> BackendCheck:
    """A text model: reachable, its model present, a text request (no image) answered in a one-field schema."""
    return async_to_sync(_check)(config, _text_asked)


async def _check(config: BackendConfig, asked: AskChecked) -> BackendCheck:
    backend = backend_create(config)
    where = config.base_url or "the client's default URL"
    try:
        try:
            models = await backend.models()
        except BackendError as exc:
            return BackendCheck(backend.name, False, f"unreachable at {where}: {exc}")
        if config.model not in models:
            listed = ", ".join(sorted(models)[:10]) or "none"
            return BackendCheck(backend.name, False, f"model {config.model!r} not offered at {where} (offered: {listed})")
        check = await asked(backend)
        return BackendCheck(check.backend, check.ok, f"ok at {where}: model present, {check.message}") if check.ok \
            else check
    finally:
        await backend.close()


async def _one_image_asked(backend: VlmBackend, profile: str) -> BackendCheck:
    schema = label_schema_load(profile)
    prompt = prompt_load(profile, schema.default_prompt)
    grey = jpeg(np.full((36, 64, 3), 128, dtype=np.uint8))
    request = VlmRequest(system=prompt.system, images=(grey,), schema=schema.json_schema(),
                         prompt=prompt.render(schema, frame_times=[0.0], seconds=1.0, context={}))
    try:
        answer = await backend.ask(request)
    except BackendError as exc:
        return BackendCheck(backend.name, False, f"a one-image request failed: {exc}")
    try:
        answer_parse(answer.text, schema)
    except AnswerError as exc:
        return BackendCheck(backend.name, False, f"answered outside the label schema ({exc}): {answer.text[:200]!r}")
    return BackendCheck(backend.name, True, f"a one-image request answered in the schema "
                                            f"({answer.tokens_in}+{answer.tokens_out} tokens)")


async def _text_asked(backend: VlmBackend) -> BackendCheck:
    request = text_request(system="You answer in JSON.", prompt=TEXT_CHECK_PROMPT, schema=TEXT_CHECK_SCHEMA,
                           schema_name="check")
    try:
        answer = await backend.ask(request)
    except BackendError as exc:
        return BackendCheck(backend.name, False, f"a text request failed: {exc}")
    try:
        answer_check(answer.text, TEXT_CHECK_SCHEMA)  # as session reasoning reads answers
    except InvalidAnswer as exc:
        return BackendCheck(backend.name, False, f"answered outside the JSON schema ({exc}): {answer.text[:200]!r}")
    return BackendCheck(backend.name, True, f"a text request answered in JSON "
                                            f"({answer.tokens_in}+{answer.tokens_out} tokens)")
