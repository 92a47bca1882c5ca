"""Any OpenAI-compatible server (OpenAI, vLLM, llama.cpp) through `openai` (/v1/chat/completions)."""
from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai

from labeling.backends.base import (
    BackendError,
    VlmAnswer,
    VlmBackend,
    VlmRequest,
    backend_register,
    retry_after_header,
    retryable_status,
)

# Images go as `detail: low`: a fixed 85 tokens each on OpenAI's vision models, whatever the size
# (vLLM and llama.cpp count their own; the frames are small enough for any of them).
_LOW_DETAIL_TOKENS = 85


@backend_register
class OpenAICompatBackend(VlmBackend):
    type_key = "openai"

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self._client = openai.AsyncOpenAI(
            base_url=config.base_url or None, api_key=config.api_key or "unset", timeout=config.timeout,
            max_retries=0,  # one attempt: ours retry
        )

    async def ask(self, request: VlmRequest) -> VlmAnswer:
        messages: list[Any] = [{"role": "system", "content": request.system}] if request.system else []
        messages.append({"role": "user", "content": _content(request)})
        with _translated():
            response = await self._client.chat.completions.create(
                model=self.config.model,
                messages=messages,
                temperature=request.temperature,
                seed=self.config.seed,
                max_tokens=self.config.max_output_tokens,
                response_format={"type": "json_schema", "json_schema": {"name": request.schema_name,
                                                                        "schema": request.schema, "strict": True}},
            )
        choice = response.choices[0] if response.choices else None
        usage = response.usage
        return VlmAnswer(text=(choice.message.content or "") if choice else "",
                         tokens_in=usage.prompt_tokens if usage else 0,
                         tokens_out=usage.completion_tokens if usage else 0)

    async def models(self) -> list[str]:
        with _translated():
            page = await self._client.models.list()
        return [m.id for m in page.data]

    def image_tokens(self, width: int, height: int) -> int:
        return _LOW_DETAIL_TOKENS

    async def close(self) -> None:
        await self._client.close()


def _content(request: VlmRequest) -> str | list[dict[str, Any]]:
    """A text request is a plain string (what every server takes, llama.cpp's included); images go as parts."""
    if not request.images:
        return request.prompt
    content: list[dict[str, Any]] = [{"type": "text", "text": request.prompt}]
    for image in request.images:
        url = "data:image/jpeg;base64," + base64.b64encode(image).decode()
        content.append({"type": "image_url", "image_url": {"url": url, "detail": "low"}})
    return content


@contextmanager
def _translated() -> Iterator[None]:
    """The client's failures as BackendError: an API answer by its status, a transport failure retryable."""
    try:
        yield
    except openai.APIStatusError as exc:
        raise BackendError(f"openai: {exc.status_code} {exc.message}", retryable=retryable_status(exc.status_code),
                           status=exc.status_code,
                           retry_after=retry_after_header(exc.response.headers.get("retry-after"))) from exc
    except openai.APIError as exc:  # connection refused, timeout
        raise BackendError(f"openai: {type(exc).__name__}: {exc}", retryable=True) from exc
