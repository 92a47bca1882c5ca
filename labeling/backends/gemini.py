"""Gemini through `google-genai` (generateContent with a JSON response schema)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
from google import genai
from google.genai import errors, types

from labeling.backends.base import (
    BackendError,
    VlmAnswer,
    VlmBackend,
    VlmRequest,
    backend_register,
    retry_after_header,
    retryable_status,
)

# Gemini bills an image with both sides ≤ 384 px as one 258-token tile; larger ones as 768-px tiles.
_SMALL_SIDE = 384
_TILE = 768
_TILE_TOKENS = 258


@backend_register
class GeminiBackend(VlmBackend):
    type_key = "gemini"

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        options = types.HttpOptions(
            base_url=config.base_url or None,
            api_version="v1beta",  # where generateContent takes response_json_schema
            timeout=int(config.timeout * 1000),
            retry_options=types.HttpRetryOptions(attempts=1),  # one attempt: ours retry
        )
        self._client = genai.Client(api_key=config.api_key or "unset", http_options=options)

    async def ask(self, request: VlmRequest) -> VlmAnswer:
        parts = [types.Part.from_text(text=request.prompt)]
        parts += [types.Part.from_bytes(data=image, mime_type="image/jpeg") for image in request.images]
        config = types.GenerateContentConfig(
            system_instruction=request.system or None,
            temperature=request.temperature,
            seed=self.config.seed,
            max_output_tokens=self.config.max_output_tokens,
            response_mime_type="application/json",
            response_json_schema=request.schema,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )
        with _translated():
            response = await self._client.aio.models.generate_content(
                model=self.config.model, contents=[types.Content(role="user", parts=parts)], config=config
            )
        usage = response.usage_metadata
        return VlmAnswer(
            text=response.text or "",
            tokens_in=int(usage.prompt_token_count or 0) if usage else 0,
            tokens_out=int(usage.candidates_token_count or 0) if usage else 0,
        )

    async def models(self) -> list[str]:
        with _translated():
            pager = await self._client.aio.models.list()
            return [str(m.name).removeprefix("models/") async for m in pager]

    def image_tokens(self, width: int, height: int) -> int:
        if width <= _SMALL_SIDE and height <= _SMALL_SIDE:
            return _TILE_TOKENS
        return _TILE_TOKENS * -(-width // _TILE) * -(-height // _TILE)

    async def close(self) -> None:
        await self._client.aio.aclose()


@contextmanager
def _translated() -> Iterator[None]:
    """The client's failures as BackendError: an API answer by its status, a transport failure retryable."""
    try:
        yield
    except errors.APIError as exc:
        raise BackendError(f"gemini: {exc.code} {exc.message}", retryable=retryable_status(exc.code),
                           status=exc.code, retry_after=_retry_delay(exc)) from exc
    except httpx2.HTTPError as exc:
        raise BackendError(f"gemini: {type(exc).__name__}: {exc}", retryable=True) from exc


def _retry_delay(exc: errors.APIError) -> float | None:
    """A 429's google.rpc.RetryInfo `retryDelay` ("7s"), else the Retry-After header."""
    details = (exc.details or {}).get("error", {}).get("details", []) if isinstance(exc.details, dict) else []
    for detail in details:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        if isinstance(delay, str) and re.fullmatch(r"\d+(\.\d+)?s", delay):
            return float(delay[:-1])
    headers = getattr(exc.response, "headers", None)
    return retry_after_header(headers.get("retry-after")) if headers is not None else None
