"""The VLM backend interface and its registry, like Frigate's detector plugins: a backend module
declares `type_key` and registers its class; settings and the CLI name backends by that key.

Backends make ONE attempt per call. Their clients' own retries are off so that the analyst's retry
policy, rate limiter and circuit breaker (labeling/analyst.py, labeling/backends/guard.py) see every failure.
A request with no images is a text request (session reasoning): the same call, the same JSON-schema answer,
temperature 0 and the configured seed; each backend sends it in its protocol's plain-text form.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class BackendConfig:
    type_key: str
    model: str
    base_url: str = ""
    api_key: str = field(default="", repr=False)
    timeout: float = 60.0
    seed: int = 0
    max_output_tokens: int = 512


@dataclass(frozen=True)
class VlmRequest:
    system: str
    prompt: str
    images: tuple[bytes, ...]  # JPEG
    schema: dict[str, Any]
    temperature: float = 0.0
    schema_name: str = "window_label"  # OpenAI's json_schema name: letters, digits, '_' and '-'


def text_request(*, system: str, prompt: str, schema: dict[str, Any], schema_name: str) -> VlmRequest:
    """A request for a text model: no images, an answer in `schema`, temperature 0."""
    return VlmRequest(system=system, prompt=prompt, images=(), schema=schema, schema_name=schema_name)


@dataclass(frozen=True)
class VlmAnswer:
    text: str
    tokens_in: int
    tokens_out: int


class BackendError(Exception):
    """One failed attempt. `retryable`: a 429, a 5xx, a timeout or a refused connection, which the
    next attempt may not meet; `retry_after`: the seconds the server asked us to wait, if it said."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


def retryable_status(status: int | None) -> bool:
    return status is None or status == 429 or status == 408 or status >= 500


def retry_after_header(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is not sent by any VLM server we talk to)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class VlmBackend(ABC):
    type_key: ClassVar[str]

    def __init__(self, config: BackendConfig) -> None:
        self.config = config

    @property
    def name(self) -> str:
        return f"{self.type_key}:{self.config.model}"

    @abstractmethod
    async def ask(self, request: VlmRequest) -> VlmAnswer:
        """One attempt; raises BackendError on any failure to get an answer's text."""

    @abstractmethod
    async def models(self) -> list[str]:
        """The models the server offers (for `vlm_check`)."""

    @abstractmethod
    def image_tokens(self, width: int, height: int) -> int:
        """What the backend bills (or spends of its context) for one image of this size."""

    async def close(self) -> None:
        return None


BACKENDS: dict[str, type[VlmBackend]] = {}


def backend_register(cls: type[VlmBackend]) -> type[VlmBackend]:
    existing = BACKENDS.get(cls.type_key)
    if existing is not None and existing is not cls:
        raise ImproperlyConfigured(f"VLM backend {cls.type_key!r} is registered twice: {existing} and {cls}")
    BACKENDS[cls.type_key] = cls
    return cls


def backend_create(config: BackendConfig) -> VlmBackend:
    from labeling import backends  # noqa: F401  # importing the package registers the built-in backends

    try:
        cls = BACKENDS[config.type_key]
    except KeyError:
        raise ImproperlyConfigured(
            f"no VLM backend {config.type_key!r}; registered: {sorted(BACKENDS)}"
        ) from None
    if not config.model:
        raise ImproperlyConfigured(f"VLM backend {config.type_key!r}: no model named")
    return cls(config)
