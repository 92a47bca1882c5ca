"""What a vlm job spent, per job and per backend and model: windows, requests, tokens, failures, cache hits,
latency p50/p95 and a cost estimate.

Tokens are what the servers reported. A server that answered without reporting its usage (an OpenAI-
compatible server without `usage`, Ollama with the prompt already in its KV cache) leaves a window with
requests and no tokens: its tokens are then estimated, input as the same model's mean per request in this
job (else in any job), output as the answer's length at about four characters a token, and the account
says `tokens_estimated`. Latency is per window that made a request (frames ready → label stored); a cache
hit makes none and would only flatter the figures. Cost is an estimate from `VODSCOPE_VLM_PRICES` (USD per
million tokens in and out, per backend type), null where no price is configured: prices change and local
models cost no tokens.

A finished job's accounts are frozen in its result (`vlm_job_handle` stores `vlm_accounting`), since a later
run over the same windows takes their rows over; the job card reads them from there.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.db.models.functions import Length

from detection.models import Job
from labeling.vlm_models import WindowLabel

NO_MODEL = "(no model answered)"
CHARS_PER_TOKEN = 4


@dataclass
class Account:
    name: str
    windows: int = 0
    labelled: int = 0
    failed: int = 0
    ocr_fallback: int = 0
    requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_estimated: bool = False
    unreported_windows: int = 0
    cache_hits: int = 0
    mean_latency_ms: float = 0.0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    cost_usd: float | None = None
    latencies: list[float] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        del values["latencies"], values["name"]
        return values


@dataclass(frozen=True)
class JobAccounting:
    total: Account
    models: list[Account]
    failed_requests: int | None  # known once the job has finished (the analyst counts every attempt)
    frozen: bool                 # read from the finished job's result, not from the rows


def percentile(values: list[float], q: float) -> float | None:
    """Nearest rank: a latency some window really had."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _rows(job: Job) -> list[tuple[Any, ...]]:
    return list(
        WindowLabel.objects.filter(job=job).order_by()
        .annotate(raw_chars=Length("raw_answer"))
        .values_list("backend", "status", "source", "cached", "requests", "tokens_in", "tokens_out", "latency_ms",
                     "raw_chars")
    )


def _tokens_in_per_request(name: str, rows: list[tuple[Any, ...]]) -> float | None:
    """The model's mean reported input tokens per request: this job's, else every job's (one query)."""
    reported = [(int(r[4]), int(r[5])) for r in rows if r[5] > 0 and r[4] > 0]
    if reported:
        return sum(t for _, t in reported) / sum(n for n, _ in reported)
    totals = WindowLabel.objects.filter(backend=name, tokens_in__gt=0, requests__gt=0).aggregate(
        tokens=Sum("tokens_in"), requests=Sum("requests"))
    return float(totals["tokens"]) / float(totals["requests"]) if totals["requests"] else None


def _account(name: str, rows: list[tuple[Any, ...]]) -> Account:
    account = Account(name=name, windows=len(rows))
    unreported = []
    for backend, status, source, cached, requests, tokens_in, tokens_out, latency_ms, raw_chars in rows:
        account.labelled += status == WindowLabel.Status.LABELLED
        account.failed += status == WindowLabel.Status.FAILED
        account.ocr_fallback += source == WindowLabel.Source.OCR
        account.cache_hits += bool(cached)
        account.requests += requests
        account.tokens_in += tokens_in
        account.tokens_out += tokens_out
        if requests:
            account.latencies.append(latency_ms)
            if not tokens_in and not tokens_out and raw_chars:
                unreported.append((requests, raw_chars))
    if unreported and name != NO_MODEL:
        per_request = _tokens_in_per_request(name, rows)
        account.unreported_windows = len(unreported)
        account.tokens_estimated = True
        account.tokens_in += round(sum(n for n, _ in unreported) * (per_request or 0.0))
        account.tokens_out += sum(math.ceil(chars / CHARS_PER_TOKEN) for _, chars in unreported)
    _latency_figures(account)
    price = settings.VODSCOPE_VLM_PRICES.get(name.split(":", 1)[0])
    if price is not None:
        account.cost_usd = round((account.tokens_in * price[0] + account.tokens_out * price[1]) / 1_000_000, 6)
    return account


def _latency_figures(account: Account) -> None:
    values = account.latencies
    account.mean_latency_ms = round(sum(values) / len(values), 1) if values else 0.0
    p50, p95 = percentile(values, 0.50), percentile(values, 0.95)
    account.latency_p50_ms = None if p50 is None else round(p50, 1)
    account.latency_p95_ms = None if p95 is None else round(p95, 1)


def vlm_accounting(*, job: Job) -> dict[str, dict[str, Any]]:
    """Per backend and model (the `backend` name, e.g. "ollama:minicpm-v"): what the job's windows spent."""
    return {account.name: account.as_dict() for account in _model_accounts(_rows(job))}


def _model_accounts(rows: list[tuple[Any, ...]]) -> list[Account]:
    by_model: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        by_model[row[0] or NO_MODEL].append(row)
    return [_account(name, by_model[name]) for name in sorted(by_model)]


def vlm_job_accounting(*, job: Job) -> JobAccounting:
    """The job card's figures: live from the rows while the job runs, frozen in its result once it has finished."""
    result = job.result if isinstance(job.result, dict) else {}
    frozen = result.get("accounting")
    finished = job.status not in Job.ACTIVE_STATUSES
    use_frozen = finished and isinstance(frozen, dict) and all("latency_p50_ms" in a for a in frozen.values())
    if use_frozen and isinstance(frozen, dict):
        models = [Account(name=name, **values) for name, values in sorted(frozen.items())]
        total = _total(models, latencies=None)
    else:
        rows = _rows(job)
        models = _model_accounts(rows)
        total = _total(models, latencies=[row[7] for row in rows if row[4]])
    failed_requests = result.get("failed_requests") if finished else None
    return JobAccounting(total=total, models=models, failed_requests=failed_requests, frozen=use_frozen)


def _total(models: list[Account], *, latencies: list[float] | None) -> Account:
    total = Account(name="job")
    for account in models:
        for name in ("windows", "labelled", "failed", "ocr_fallback", "requests", "tokens_in", "tokens_out",
                     "unreported_windows", "cache_hits"):
            setattr(total, name, getattr(total, name) + getattr(account, name))
        total.tokens_estimated |= account.tokens_estimated
    costs = [a.cost_usd for a in models if a.cost_usd is not None]
    total.cost_usd = round(sum(costs), 6) if costs else None
    if latencies is not None:
        total.latencies = latencies
        _latency_figures(total)
    elif len(models) == 1:  # frozen: one model's percentiles are the job's; several cannot be combined
        only = models[0]
        total.mean_latency_ms, total.latency_p50_ms, total.latency_p95_ms = (
            only.mean_latency_ms, only.latency_p50_ms, only.latency_p95_ms)
    return total
