"""What every request to a model goes through outside the analyst: the token budget, the requests-per-minute
limiter, the backend's circuit breaker, then ONE attempt by the backend; retryable failures (429, 5xx,
timeouts, refused connections) are retried with exponential backoff and jitter, or after the server's delay.

The same policy as the window analyst's (labeling/analyst.py), for callers that are not labelling windows:
session reasoning and the detector cross-check. A guard belongs to one event loop (its limiter does).
"""
from __future__ import annotations

import pybreaker
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from labeling.analyst import BudgetSpent, Limits, Stats
from labeling.backends.base import BackendError, VlmAnswer, VlmBackend, VlmRequest


class Guard:
    def __init__(self, *, limits: Limits) -> None:
        self.limits = limits
        self.stats = Stats()
        rpm = limits.requests_per_minute
        # A bucket of one second's share, not a burst of the whole minute's (as the analyst's).
        self.limiter = AsyncLimiter(rpm / 60, 1.0) if rpm >= 60 else AsyncLimiter(1, 60 / rpm)
        self._breakers: dict[str, pybreaker.CircuitBreaker] = {}

    def breaker(self, backend: VlmBackend) -> pybreaker.CircuitBreaker:
        if backend.name not in self._breakers:
            self._breakers[backend.name] = pybreaker.CircuitBreaker(
                fail_max=self.limits.breaker_failures, reset_timeout=self.limits.breaker_reset, name=backend.name,
                throw_new_error_on_trip=False,
            )
        return self._breakers[backend.name]

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
