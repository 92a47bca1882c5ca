"""What every request to a model goes through: the token budget, the requests-per-minute limiter, the
backend's circuit breaker, then ONE attempt by the backend; retryable failures (429, 5xx, timeouts, refused
connections) are retried with exponential backoff and jitter, or after the server's delay.

One policy for every caller: the window analyst (labeling/analyst.py), session reasoning and the detector
cross-check. A guard's limiter belongs to one event loop (`limiter_renew` before using it in another); its
breakers (one per backend name, `breakers`) and its `stats` live as long as the guard.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pybreaker
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from labeling.backends.base import BackendError, VlmAnswer, VlmBackend, VlmRequest


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


class BudgetSpent(Exception):
    pass


class Guard:
    def __init__(self, *, limits: Limits) -> None:
        self.limits = limits
        self.stats = Stats()
        self.limiter = self._limiter()
        self.breakers: dict[str, pybreaker.CircuitBreaker] = {}

    def _limiter(self) -> AsyncLimiter:
        """Spread over the minute: a bucket of one second's share (at least one request), not a burst of the
        whole minute's, which a server counting per second would refuse."""
        rpm = self.limits.requests_per_minute
        return AsyncLimiter(rpm / 60, 1.0) if rpm >= 60 else AsyncLimiter(1, 60 / rpm)

    def limiter_renew(self) -> None:
        """A fresh limiter, for a run in another event loop than the last one's."""
        self.limiter = self._limiter()

    def breaker(self, backend: VlmBackend) -> pybreaker.CircuitBreaker:
        if backend.name not in self.breakers:
            # The failure that trips a breaker is raised as itself, so a retryable one is retried (and refused).
            self.breakers[backend.name] = pybreaker.CircuitBreaker(
                fail_max=self.limits.breaker_failures, reset_timeout=self.limits.breaker_reset, name=backend.name,
                throw_new_error_on_trip=False,
            )
        return self.breakers[backend.name]

    async def ask(self, backend: VlmBackend, request: VlmRequest) -> VlmAnswer:
        """An answer, or BackendError (retries spent, or not retryable), pybreaker.CircuitBreakerError (the
        backend's breaker is open: no request made) or BudgetSpent."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.limits.attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: isinstance(exc, BackendError) and exc.retryable),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._attempt(backend, request)
        raise AssertionError("tenacity reraises the last failure")  # pragma: no cover

    async def _attempt(self, backend: VlmBackend, request: VlmRequest) -> VlmAnswer:
        stats = self.stats
        if self.limits.token_budget and stats.tokens_in + stats.tokens_out >= self.limits.token_budget:
            raise BudgetSpent(f"token budget of {self.limits.token_budget} spent")
        # An open breaker refuses here (CircuitBreakerError, not retried): no request, no rate slot.
        with self.breaker(backend).calling():
            async with self.limiter:
                stats.requests += 1
                stats.in_flight += 1
                stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
                try:
                    answer = await backend.ask(request)
                except BackendError:
                    stats.failed_requests += 1
                    raise
                except Exception as exc:  # a client choking on a malformed response: that backend failed
                    stats.failed_requests += 1
                    raise BackendError(f"{backend.name}: {type(exc).__name__}: {exc}", retryable=False) from exc
                finally:
                    stats.in_flight -= 1
        stats.tokens_in += answer.tokens_in
        stats.tokens_out += answer.tokens_out
        return answer

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, BackendError) and exc.retry_after is not None:
            delay = min(exc.retry_after, self.limits.backoff_max)
        else:
            delay = wait_exponential_jitter(initial=self.limits.backoff_initial, max=self.limits.backoff_max,
                                           jitter=self.limits.backoff_initial)(state)
        self.stats.retry_waits.append(delay)
        return float(delay)
