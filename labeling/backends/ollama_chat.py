"""Ollama through `ollama` (/api/chat with a JSON-schema `format`): MiniCPM-V, Qwen-VL, LLaVA."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import ollama

from labeling.backends.base import BackendError, VlmAnswer, VlmBackend, VlmRequest, backend_register, retryable_status

# MiniCPM-V and Qwen-VL slice an image into 448-px tiles of about 64 tokens each (plus a thumbnail):
# an estimate, since Ollama reports only the prompt's total (prompt_eval_count).
_SLICE = 448
_SLICE_TOKENS = 64


@backend_register
class OllamaBackend(VlmBackend):
    type_key = "ollama"

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self._client = ollama.AsyncClient(host=config.base_url or None, timeout=config.timeout)

    async def ask(self, request: VlmRequest) -> VlmAnswer:
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        user: dict[str, Any] = {"role": "user", "content": request.prompt}
        if request.images:  # a text request sends none, not an empty list a text-only model might refuse
            user["images"] = list(request.images)
        messages.append(user)
        with _translated():
            response = await self._client.chat(
                model=self.config.model,
                messages=messages,
                format=request.schema,
                options={"temperature": request.temperature, "seed": self.config.seed,
                         "num_predict": self.config.max_output_tokens},
                stream=False,
            )
        return VlmAnswer(text=response.message.content or "", tokens_in=int(response.prompt_eval_count or 0),
                         tokens_out=int(response.eval_count or 0))

    async def models(self) -> list[str]:
        with _translated():
            listed = await self._client.list()
        names = [str(m.model) for m in listed.models]
        # "minicpm-v" names "minicpm-v:latest": both spellings count as present.
        return names + [n.removesuffix(":latest") for n in names if n.endswith(":latest")]

    def image_tokens(self, width: int, height: int) -> int:
        slices = -(-width // _SLICE) * -(-height // _SLICE)
        return _SLICE_TOKENS * (slices + (1 if slices > 1 else 0))


@contextmanager
def _translated() -> Iterator[None]:
    """The client's failures as BackendError: an API answer by its status, a transport failure retryable."""
    try:
        yield
    except ollama.ResponseError as exc:
        raise BackendError(f"ollama: {exc.status_code} {exc.error}", retryable=retryable_status(exc.status_code),
                           status=exc.status_code) from exc
    except (httpx.HTTPError, ConnectionError) as exc:
        raise BackendError(f"ollama: {type(exc).__name__}: {exc}", retryable=True) from exc
