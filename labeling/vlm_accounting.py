"""What a vlm job spent, per backend and model: windows, requests, tokens, latency, failures, cache hits, cost.

Cost is an estimate from `VODSCOPE_VLM_PRICES` (USD per million tokens in and out, per backend type), null
where no price is configured: prices change and local models cost no tokens.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Avg, Count, Q, Sum

from detection.models import Job
from labeling.vlm_models import WindowLabel


def vlm_accounting(*, job: Job) -> dict[str, dict[str, Any]]:
    rows = (
        WindowLabel.objects.filter(job=job)
        .values("backend")
        .annotate(
            windows=Count("id"),
            requests=Sum("requests"),
            tokens_in=Sum("tokens_in"),
            tokens_out=Sum("tokens_out"),
            mean_latency_ms=Avg("latency_ms"),
            failed=Count("id", filter=Q(status=WindowLabel.Status.FAILED)),
            cache_hits=Count("id", filter=Q(cached=True)),
        )
        .order_by("backend")
    )
    accounts: dict[str, dict[str, Any]] = {}
    for row in rows:
        name = row["backend"] or "(no model answered)"
        price = settings.VODSCOPE_VLM_PRICES.get(name.split(":", 1)[0])
        tokens_in, tokens_out = int(row["tokens_in"] or 0), int(row["tokens_out"] or 0)
        accounts[name] = {
            "windows": row["windows"], "requests": int(row["requests"] or 0), "tokens_in": tokens_in,
            "tokens_out": tokens_out, "mean_latency_ms": round(float(row["mean_latency_ms"] or 0.0), 1),
            "failed": row["failed"], "cache_hits": row["cache_hits"],
            "cost_usd": None if price is None else round((tokens_in * price[0] + tokens_out * price[1]) / 1_000_000, 6),
        }
    return accounts
