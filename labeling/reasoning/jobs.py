"""The `summarize` job: session reasoning over a recording, from the review page, the admin or the API.

Params (all optional): `backend` (a registered type key), `model`, `base_url` (default the text model:
VODSCOPE_TEXT_BACKEND / _MODEL / _BASE_URL, see text_model.py), `prompt_version`, `context_tokens`, `concurrency`.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.conf import settings

from detection.models import Job
from labeling.backends.guard import Limits
from labeling.reasoning.summarize import PROMPT_VERSION, ReasoningOptions, session_summarize
from labeling.reasoning.text_model import text_backend_config
from labeling.services.vlm_label import DbCache
from project.jobs.runner import JobProgress

PARAMS = {"backend", "model", "base_url", "prompt_version", "context_tokens", "concurrency"}


def reasoning_options_from_params(params: dict[str, Any]) -> ReasoningOptions:
    """Raises ValueError saying which parameter is wrong."""
    unknown = sorted(set(params) - PARAMS)
    if unknown:
        raise ValueError(f"unknown summarize job parameters {unknown}; known: {sorted(PARAMS)}")
    try:
        backend = text_backend_config(str(params.get("backend") or ""), model=str(params.get("model") or ""),
                                      base_url=str(params.get("base_url") or ""))
        return ReasoningOptions(
            backend=backend,
            prompt_version=str(params.get("prompt_version") or PROMPT_VERSION),
            context_tokens=int(params.get("context_tokens", ReasoningOptions.context_tokens)),
            limits=Limits(concurrency=int(params.get("concurrency", settings.VODSCOPE_VLM_CONCURRENCY)),
                          requests_per_minute=settings.VODSCOPE_VLM_REQUESTS_PER_MINUTE),
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad summarize job parameters: {exc}") from exc


def summarize_job_handle(job: Job, progress: JobProgress) -> dict[str, Any]:
    if job.recording is None:
        raise ValueError("a summarize job summarises a recording; this one has none")
    options = reasoning_options_from_params(job.params or {})
    result = session_summarize(
        recording=job.recording, options=options, cache=DbCache(), job=job,
        progress=lambda done, total: progress.update(done, total, f"{done}/{total} summaries"),
    )
    return asdict(result)
