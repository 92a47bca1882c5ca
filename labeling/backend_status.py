"""Each VLM backend's last known health and circuit-breaker state, for the admin (labeling/admin_backends.py).

Health is the last `vlm_check` result (reachable, model present, one tiny request answered in the schema),
recorded by `backend_check_recorded`. A breaker lives in the analyst of one labelling run (in memory, per
backend); `BreakerStatusRecorder` copies its state (closed / open / half-open) and its count of consecutive
failures to this table whenever they change, so the admin shows what the last run saw, and when.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pybreaker
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from detection.models import Job
from labeling.backend_status_models import VlmBackendStatus
from labeling.backends.base import BackendConfig
from labeling.services.vlm_check import BackendCheck, backend_check

CHECK_TIMEOUT_SECONDS = 10.0  # an admin page waits for it: a backend that hangs must not hang the page


def backend_name(config: BackendConfig) -> str:
    """The name a backend goes by (VlmBackend.name), without building its client."""
    return f"{config.type_key}:{config.model}"


def backend_status_record_check(check: BackendCheck) -> VlmBackendStatus:
    status, _ = VlmBackendStatus.objects.update_or_create(
        backend=check.backend,
        defaults={"check_ok": check.ok, "check_message": check.message, "checked_at": timezone.now()},
    )
    return status


def backend_check_recorded(config: BackendConfig, *, timeout: float = CHECK_TIMEOUT_SECONDS) -> BackendCheck:
    """vlm_check's check of one backend (at most `timeout` a request), its result stored as the backend's health."""
    try:
        check = backend_check(replace(config, timeout=min(config.timeout, timeout)))
    except ImproperlyConfigured as exc:
        check = BackendCheck(backend_name(config), False, str(exc))
    backend_status_record_check(check)
    return check


class BreakerStatusRecorder:
    """Copies a run's breakers to VlmBackendStatus when their state or failure count changes.

    Call `record()` from the thread that owns the database connection (vlm_label's `store`, after each
    result, and once when the run ends); it writes only what changed since the last call.
    """

    def __init__(self, breakers: Mapping[str, pybreaker.CircuitBreaker], *, job: Job | None = None) -> None:
        self.breakers = breakers
        self.job = job
        self._seen: dict[str, tuple[str, int]] = {}

    def record(self) -> None:
        for name, breaker in self.breakers.items():
            now = (str(breaker.current_state), int(breaker.fail_counter))
            if self._seen.get(name) == now:
                continue
            self._seen[name] = now
            defaults: dict[str, Any] = {"breaker_state": now[0], "breaker_failures": now[1],
                                        "breaker_changed_at": timezone.now(), "breaker_job": self.job}
            VlmBackendStatus.objects.update_or_create(backend=name, defaults=defaults)
