"""Is a backend usable? Reachable, its model present, one tiny request answered in the label schema."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from asgiref.sync import async_to_sync

from detection.pipeline.labels import AnswerError, answer_parse, label_schema_load, prompt_load
from labeling.backends.base import BackendConfig, BackendError, VlmRequest, backend_create
from labeling.windows import jpeg


@dataclass(frozen=True)
class BackendCheck:
    backend: str
    ok: bool
    message: str


def backend_check(config: BackendConfig, *, profile: str = "demo") -> BackendCheck:
    return async_to_sync(_check)(config, profile)


async def _check(config: BackendConfig, profile: str) -> BackendCheck:
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
        return BackendCheck(backend.name, True, f"ok at {where}: model present, a one-image request answered in the "
                                                f"schema ({answer.tokens_in}+{answer.tokens_out} tokens)")
    finally:
        await backend.close()
